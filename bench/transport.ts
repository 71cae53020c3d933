/**
 * The transport floor, part of `deno task bench`: what moving bytes through
 * Redis pub/sub costs in CPU before secshrnet does anything with them. One
 * process publishes 1 MiB messages through a local redis-server with
 * ioredis, another receives them (acknowledging every {@linkcode WINDOW} so
 * that neither outruns Redis' output buffer for subscribers), and each
 * reports its own CPU per GiB. HMAC-SHA-256 and SHA-256 (Web Crypto) are
 * timed the same way, in this process.
 *
 * A put moves n/k times the file from the client to the servers, and each
 * end MACs it (the bus MAC) and the servers hash it (the checksums of
 * server/checksums.ts): those costs times n/k are a part of the client's and
 * the servers' CPU per GiB that no change to the pipeline can remove while
 * the transport is ioredis and the bus MAC covers every byte.
 *
 * Run as `deno run -A bench/transport.ts pub|sub URL CHANNEL COUNT`, it is
 * one of those two processes and prints its result as JSON.
 *
 * @module
 */

import { Redis } from "ioredis";
import { startRedis } from "../tests/harness/redis.ts";
import { cpuMs, makePattern, MiB } from "./common.ts";
import { redisCpuSeconds } from "./timed_client.ts";

/** Messages of the measurement (1 MiB each). */
const MESSAGES = 512;
/** Messages the publisher may be ahead of the subscriber's last acknowledgement. */
const WINDOW = 16;

/** CPU-seconds per GiB of each piece of the transport. */
export interface TransportFloor {
  /** ioredis PUBLISH of 1 MiB messages, the publishing process. */
  publishPerGiB: number;
  /** ioredis receiving them (`messageBuffer`), the subscribed process. */
  receivePerGiB: number;
  /** redis-server passing them on (INFO cpu). */
  redisPerGiB: number;
  /** HMAC-SHA-256 over 1 MiB pieces (Web Crypto), awaited one by one. */
  hmacPerGiB: number;
  /** SHA-256 over 256 KiB pieces (Web Crypto), as the servers' checksums. */
  sha256PerGiB: number;
}

/** What a child process reports. */
interface ChildResult {
  cpuSeconds: number;
}

/** Measures the floor on a redis-server of its own; `progress` gets a line per step. */
export async function measureTransportFloor(
  progress: (text: string) => void,
): Promise<TransportFloor> {
  progress(`transport floor: ${MESSAGES} messages of 1 MiB through redis-server …`);
  const redis = await startRedis({});
  try {
    const channel = "bench:transport";
    const sub = child("sub", redis.url, channel);
    // The publisher starts once the subscriber is there, or its first messages reach nobody.
    for (let tries = 0;; tries++) {
      const reply = await redis.command("PUBSUB", "NUMSUB", channel) as unknown[];
      if (Number(reply[1]) === 1) break;
      if (tries > 200) throw new Error("transport floor: the subscriber did not subscribe");
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const redisBefore = redisCpuSeconds(await redis.command("INFO", "cpu"));
    const [published, received] = await Promise.all([child("pub", redis.url, channel), sub]);
    const redisSeconds = redisCpuSeconds(await redis.command("INFO", "cpu")) - redisBefore;
    const gib = MESSAGES * MiB / 2 ** 30;
    return {
      publishPerGiB: published.cpuSeconds / gib,
      receivePerGiB: received.cpuSeconds / gib,
      redisPerGiB: redisSeconds / gib,
      hmacPerGiB: await webCryptoPerGiB("hmac"),
      sha256PerGiB: await webCryptoPerGiB("sha256"),
    };
  } finally {
    await redis.stop();
  }
}

/** Runs this file as the publishing or the subscribed process; resolves to its report. */
async function child(role: "pub" | "sub", url: string, channel: string): Promise<ChildResult> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", import.meta.filename!, role, url, channel, String(MESSAGES)],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(output.stdout).trim();
  if (!output.success) {
    throw new Error(`transport ${role} failed: ${new TextDecoder().decode(output.stderr)}`);
  }
  return JSON.parse(text) as ChildResult;
}

/** CPU-seconds per GiB of HMAC-SHA-256 over 1 MiB pieces, or SHA-256 over 256 KiB pieces. */
async function webCryptoPerGiB(kind: "hmac" | "sha256"): Promise<number> {
  const piece = makePattern().subarray(0, kind === "hmac" ? MiB : MiB / 4);
  const key = await crypto.subtle.importKey(
    "raw",
    new Uint8Array(32),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const total = 256 * MiB;
  const started = cpuMs();
  for (let done = 0; done < total; done += piece.length) {
    if (kind === "hmac") await crypto.subtle.sign("HMAC", key, piece);
    else await crypto.subtle.digest("SHA-256", piece);
  }
  return (cpuMs() - started) / 1000 / (total / 2 ** 30);
}

/** The publishing process: sends `count` messages, never more than WINDOW ahead of the acks. */
async function publish(url: string, channel: string, count: number): Promise<ChildResult> {
  const message = Buffer.from(makePattern());
  const pub = new Redis(url);
  const acks = new Redis(url);
  let acked = 0;
  let wake = () => {};
  acks.on("message", (_channel: string, text: string) => {
    acked = Number(text);
    wake();
  });
  await acks.subscribe(`${channel}:ack`);
  let failure: Error | undefined;
  const wait = async () => {
    if (failure) throw failure;
    await new Promise<void>((resolve) => wake = resolve);
  };
  const started = cpuMs();
  for (let sent = 0; sent < count; sent++) {
    while (sent - acked >= WINDOW) await wait();
    pub.publish(channel, message).catch((error) => {
      failure = error;
      wake();
    });
  }
  while (acked < count) await wait();
  const cpuSeconds = (cpuMs() - started) / 1000;
  pub.disconnect();
  acks.disconnect();
  return { cpuSeconds };
}

/** The subscribed process: receives `count` messages, acknowledging every WINDOW / 2. */
async function subscribe(url: string, channel: string, count: number): Promise<ChildResult> {
  const sub = new Redis(url);
  const acks = new Redis(url);
  let received = 0;
  let started = 0;
  const done = new Promise<void>((resolve) => {
    sub.on("messageBuffer", (_channel: Buffer, message: Buffer) => {
      if (received === 0) started = cpuMs();
      if (message.length !== MiB) throw new Error(`a message of ${message.length} bytes`);
      received++;
      if (received % (WINDOW / 2) === 0 || received === count) {
        acks.publish(`${channel}:ack`, String(received)).catch(() => {}); // then the publisher hangs, and the bench times out
      }
      if (received === count) resolve();
    });
  });
  await sub.subscribe(channel);
  await done;
  // From the first message on: the one before it is not counted, so scale to all of them.
  const cpuSeconds = (cpuMs() - started) / 1000 * count / (count - 1);
  sub.disconnect();
  acks.disconnect();
  return { cpuSeconds };
}

/** The report lines: the floor, and what it implies for a put and a get at k of n. */
export function transportReport(
  floor: TransportFloor,
  stagesPerGiB: { put: number; get: number },
  k: number,
  n: number,
): string[] {
  const f = (x: number) => x.toFixed(1);
  const spread = n / k;
  const clientPut = stagesPerGiB.put + spread * (floor.publishPerGiB + floor.hmacPerGiB);
  const serversPut = spread * (floor.receivePerGiB + floor.hmacPerGiB + floor.sha256PerGiB);
  const clientGet = stagesPerGiB.get + floor.receivePerGiB + floor.hmacPerGiB;
  const serversGet = floor.publishPerGiB + floor.hmacPerGiB;
  const cores = navigator.hardwareConcurrency;
  // Redis passes n/k GiB on in a put, and at least 1 GiB in a get.
  const ceiling = (client: number, servers: number, gib: number) =>
    (cores * 1024 / (client + servers + gib * floor.redisPerGiB)).toFixed(0);
  return [
    "Transport floor (1 MiB messages through one local redis-server with ioredis; CPU-s per GiB):",
    `  publish ${f(floor.publishPerGiB)}, receive ${f(floor.receivePerGiB)}, redis-server ` +
    `${f(floor.redisPerGiB)}, HMAC-SHA-256 ${f(floor.hmacPerGiB)}, SHA-256 ${
      f(floor.sha256PerGiB)
    }`,
    `  put (moves n/k = ${spread.toFixed(2)} GiB per GiB): client ≥ stages ${
      f(stagesPerGiB.put)
    } ` +
    `+ ${spread.toFixed(2)} × (publish + HMAC) = ${f(clientPut)}; servers ≥ ` +
    `${spread.toFixed(2)} × (receive + HMAC + SHA-256) = ${f(serversPut)}, before writing to disk`,
    `  get (moves at least 1 GiB per GiB): client ≥ stages ${f(stagesPerGiB.get)} + receive + ` +
    `HMAC = ${f(clientGet)}; servers ≥ publish + HMAC = ${f(serversGet)}`,
    `  so with everything on these ${cores} cores (Redis too), and nothing else costing ` +
    `anything: put ≤ ${ceiling(clientPut, serversPut, spread)} MB/s, get ≤ ` +
    `${ceiling(clientGet, serversGet, 1)} MB/s`,
  ];
}

if (import.meta.main) {
  const [role, url, channel, count] = Deno.args;
  const run = role === "pub" ? publish : subscribe;
  console.log(JSON.stringify(await run(url, channel, Number(count))));
  Deno.exit(0);
}
