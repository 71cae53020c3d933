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
 * Each command is timed with its CPU budget (issue 13) by bench/timed_client.ts:
 * the client's, every server's, Redis' and how busy the machine was. A 1 KiB
 * put and get are timed too.
 *
 * @module
 */

import { deriveMasterKey } from "../core/keys.ts";
import { startNetwork, type TestNetwork } from "../tests/harness/network.ts";
import { bytesUnder, makePattern, MiB, sameFiles } from "./common.ts";
import { type CpuBudget, cpuBudgetTable, cpuVerdicts, verdictLines } from "./report.ts";
import {
  type CommandCpu,
  cpuText,
  peakRss,
  type RedisCpu,
  redisCpuSeconds,
  timedClient,
} from "./timed_client.ts";

/** Targets of the network issue. */
export const NETWORK_TARGETS = { mibps: 70, clientRssMiB: 176, serverRssMiB: 128, overhead: 0.01 };

/** Wall seconds of a 1 KiB put or get before issue 13 (0.25–0.3 s measured; the upper end). */
export const SMALL_FILE_SECONDS = 0.3;

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
  /** Median wall seconds of a 1 KiB put and of its get (3 each), process start included. */
  small?: { putSeconds: number; getSeconds: number };
  /** CPU use during the put. */
  putCpu: CommandCpu;
  /** CPU use during the get. */
  getCpu: CommandCpu;
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
  redisCpu?: RedisCpu,
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
  const pids = network.servers.map((s) => s.pid);
  const putArgs = ["put", "/bench/file", input, "-k", "3", "--log-n", "10"];
  const put = await timedClient(putArgs, env, pids, redisCpu);
  const afterPut = await netInput();
  progress(`  ${(sizeMiB / put.seconds).toFixed(1)} MB/s, ${cpuText(put.cpu)}`);
  const storedPerServer = await Promise.all(
    network.servers.map((s) => bytesUnder(`${s.root}/tags`)),
  );
  progress(`${label} get, ${sizeMiB} MiB …`);
  const output = `${network.dir}/output.bin`;
  const beforeGet = await netInput();
  const get = await timedClient(["get", "/bench/file", output], env, pids, redisCpu);
  const afterGet = await netInput();
  progress(`  ${(sizeMiB / get.seconds).toFixed(1)} MB/s, ${cpuText(get.cpu)}`);
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
      putCpu: put.cpu,
      getCpu: get.cpu,
    },
    putInputMiB: inputDelta(beforePut, afterPut),
    getInputMiB: inputDelta(beforeGet, afterGet),
  };
}

/** Median wall seconds of three puts and three gets of a 1 KiB file on `network`. */
async function smallFile(network: TestNetwork, progress: (text: string) => void) {
  progress("network put and get, 1 KiB, 3 times each …");
  const input = `${network.dir}/small.bin`;
  await Deno.writeFile(input, crypto.getRandomValues(new Uint8Array(1024)));
  const env = { ...network.env, SECSHRNET_PASSWORD: "benchmark password" };
  const pids = network.servers.map((s) => s.pid);
  const puts: number[] = [];
  const gets: number[] = [];
  for (let i = 0; i < 3; i++) {
    const putArgs = ["put", `/bench/small-${i}`, input, "-k", "3", "--log-n", "10"];
    puts.push((await timedClient(putArgs, env, pids, undefined)).seconds);
    const output = `${network.dir}/small-${i}.out`;
    gets.push(
      (await timedClient(["get", `/bench/small-${i}`, output], env, pids, undefined)).seconds,
    );
    if (!await sameFiles(input, output)) throw new Error("1 KiB get: the file differs");
  }
  const median = (list: number[]) => list.sort((a, b) => a - b)[1];
  progress(`  put ${median(puts).toFixed(2)} s, get ${median(gets).toFixed(2)} s`);
  return { putSeconds: median(puts), getSeconds: median(gets) };
}

/** Measures put and get of each size in `sizesMiB` on a fresh local network (and 1 KiB on the first). */
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
      const redisCpu = async () => redisCpuSeconds(await network.redis.command("INFO", "cpu"));
      const measured = await measurePutGet(
        network,
        sizeMiB,
        "network",
        progress,
        netInput,
        redisCpu,
      );
      const small = runs.length === 0 ? await smallFile(network, progress) : undefined;
      runs.push({
        ...measured.run,
        redisInputPutMiB: measured.putInputMiB.get(network.redis.port)!,
        redisInputGetMiB: measured.getInputMiB.get(network.redis.port)!,
        ...(small === undefined ? {} : { small }),
      });
    } finally {
      await network.stop();
    }
  }
  return runs;
}

/** The network results as text, with PASS/FAIL lines for the targets. */
export function networkReport(
  runs: NetworkRun[],
  kdfSeconds: number,
  budgets: CpuBudget[],
): string {
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
  const most = (f: (r: NetworkRun) => number) => Math.max(...runs.map(f));
  const largest = runs.reduce((a, b) => (b.sizeMiB > a.sizeMiB ? b : a));
  if (budgets.length > 0) {
    lines.push(
      "CPU budget per GiB of plaintext, each command (client: bash `times` of the client process,",
      "all threads; servers: all 5 together, /proc/PID/stat utime+stime before/after; redis: INFO cpu",
      "used_cpu_user+sys before/after; per share GiB = servers' CPU per GiB redis-server received;",
      "machine busy = non-idle share of all cores, /proc/stat; stages = the client's crypto and coding",
      "stages back to back on one thread, Σ 1024 / stage MB/s; client/stages = the ratio):",
      cpuBudgetTable(budgets),
    );
  }
  lines.push(
    "Network targets:",
    check(
      `put ≥ ${t.mibps} MB/s @${largest.sizeMiB} MiB`,
      largest.putMibps >= t.mibps,
      runs.map((r) => `${r.putMibps.toFixed(1)} @${r.sizeMiB} MiB`).join(", "),
    ),
    check(
      `get ≥ ${t.mibps} MB/s @${largest.sizeMiB} MiB`,
      largest.getMibps >= t.mibps,
      runs.map((r) => `${r.getMibps.toFixed(1)} @${r.sizeMiB} MiB`).join(", "),
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
    verdictLines(cpuVerdicts(budgets)),
  );
  const small = runs.find((r) => r.small !== undefined)?.small;
  if (small !== undefined) {
    const limit = SMALL_FILE_SECONDS * 1.1;
    lines.push(check(
      `1 KiB put and get each ≤ ${limit.toFixed(2)} s (10 % over ${SMALL_FILE_SECONDS} s, ` +
        "issue 13's baseline incl. process start; median of 3)",
      small.putSeconds <= limit && small.getSeconds <= limit,
      `put ${small.putSeconds.toFixed(2)} s, get ${small.getSeconds.toFixed(2)} s`,
    ));
  }
  return lines.join("\n");
}
