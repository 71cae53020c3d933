/**
 * The secshrnet benchmark (`deno task bench`). In one run it measures:
 *
 * 1. single-stage limits (ChaCha20-Poly1305, AES-256-GCM, Reed-Solomon
 *    encode/decode, SHA-256, HMAC-SHA-256) over segment-sized pieces;
 * 2. seal and open end to end with k=3, n=5 on a generated stream, each phase
 *    in a subprocess of its own (bench/worker.ts) whose peak RSS is reported;
 * 3. the same at 1 GiB, to show memory stays flat;
 * 4. end-to-end throughput over the slowest stage.
 *
 * It prints a table on stdout (progress on stderr) and writes the numbers to
 * bench/results.json. MB/s means MiB/s (2^20 bytes per second) throughout.
 *
 * 5. put and get through the CLI across 5 local servers and one redis-server
 *    (bench/network.ts), with client and server peak RSS and the bytes the
 *    redis-server received; then repair (bench/repair.ts);
 * 6. put and get of the largest size over a fresh 3-master Redis Cluster
 *    (bench/cluster.ts), with the bytes each master received, beside 5.
 *
 * Flags: `--quick` (32 MiB, no 1 GiB), `--sizes 256,1024` (MiB),
 * `--no-big` (256 MiB only), `--segment 256K` (default: the library's
 * default for k=3, n=5), `--stage-mib 256`, `--out bench/results.json`,
 * `--no-network` (skips 5 and 6), `--no-cluster` (skips 6),
 * `--network-only` (skips 1 to 4 and repair: put/get only).
 *
 * @module
 */

import { parseArgs } from "node:util";
import { defaultSegmentSize } from "../mod.ts";
import { KiB, makePattern, MiB, sharePath, type WorkerArgs, type WorkerResult } from "./common.ts";
import {
  type EndToEnd,
  endToEndTable,
  fixed,
  flatnessTable,
  mib,
  type Phase,
  PHASE_LABEL,
  phaseModel,
  ratioTable,
  size,
  slowestStage,
  stageTable,
  type Verdict,
  verdictLines,
} from "./report.ts";
import { measureStages, type StageResult } from "./stages.ts";
import { repairReport, runRepairBench } from "./repair.ts";
import { kdfSecondsAtDefault, networkReport, runNetworkBench } from "./network.ts";
import { clusterReport, runClusterBench } from "./cluster.ts";

const K = 3;
const N = 5;
const LOG_N = 10;
const DEGRADED = [2, 4, 5];
const SYSTEMATIC = [1, 2, 3];
const TARGET_MIBPS = 70;
const TARGET_RSS_MIB = 128;
const FLAT_PERCENT = 10;
const FLAT_SLACK_MIB = 4;

/** Parsed command line. */
interface Config {
  readonly quick: boolean;
  readonly sizes: number[];
  readonly segment: number;
  readonly stageBytes: number;
  readonly out: string;
  readonly network: boolean;
  readonly cluster: boolean;
  readonly networkOnly: boolean;
}

/** Parses "262144", "256K", "256KiB", "1M" into bytes. */
function parseBytes(text: string): number {
  const match = text.trim().match(/^(\d+)\s*(k|kib|m|mib)?$/i);
  if (!match) throw new Error(`cannot read a byte size from "${text}"`);
  const unit = (match[2] ?? "").toLowerCase();
  return Number(match[1]) * (unit.startsWith("k") ? KiB : unit.startsWith("m") ? MiB : 1);
}

function parseConfig(argv: string[]): Config {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: "boolean", default: false },
      big: { type: "boolean", default: true },
      sizes: { type: "string" },
      segment: { type: "string" },
      "stage-mib": { type: "string" },
      out: { type: "string" },
      network: { type: "boolean", default: true },
      cluster: { type: "boolean", default: true },
      "network-only": { type: "boolean", default: false },
    },
    allowNegative: true,
    strict: true,
  });
  const quick = values.quick;
  const sizes = values.sizes !== undefined
    ? values.sizes.split(",").map((s) => Number(s.trim()))
    : quick
    ? [32]
    : values.big
    ? [256, 1024]
    : [256];
  if (sizes.some((s) => !Number.isInteger(s) || s < 1)) throw new Error("--sizes: whole MiB ≥ 1");
  const segment = values.segment !== undefined
    ? parseBytes(values.segment)
    : defaultSegmentSize(K, N);
  const log2 = Math.log2(segment);
  if (!Number.isInteger(log2) || log2 < 16 || log2 > 20) {
    throw new Error("--segment must be a power of two from 64K to 1M");
  }
  const stageMiB = Number(values["stage-mib"] ?? (quick ? 32 : 256));
  if (!(stageMiB > 0)) throw new Error("--stage-mib must be positive");
  const out = values.out ?? new URL("./results.json", import.meta.url).pathname;
  const networkOnly = values["network-only"];
  if (networkOnly && !values.network) {
    throw new Error("--network-only and --no-network exclude each other");
  }
  return {
    quick,
    sizes,
    segment,
    stageBytes: stageMiB * MiB,
    out,
    network: values.network,
    cluster: values.network && values.cluster,
    networkOnly,
  };
}

const root = new URL("..", import.meta.url).pathname;
let child: Deno.ChildProcess | undefined;

/** Runs one phase in a fresh `deno` process and returns what it printed. */
async function runWorker(args: WorkerArgs): Promise<WorkerResult> {
  const command = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-all",
      "--v8-flags=--expose-gc,--max-semi-space-size=2",
      "--quiet",
      `--config=${root}deno.json`,
      `${root}bench/worker.ts`,
      JSON.stringify(args),
    ],
    cwd: root,
    stdout: "piped",
    stderr: "piped",
  });
  child = command.spawn();
  const output = await child.output();
  child = undefined;
  const stdout = new TextDecoder().decode(output.stdout).trim();
  if (!output.success) {
    const stderr = new TextDecoder().decode(output.stderr).trim();
    throw new Error(`worker ${args.mode} exited with ${output.code}:\n${stderr}\n${stdout}`);
  }
  return JSON.parse(stdout.split("\n").pop()!) as WorkerResult;
}

function progress(text: string): void {
  Deno.stderr.writeSync(new TextEncoder().encode(`bench: ${text}\n`));
}

async function runEndToEnd(config: Config, dir: string): Promise<EndToEnd[]> {
  await Deno.writeFile(`${dir}/pattern.bin`, makePattern());
  const runs: EndToEnd[] = [];
  for (const sizeMiB of config.sizes) {
    const base = { size: sizeMiB * MiB, segment: config.segment, dir, k: K, n: N, logN: LOG_N };
    const phases: [Phase, WorkerArgs][] = [
      ["seal-discard", { ...base, mode: "seal-discard" }],
      ["seal-files", { ...base, mode: "seal-files" }],
      ["open-degraded", { ...base, mode: "open", indices: DEGRADED }],
      ["open-systematic", { ...base, mode: "open", indices: SYSTEMATIC }],
    ];
    try {
      for (const [phase, args] of phases) {
        progress(`${PHASE_LABEL[phase]}, ${size(args.size)} …`);
        const result = await runWorker(args);
        progress(`  ${fixed(result.mibps)} MB/s, peak RSS ${mib(result.peakRssKiB)}`);
        runs.push({ sizeMiB, phase, result });
      }
    } finally {
      for (let i = 1; i <= N; i++) await Deno.remove(sharePath(dir, i)).catch(() => {});
    }
  }
  return runs;
}

function verdicts(config: Config, runs: EndToEnd[]): Verdict[] {
  const list: Verdict[] = [];
  const speed = (phases: Phase[], name: string) => {
    const chosen = runs.filter((r) => phases.includes(r.phase));
    const worst = Math.min(...chosen.map((r) => r.result.mibps));
    list.push({
      name: `${name} ≥ ${TARGET_MIBPS} MB/s`,
      measured: chosen.map((r) => `${fixed(r.result.mibps)} @${size(r.sizeMiB * MiB)}`).join(", "),
      pass: worst >= TARGET_MIBPS,
    });
  };
  speed(["seal-discard"], "seal (shares discarded)");
  speed(["open-degraded"], "open from 2,4,5");
  speed(["open-systematic"], "open from 1,2,3");
  const worstRss = runs.reduce((a, b) => (b.result.peakRssKiB > a.result.peakRssKiB ? b : a));
  list.push({
    name: `peak RSS ≤ ${TARGET_RSS_MIB} MiB, every phase and size`,
    measured: `highest ${mib(worstRss.result.peakRssKiB)} (${PHASE_LABEL[worstRss.phase]}, ${
      size(worstRss.sizeMiB * MiB)
    })`,
    pass: worstRss.result.peakRssKiB <= TARGET_RSS_MIB * KiB,
  });
  if (config.sizes.length > 1) {
    const first = config.sizes[0];
    const last = config.sizes[config.sizes.length - 1];
    const deltas = [...new Set(runs.map((r) => r.phase))].map((phase) => {
      const at = (s: number) => runs.find((r) => r.phase === phase && r.sizeMiB === s)!;
      const a = at(first).result.peakRssKiB;
      const b = at(last).result.peakRssKiB;
      return { phase, a, b, ok: b - a <= Math.max(a * FLAT_PERCENT / 100, FLAT_SLACK_MIB * KiB) };
    });
    list.push({
      name:
        `flat: peak RSS @${size(last * MiB)} within ${FLAT_PERCENT}% or ${FLAT_SLACK_MIB} MiB ` +
        `of @${size(first * MiB)}`,
      measured: deltas.map((d) => `${d.phase} ${mib(d.a)} → ${mib(d.b)}`).join("; "),
      pass: deltas.every((d) => d.ok),
    });
  }
  return list;
}

/** The report of parts 1 to 4 (what runs on this machine alone), as lines. */
function localReport(
  config: Config,
  stages: StageResult[],
  runs: EndToEnd[],
  checks: Verdict[],
): string[] {
  return [
    `Single-stage limits (${size(config.stageBytes)} per stage, ${size(config.segment)} pieces):`,
    stageTable(stages),
    "",
    "End to end (each row a separate process; MB/s of plaintext over the streaming time, KDF apart;",
    "CPU % = process CPU time / streaming time; /slowest = MB/s ÷ slowest stage of the phase;",
    "/model = MB/s ÷ its stages run back to back on one thread):",
    endToEndTable(runs, stages, K, N),
    "",
    "Peak RSS (VmHWM at the end of each process) and median RSS (VmRSS every 50 ms while streaming):",
    flatnessTable(runs, config.sizes),
    "",
    "End to end / slowest single stage:",
    ratioTable(runs, stages, K, N),
    "",
    "Targets:",
    verdictLines(checks),
    "",
  ];
}

async function main(): Promise<void> {
  const wallStart = performance.now();
  const config = parseConfig(Deno.args);
  const dir = await Deno.makeTempDir({ prefix: "secshrnet-bench-" });
  const cleanUp = () => {
    try {
      child?.kill("SIGTERM");
    } catch { /* already gone */ }
    try {
      Deno.removeSync(dir, { recursive: true });
    } catch { /* already gone */ }
  };
  const onSignal = () => {
    cleanUp();
    Deno.exit(130);
  };
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  try {
    const cpu = Deno.readTextFileSync("/proc/cpuinfo").match(/model name\s*:\s*(.*)/)?.[1];
    const machine = `Deno ${Deno.version.deno} (V8 ${Deno.version.v8}), ` +
      `${navigator.hardwareConcurrency} CPUs${cpu ? `, ${cpu}` : ""}`;
    if (!config.networkOnly) progress(`single stages, ${size(config.stageBytes)} each …`);
    const stages = config.networkOnly ? [] : await measureStages({
      totalBytes: config.stageBytes,
      pieceSize: config.segment,
      k: K,
      n: N,
      onStart: (label) => progress(`  ${label}`),
    });
    const runs = config.networkOnly ? [] : await runEndToEnd(config, dir);
    const checks = config.networkOnly ? [] : verdicts(config, runs);
    const kdfSeconds = config.network ? await kdfSecondsAtDefault() : 0;
    const networkRuns = config.network ? await runNetworkBench(config.sizes, progress) : [];
    const repairRun = config.network && !config.networkOnly
      ? await runRepairBench(config.quick ? 32 : 256, progress)
      : undefined;
    const clusterSize = Math.max(...config.sizes);
    const clusterRun = config.cluster ? await runClusterBench(clusterSize, progress) : undefined;
    const wallSeconds = (performance.now() - wallStart) / 1000;

    const text = [
      `secshrnet benchmark — ${machine}`,
      `MB/s means MiB/s (2^20 bytes per second). Segment ${size(config.segment)}` +
      `${config.segment === defaultSegmentSize(K, N) ? " (the library default)" : ""}, ` +
      `k=${K} n=${N}, scrypt logN=${LOG_N}${config.quick ? ", quick run" : ""}.`,
      "",
      ...(config.networkOnly ? [] : localReport(config, stages, runs, checks)),
      ...(config.network ? [networkReport(networkRuns, kdfSeconds), ""] : []),
      ...(clusterRun
        ? [clusterReport(clusterRun, networkRuns.find((r) => r.sizeMiB === clusterSize)), ""]
        : []),
      ...(repairRun ? [repairReport(repairRun), ""] : []),
      `Wall time of the whole bench run: ${fixed(wallSeconds)} s`,
    ].join("\n");
    console.log(text);

    const json = {
      units: { throughput: "MiB/s (2^20 bytes per second)", rss: "KiB", time: "ms unless named" },
      machine: {
        deno: Deno.version.deno,
        v8: Deno.version.v8,
        cpus: navigator.hardwareConcurrency,
        cpu: cpu ?? null,
      },
      config: {
        quick: config.quick,
        networkOnly: config.networkOnly,
        sizesMiB: config.sizes,
        segmentBytes: config.segment,
        stageBytes: config.stageBytes,
        k: K,
        n: N,
        logN: LOG_N,
      },
      stages,
      endToEnd: runs.map((r) => ({
        ...r,
        slowestStage: slowestStage(stages, r.phase, K, N).id,
        ratioToSlowestStage: r.result.mibps / slowestStage(stages, r.phase, K, N).mibps,
        serialModelMibps: phaseModel(stages, r.phase, K, N),
      })),
      targets: checks,
      network: config.network ? { kdfSecondsAtLogN20: kdfSeconds, runs: networkRuns } : null,
      cluster: clusterRun ?? null,
      repair: repairRun ?? null,
      wallSeconds,
      date: new Date().toISOString(),
    };
    await Deno.writeTextFile(config.out, JSON.stringify(json, null, 2) + "\n");
    progress(`wrote ${config.out}`);
  } finally {
    cleanUp();
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
  }
}

if (import.meta.main) {
  await main();
}
