/**
 * The network part of `deno task bench`: put and get across 5 local servers
 * (k = 3) through one local redis-server, all on this machine, using the real
 * CLI. For each size it starts a fresh network, times `secshrnet put` and
 * `secshrnet get` (scrypt logN = 10, so the KDF is negligible; a logN = 20
 * derivation is timed apart), samples the peak RSS (VmHWM) of the client and
 * of every server, checks the file comes back byte for byte, sums what
 * each server stores, and reads what the redis-server received during each
 * command (INFO stats total_net_input_bytes). bench/cluster.ts reuses the
 * put/get measurement over a Redis Cluster.
 *
 * @module
 */

import { deriveMasterKey } from "../core/keys.ts";
import { secshrnetArgs, startNetwork, type TestNetwork } from "../tests/harness/network.ts";
import { makePattern, MiB } from "./common.ts";

/** Targets of the network issue. */
export const NETWORK_TARGETS = { mibps: 40, clientRssMiB: 160, serverRssMiB: 128, overhead: 0.01 };

/** One size's measurements. */
export interface NetworkRun {
  sizeMiB: number;
  putSeconds: number;
  getSeconds: number;
  putMibps: number;
  getMibps: number;
  clientPeakPutMiB: number;
  clientPeakGetMiB: number;
  serverPeakMiB: number[];
  storedPerServer: number[];
  storedRatio: number;
  identical: boolean;
  /** MiB the redis-server received during the put (INFO stats total_net_input_bytes). */
  redisInputPutMiB: number;
  /** MiB the redis-server received during the get. */
  redisInputGetMiB: number;
}

/** Peak RSS (VmHWM) of process `pid` in MiB, or 0 when it is gone. */
function peakRss(pid: number): number {
  try {
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    return Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
  } catch {
    return 0;
  }
}

/** Runs a client command, sampling its VmHWM every 20 ms; returns seconds and peak MiB. */
async function timedClient(args: string[], env: Record<string, string>) {
  const started = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: [...secshrnetArgs(), ...args],
    env,
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let peak = 0;
  const sampler = setInterval(() => peak = Math.max(peak, peakRss(child.pid)), 20);
  const output = await child.output();
  clearInterval(sampler);
  const seconds = (performance.now() - started) / 1000;
  if (!output.success) {
    throw new Error(`secshrnet ${args[0]} failed: ${new TextDecoder().decode(output.stderr)}`);
  }
  return { seconds, peak };
}

async function bytesUnder(dir: string): Promise<number> {
  let total = 0;
  for await (const entry of Deno.readDir(dir)) {
    const path = `${dir}/${entry.name}`;
    total += entry.isDirectory ? await bytesUnder(path) : (await Deno.stat(path)).size;
  }
  return total;
}

async function sameFiles(a: string, b: string): Promise<boolean> {
  const [fa, fb] = [await Deno.open(a), await Deno.open(b)];
  try {
    const [ba, bb] = [new Uint8Array(MiB), new Uint8Array(MiB)];
    while (true) {
      const [ra, rb] = [await readFull(fa, ba), await readFull(fb, bb)];
      if (ra !== rb) return false;
      if (ra === 0) return true;
      for (let i = 0; i < ra; i++) if (ba[i] !== bb[i]) return false;
    }
  } finally {
    fa.close();
    fb.close();
  }
}

async function readFull(file: Deno.FsFile, buffer: Uint8Array): Promise<number> {
  let filled = 0;
  while (filled < buffer.length) {
    const read = await file.read(buffer.subarray(filled));
    if (read === null) break;
    filled += read;
  }
  return filled;
}

/** Seconds of one scrypt derivation at logN = 20 (the default cost), measured here. */
export async function kdfSecondsAtDefault(): Promise<number> {
  const started = performance.now();
  await deriveMasterKey("benchmark", { logN: 20, r: 8, p: 1, salt: new Uint8Array(32) });
  return (performance.now() - started) / 1000;
}

/** INFO stats total_net_input_bytes of each Redis node, by port. */
export type NetInput = () => Promise<Map<number, number>>;

/** What one put and get on a running network measured. */
export interface PutGet {
  /** The size's measurements. */
  run: Omit<NetworkRun, "redisInputPutMiB" | "redisInputGetMiB">;
  /** MiB each Redis node received during the put, by port. */
  putInputMiB: Map<number, number>;
  /** MiB each Redis node received during the get, by port. */
  getInputMiB: Map<number, number>;
}

/** total_net_input_bytes from one INFO stats reply. */
function inputBytes(info: unknown): number {
  const value = /^total_net_input_bytes:(\d+)/m.exec(String(info))?.[1];
  if (value === undefined) throw new Error("no total_net_input_bytes in INFO stats");
  return Number(value);
}

/** MiB each node received between `before` and `after`. */
function inputDelta(before: Map<number, number>, after: Map<number, number>) {
  return new Map(
    [...after].map(([port, bytes]) => [port, (bytes - (before.get(port) ?? 0)) / MiB]),
  );
}

/**
 * Writes a `sizeMiB` file, times `put` and `get` of it through the CLI on
 * `network`, checks it comes back byte for byte, and reads `netInput` before
 * and after each command.
 */
export async function measurePutGet(
  network: TestNetwork,
  sizeMiB: number,
  label: string,
  progress: (text: string) => void,
  netInput: NetInput,
): Promise<PutGet> {
  const input = `${network.dir}/input.bin`;
  const pattern = makePattern();
  const file = await Deno.open(input, { write: true, create: true });
  for (let i = 0; i < sizeMiB; i++) {
    pattern[i % pattern.length] ^= i & 255; // every MiB differs
    await file.write(pattern);
  }
  file.close();
  const env = { ...network.env, SECSHRNET_PASSWORD: "benchmark password" };
  progress(`${label} put, ${sizeMiB} MiB …`);
  const beforePut = await netInput();
  const put = await timedClient(["put", "/bench/file", input, "-k", "3", "--log-n", "10"], env);
  const afterPut = await netInput();
  progress(`  ${(sizeMiB / put.seconds).toFixed(1)} MB/s`);
  const storedPerServer = await Promise.all(
    network.servers.map((s) => bytesUnder(`${s.root}/tags`)),
  );
  progress(`${label} get, ${sizeMiB} MiB …`);
  const output = `${network.dir}/output.bin`;
  const beforeGet = await netInput();
  const get = await timedClient(["get", "/bench/file", output], env);
  const afterGet = await netInput();
  progress(`  ${(sizeMiB / get.seconds).toFixed(1)} MB/s`);
  const identical = await sameFiles(input, output);
  const serverPeakMiB = network.servers.map((s) => peakRss(s.pid));
  const stored = storedPerServer.reduce((a, b) => a + b, 0);
  return {
    run: {
      sizeMiB,
      putSeconds: put.seconds,
      getSeconds: get.seconds,
      putMibps: sizeMiB / put.seconds,
      getMibps: sizeMiB / get.seconds,
      clientPeakPutMiB: put.peak,
      clientPeakGetMiB: get.peak,
      serverPeakMiB,
      storedPerServer,
      storedRatio: stored / (sizeMiB * MiB),
      identical,
    },
    putInputMiB: inputDelta(beforePut, afterPut),
    getInputMiB: inputDelta(beforeGet, afterGet),
  };
}

/** Measures put and get of each size in `sizesMiB` on a fresh local network. */
export async function runNetworkBench(
  sizesMiB: number[],
  progress: (text: string) => void,
): Promise<NetworkRun[]> {
  const runs: NetworkRun[] = [];
  for (const sizeMiB of sizesMiB) {
    const network = await startNetwork(5);
    try {
      const netInput = async () =>
        new Map([[network.redis.port, inputBytes(await network.redis.command("INFO", "stats"))]]);
      const measured = await measurePutGet(network, sizeMiB, "network", progress, netInput);
      runs.push({
        ...measured.run,
        redisInputPutMiB: measured.putInputMiB.get(network.redis.port)!,
        redisInputGetMiB: measured.getInputMiB.get(network.redis.port)!,
      });
    } finally {
      await network.stop();
    }
  }
  return runs;
}

/** The network results as text, with PASS/FAIL lines for the targets. */
export function networkReport(runs: NetworkRun[], kdfSeconds: number): string {
  const t = NETWORK_TARGETS;
  const lines = [
    "Network: put and get through the CLI, 5 local servers, k=3, one local redis-server, all on this machine",
    `(wall time of each command incl. process start; scrypt logN=10 ≈ 0; one logN=20 derivation takes ${
      kdfSeconds.toFixed(1)
    } s here):`,
    "  size      put MB/s  get MB/s  client peak put/get  server peak (max)  stored/server  stored/size  identical  redis in put/get",
  ];
  for (const r of runs) {
    lines.push(
      `  ${String(r.sizeMiB).padStart(5)} MiB ${r.putMibps.toFixed(1).padStart(9)} ${
        r.getMibps.toFixed(1).padStart(9)
      }` +
        `  ${r.clientPeakPutMiB.toFixed(0).padStart(8)} / ${
          r.clientPeakGetMiB.toFixed(0).padEnd(4)
        } MiB` +
        `  ${Math.max(...r.serverPeakMiB).toFixed(0).padStart(10)} MiB` +
        `  ${(r.storedPerServer[0] / MiB).toFixed(1).padStart(9)} MiB  ${
          r.storedRatio.toFixed(4).padStart(10)
        }  ${String(r.identical).padEnd(9)}  ${r.redisInputPutMiB.toFixed(0)} / ${
          r.redisInputGetMiB.toFixed(0)
        } MiB`,
    );
  }
  const check = (name: string, pass: boolean, measured: string) =>
    `  [${pass ? "PASS" : "FAIL"}] ${name}: ${measured}`;
  const worst = (f: (r: NetworkRun) => number) => Math.min(...runs.map(f));
  const most = (f: (r: NetworkRun) => number) => Math.max(...runs.map(f));
  lines.push(
    "Network targets:",
    check(
      `put ≥ ${t.mibps} MB/s`,
      worst((r) => r.putMibps) >= t.mibps,
      runs.map((r) => r.putMibps.toFixed(1)).join(", "),
    ),
    check(
      `get ≥ ${t.mibps} MB/s`,
      worst((r) => r.getMibps) >= t.mibps,
      runs.map((r) => r.getMibps.toFixed(1)).join(", "),
    ),
    check(
      `client peak RSS ≤ ${t.clientRssMiB} MiB`,
      most((r) => Math.max(r.clientPeakPutMiB, r.clientPeakGetMiB)) <= t.clientRssMiB,
      `${most((r) => Math.max(r.clientPeakPutMiB, r.clientPeakGetMiB)).toFixed(0)} MiB`,
    ),
    check(
      `each server peak RSS ≤ ${t.serverRssMiB} MiB`,
      most((r) => Math.max(...r.serverPeakMiB)) <= t.serverRssMiB,
      `${most((r) => Math.max(...r.serverPeakMiB)).toFixed(0)} MiB`,
    ),
    check(
      "bytes stored ≤ n/k × size + 1 %",
      most((r) => r.storedRatio) <= (5 / 3) * (1 + t.overhead),
      `${most((r) => r.storedRatio).toFixed(4)} (n/k = 1.6667)`,
    ),
    check(
      "file retrieved byte for byte",
      runs.every((r) => r.identical),
      String(runs.every((r) => r.identical)),
    ),
  );
  return lines.join("\n");
}
