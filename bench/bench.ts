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
 *    (bench/cluster.ts), with the bytes each master received, beside 5;
 * 7. the transport floor (bench/transport.ts): the CPU per GiB of ioredis
 *    publishing and receiving, HMAC-SHA-256 and SHA-256, and the least CPU a
 *    put and a get can cost with them.
 *
 * Part 2 runs seal and open with the default pool of segment workers (one
 * per core) and again with 0 (the calling thread), 1, 2 and nproc workers,
 * with the speedup of the default pool over one worker; part 5 adds the CPU
 * budget of put and get per process (bench/network.ts). Besides
 * results.json it draws bench/results.svg (bench/svg.ts): stage limits beside
 * end-to-end and network throughput, and the CPU budget per process.
 *
 * Flags: `--quick` (32 MiB, no 1 GiB), `--sizes 256,1024` (MiB),
 * `--no-big` (256 MiB only), `--segment 256K` (default: the library's
 * default for k=3, n=5), `--stage-mib 256`, `--out bench/results.json` (the
 * chart goes beside it, as .svg),
 * `--no-network` (skips 5 and 6), `--no-cluster` (skips 6),
 * `--network-only` (skips 1 to 4 and repair: put/get only).
 *
 * @module
 */

import { defaultSegmentSize } from "../mod.ts";
import { measureTransportFloor, transportReport } from "./transport.ts";
import {
  BENCH_K,
  BENCH_N,
  type Config,
  KiB,
  makePattern,
  MiB,
  parseConfig,
  sharePath,
  type WorkerArgs,
  type WorkerResult,
} from "./common.ts";
import {
  cpuBudgets,
  type EndToEnd,
  endToEndTable,
  fixed,
  flatnessTable,
  mib,
  type Phase,
  PHASE_LABEL,
  phaseModel,
  poolSpeedup,
  poolVerdicts,
  ratioTable,
  size,
  slowestStage,
  stageCpuPerGiB,
  stageTable,
  type Verdict,
  verdictLines,
  workersTable,
} from "./report.ts";
import { svgDocument } from "./svg.ts";
import { resultsCharts } from "./charts.ts";
import { measureStages, type StageResult } from "./stages.ts";
import { repairReport, runRepairBench } from "./repair.ts";
import { kdfSecondsAtDefault, networkReport, runNetworkBench } from "./network.ts";
import { clusterReport, runClusterBench } from "./cluster.ts";

const K = BENCH_K;
const N = BENCH_N;
const LOG_N = 10;
const DEGRADED = [2, 4, 5];
const SYSTEMATIC = [1, 2, 3];
const TARGET_MIBPS = 70;
const TARGET_RSS_MIB = 128;
const TARGET_POOL_RSS_MIB = 160;
const FLAT_PERCENT = 10;
const FLAT_SLACK_MIB = 4;

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

/** The pool a seal/open gets by default (core/segment_workers.ts: one worker per core). */
const DEFAULT_WORKERS = Math.max(1, navigator.hardwareConcurrency ?? 1);

/** Pool sizes measured beside the default: 0 (calling thread), 1, 2 and nproc, once each. */
const OTHER_WORKERS = [...new Set([0, 1, 2, DEFAULT_WORKERS])].filter((w) => w !== DEFAULT_WORKERS);

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
    for (const workers of OTHER_WORKERS) {
      phases.push(
        ["seal-discard", { ...base, mode: "seal-discard", workers }],
        ["open-degraded", { ...base, mode: "open", indices: DEGRADED, workers }],
        ["open-systematic", { ...base, mode: "open", indices: SYSTEMATIC, workers }],
      );
    }
    try {
      for (const [phase, args] of phases) {
        const pool = args.workers === undefined
          ? `default pool (${DEFAULT_WORKERS})`
          : `workers ${args.workers}`;
        progress(`${PHASE_LABEL[phase]}, ${size(args.size)}, ${pool} …`);
        const result = await runWorker(args);
        progress(`  ${fixed(result.mibps)} MB/s, peak RSS ${mib(result.peakRssKiB)}`);
        runs.push({
          sizeMiB,
          phase,
          workers: args.workers ?? DEFAULT_WORKERS,
          defaultPool: args.workers === undefined,
          result,
        });
      }
    } finally {
      for (let i = 1; i <= N; i++) await Deno.remove(sharePath(dir, i)).catch(() => {});
    }
  }
  return runs;
}

function verdicts(config: Config, all: EndToEnd[]): Verdict[] {
  const list: Verdict[] = [];
  const runs = all.filter((r) => r.defaultPool);
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
  list.push(...poolVerdicts(all, DEFAULT_WORKERS));
  const rssLimit = (chosen: EndToEnd[], limitMiB: number, name: string) => {
    if (chosen.length === 0) return;
    const worst = chosen.reduce((a, b) => (b.result.peakRssKiB > a.result.peakRssKiB ? b : a));
    list.push({
      name: `peak RSS ≤ ${limitMiB} MiB, ${name}, every phase and size`,
      measured: `highest ${mib(worst.result.peakRssKiB)} (${PHASE_LABEL[worst.phase]}, ${
        size(worst.sizeMiB * MiB)
      })`,
      pass: worst.result.peakRssKiB <= limitMiB * KiB,
    });
  };
  rssLimit(all.filter((r) => r.workers === 0), TARGET_RSS_MIB, "on the calling thread (workers 0)");
  rssLimit(runs, TARGET_POOL_RSS_MIB, `default pool (${DEFAULT_WORKERS} workers)`);
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
      name: `flat (default pool): peak RSS @${size(last * MiB)} within ${FLAT_PERCENT}% or ` +
        `${FLAT_SLACK_MIB} MiB of @${size(first * MiB)}`,
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
  all: EndToEnd[],
  checks: Verdict[],
): string[] {
  const runs = all.filter((r) => r.defaultPool);
  return [
    `Single-stage limits (${size(config.stageBytes)} per stage, ${size(config.segment)} pieces):`,
    stageTable(stages),
    "",
    `End to end with the default pool (${DEFAULT_WORKERS} segment workers; each row a separate ` +
    "process; MB/s of plaintext over the streaming time, KDF apart;",
    "CPU % = process CPU time / streaming time; /slowest = MB/s ÷ slowest stage of the phase;",
    "/model = MB/s ÷ its stages run back to back on one thread):",
    endToEndTable(runs, stages, K, N),
    "",
    "Segment workers: seal and open with each pool size (0 = all on the calling thread); " +
    "÷ 1 worker = MB/s over the one-worker figure:",
    workersTable(all),
    "",
    "Peak RSS (VmHWM at the end of each process) and median RSS (VmRSS every 50 ms while " +
    "streaming), default pool:",
    flatnessTable(runs, config.sizes),
    "",
    "End to end (default pool) / slowest single stage:",
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
    const transport = config.network && !config.networkOnly
      ? await measureTransportFloor(progress)
      : undefined;
    const wallSeconds = (performance.now() - wallStart) / 1000;
    const stageCpu = stageCpuPerGiB(stages, K, N);
    const budgets = cpuBudgets(networkRuns, stageCpu);

    const text = [
      `secshrnet benchmark — ${machine}`,
      `MB/s means MiB/s (2^20 bytes per second). Segment ${size(config.segment)}` +
      `${config.segment === defaultSegmentSize(K, N) ? " (the library default)" : ""}, ` +
      `k=${K} n=${N}, scrypt logN=${LOG_N}${config.quick ? ", quick run" : ""}.`,
      "",
      ...(config.networkOnly ? [] : localReport(config, stages, runs, checks)),
      ...(config.network ? [networkReport(networkRuns, kdfSeconds, budgets), ""] : []),
      ...(transport ? [...transportReport(transport, stageCpu, K, N), ""] : []),
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
      poolSpeedups: [...new Set(runs.map((r) => r.sizeMiB))].flatMap((sizeMiB) =>
        (["seal-discard", "open-degraded", "open-systematic"] as Phase[]).map((phase) => ({
          sizeMiB,
          phase,
          defaultWorkers: DEFAULT_WORKERS,
          overOneWorker: poolSpeedup(runs, phase, sizeMiB),
        }))
      ),
      network: config.network
        ? {
          kdfSecondsAtLogN20: kdfSeconds,
          runs: networkRuns,
          stageCpuSecondsPerGiB: stageCpu,
          cpuBudget: budgets,
        }
        : null,
      transportFloor: transport ?? null,
      cluster: clusterRun ?? null,
      repair: repairRun ?? null,
      wallSeconds,
      date: new Date().toISOString(),
    };
    await Deno.writeTextFile(config.out, JSON.stringify(json, null, 2) + "\n");
    progress(`wrote ${config.out}`);
    const svgPath = config.out.replace(/(\.json)?$/, ".svg");
    await Deno.writeTextFile(
      svgPath,
      svgDocument(
        `secshrnet benchmark, ${json.date.slice(0, 10)}`,
        resultsCharts(stages, runs, budgets),
        [
          machine,
          `k=${K} n=${N}, segment ${size(config.segment)}${config.quick ? ", quick run" : ""}; ` +
          "MB/s = MiB/s; numbers in bench/results.json, text in the `deno task bench` output.",
        ],
      ),
    );
    // `deno fmt --check` (part of `deno task test`) covers .svg files too: leave it formatted.
    const fmt = await new Deno.Command(Deno.execPath(), {
      args: ["fmt", "--quiet", `--config=${root}deno.json`, svgPath],
      stdout: "null",
      stderr: "null",
    }).output();
    progress(`wrote ${svgPath}${fmt.success ? "" : " (deno fmt failed on it)"}`);
  } finally {
    cleanUp();
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
  }
}

if (import.meta.main) {
  await main();
}
