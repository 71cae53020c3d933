/**
 * Text rendering of the benchmark results: aligned tables and the target
 * verdicts. Pure functions of the collected data.
 *
 * @module
 */

import { KiB, MiB, type WorkerResult } from "./common.ts";
import { serialModel, type StageId, type StageResult } from "./stages.ts";
import type { NetworkRun } from "./network.ts";
import type { CommandCpu } from "./timed_client.ts";

/** The end-to-end phases, in the order they run for each size. */
export type Phase = "seal-discard" | "seal-files" | "open-degraded" | "open-systematic";

/** One end-to-end measurement. */
export interface EndToEnd {
  /** Plaintext size in MiB. */
  readonly sizeMiB: number;
  /** Which phase. */
  readonly phase: Phase;
  /** Segment workers it ran with (0: the calling thread). */
  readonly workers: number;
  /** Whether that was the library's default pool (no `workers` given). */
  readonly defaultPool: boolean;
  /** What the worker reported. */
  readonly result: WorkerResult;
}

/** A target and whether it was met. */
export interface Verdict {
  /** What is checked. */
  readonly name: string;
  /** The measured value, as text. */
  readonly measured: string;
  /** Whether it was met. */
  readonly pass: boolean;
}

/** Label of each phase as printed. */
export const PHASE_LABEL: Record<Phase, string> = {
  "seal-discard": "seal, shares discarded",
  "seal-files": "seal → 5 share files",
  "open-degraded": "open from 2,4,5 (decode)",
  "open-systematic": "open from 1,2,3 (systematic)",
};

/** The stages each phase runs, with bytes through the stage per plaintext byte. */
export function phaseWork(phase: Phase, k: number, n: number): [StageId, number][] {
  if (phase === "seal-discard" || phase === "seal-files") {
    return [["chacha-encrypt", 1], ["aes-gcm-encrypt", 1], ["rs-encode", 1], [
      "hmac-sha256",
      n / k,
    ]];
  }
  const decode = phase === "open-degraded" ? "rs-decode-2-missing" : "rs-decode-systematic";
  return [["hmac-sha256", 1], [decode, 1], ["aes-gcm-decrypt", 1], ["chacha-decrypt", 1]];
}

/** The slowest stage a phase runs. */
export function slowestStage(
  stages: readonly StageResult[],
  phase: Phase,
  k: number,
  n: number,
): StageResult {
  const ids = phaseWork(phase, k, n).map(([id]) => id);
  return stages.filter((s) => ids.includes(s.id)).reduce((a, b) => (b.mibps < a.mibps ? b : a));
}

/** Plaintext MiB/s a phase would reach doing its stages back to back on one thread. */
export function phaseModel(stages: readonly StageResult[], phase: Phase, k: number, n: number) {
  return serialModel(stages, phaseWork(phase, k, n));
}

/** Renders rows as a table with a header line; columns after the first are right-aligned. */
export function table(header: string[], rows: string[][], indent = "  "): string {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? "").length)));
  const line = (cells: string[]) =>
    indent + cells.map((cell, c) => c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))
      .join("  ").trimEnd();
  const rule = indent + widths.map((w) => "-".repeat(w)).join("  ");
  return [line(header), rule, ...rows.map(line)].join("\n");
}

/** `value` with `digits` decimals. */
export function fixed(value: number, digits = 1): string {
  return Number.isFinite(value) ? value.toFixed(digits) : "n/a";
}

/** KiB as MiB text. */
export function mib(kib: number): string {
  return `${fixed(kib / KiB)} MiB`;
}

/** Bytes as a short size: "256 KiB", "1 GiB", "32 MiB". */
export function size(bytes: number): string {
  if (bytes >= 1024 * MiB && bytes % (1024 * MiB) === 0) return `${bytes / (1024 * MiB)} GiB`;
  if (bytes >= MiB) return `${fixed(bytes / MiB, bytes % MiB === 0 ? 0 : 1)} MiB`;
  return `${fixed(bytes / KiB, bytes % KiB === 0 ? 0 : 1)} KiB`;
}

/** The single-stage table. */
export function stageTable(stages: readonly StageResult[]): string {
  return table(
    ["stage (one thread, awaited piece by piece)", "MB/s", "s"],
    stages.map((s) => [s.label, fixed(s.mibps), fixed(s.seconds, 2)]),
  );
}

/** The end-to-end table, with the ratios to the stage limits. */
export function endToEndTable(
  runs: readonly EndToEnd[],
  stages: readonly StageResult[],
  k: number,
  n: number,
): string {
  return table(
    [
      "phase",
      "size",
      "MB/s",
      "KDF ms",
      "stream s",
      "CPU %",
      "peak RSS",
      "base RSS",
      "/slowest",
      "/model",
    ],
    runs.map(({ sizeMiB, phase, result }) => [
      PHASE_LABEL[phase],
      size(sizeMiB * MiB),
      fixed(result.mibps),
      fixed(result.kdfMs, 0),
      fixed(result.streamMs / 1000, 2),
      fixed(100 * result.cpuMs / result.streamMs, 0),
      mib(result.peakRssKiB),
      mib(result.baseRssKiB),
      fixed(result.mibps / slowestStage(stages, phase, k, n).mibps, 2),
      fixed(result.mibps / phaseModel(stages, phase, k, n), 2),
    ]),
  );
}

/** Peak RSS (and the median RSS while streaming) of each phase at each size, side by side. */
export function flatnessTable(runs: readonly EndToEnd[], sizes: readonly number[]): string {
  const phases = [...new Set(runs.map((r) => r.phase))];
  const at = (phase: Phase, sizeMiB: number) =>
    runs.find((r) => r.phase === phase && r.sizeMiB === sizeMiB)?.result;
  const peak = (phase: Phase, sizeMiB: number) => at(phase, sizeMiB)?.peakRssKiB ?? NaN;
  const first = sizes[0];
  const last = sizes[sizes.length - 1];
  return table(
    [
      "phase",
      ...sizes.map((s) => `peak @${size(s * MiB)}`),
      ...(sizes.length > 1 ? ["peak change"] : []),
      ...sizes.map((s) => `median @${size(s * MiB)}`),
    ],
    phases.map((phase) => {
      const cells = sizes.map((s) => mib(peak(phase, s)));
      if (sizes.length > 1) {
        const delta = peak(phase, last) - peak(phase, first);
        const pct = 100 * delta / peak(phase, first);
        cells.push(`${delta >= 0 ? "+" : ""}${fixed(delta / KiB)} MiB (${fixed(pct)}%)`);
      }
      cells.push(...sizes.map((s) => mib(at(phase, s)?.medianRssKiB ?? NaN)));
      return [PHASE_LABEL[phase], ...cells];
    }),
  );
}

/** The ratio section: end to end over the slowest stage and over the serial model. */
export function ratioTable(
  runs: readonly EndToEnd[],
  stages: readonly StageResult[],
  k: number,
  n: number,
): string {
  const phases = [...new Set(runs.map((r) => r.phase))];
  const sizes = [...new Set(runs.map((r) => r.sizeMiB))];
  return table(
    [
      "phase",
      "slowest stage",
      "MB/s",
      "model MB/s",
      ...sizes.map((s) => `e2e/slowest @${size(s * MiB)}`),
    ],
    phases.map((phase) => {
      const slowest = slowestStage(stages, phase, k, n);
      return [
        PHASE_LABEL[phase],
        slowest.id,
        fixed(slowest.mibps),
        fixed(phaseModel(stages, phase, k, n)),
        ...sizes.map((s) => {
          const run = runs.find((r) => r.phase === phase && r.sizeMiB === s);
          return run ? fixed(run.result.mibps / slowest.mibps, 2) : "";
        }),
      ];
    }),
  );
}

/** The target verdicts as lines. */
export function verdictLines(verdicts: readonly Verdict[]): string {
  return verdicts.map((v) => `  [${v.pass ? "PASS" : "FAIL"}] ${v.name}: ${v.measured}`).join("\n");
}

/** Issue 13's targets for the default pool against one worker. */
export const POOL_TARGETS = { speedup: 1.7, mibps: 150 };

/** The phases measured with every pool size. */
const POOL_PHASES: Phase[] = ["seal-discard", "open-degraded", "open-systematic"];

/** MB/s of the default pool over MB/s of one worker, for a phase and size (NaN if unmeasured). */
export function poolSpeedup(runs: readonly EndToEnd[], phase: Phase, sizeMiB: number): number {
  const at = (f: (r: EndToEnd) => boolean) =>
    runs.find((r) => r.phase === phase && r.sizeMiB === sizeMiB && f(r))?.result.mibps ?? NaN;
  return at((r) => r.defaultPool) / at((r) => r.workers === 1);
}

/** Each pool-phase run at each size, by worker count, with MB/s, CPU %, peak RSS and speedup. */
export function workersTable(runs: readonly EndToEnd[]): string {
  const rows: string[][] = [];
  for (const phase of POOL_PHASES) {
    const chosen = runs.filter((r) => r.phase === phase)
      .sort((a, b) => a.sizeMiB - b.sizeMiB || a.workers - b.workers);
    for (const r of chosen) {
      const one = runs.find((o) => o.phase === phase && o.sizeMiB === r.sizeMiB && o.workers === 1);
      rows.push([
        PHASE_LABEL[phase],
        size(r.sizeMiB * MiB),
        `${r.workers}${r.workers === 0 ? " (calling thread)" : ""}${
          r.defaultPool ? " (default)" : ""
        }`,
        fixed(r.result.mibps),
        fixed(100 * r.result.cpuMs / r.result.streamMs, 0),
        mib(r.result.peakRssKiB),
        one ? `${fixed(r.result.mibps / one.result.mibps, 2)}×` : "",
      ]);
    }
  }
  return table(["phase", "size", "workers", "MB/s", "CPU %", "peak RSS", "÷ 1 worker"], rows);
}

/**
 * Issue 13's pool targets: for seal and both opens, at every size, the
 * default pool reaches {@linkcode POOL_TARGETS}.speedup × the one-worker
 * figure and at least {@linkcode POOL_TARGETS}.mibps.
 */
export function poolVerdicts(runs: readonly EndToEnd[], defaultWorkers: number): Verdict[] {
  const t = POOL_TARGETS;
  const sizes = [...new Set(runs.map((r) => r.sizeMiB))];
  const list: Verdict[] = [];
  for (const phase of POOL_PHASES) {
    const cells = sizes.flatMap((s) => {
      const pool = runs.find((r) => r.phase === phase && r.sizeMiB === s && r.defaultPool);
      const one = runs.find((r) => r.phase === phase && r.sizeMiB === s && r.workers === 1);
      if (!pool || !one) return [];
      const speedup = pool.result.mibps / one.result.mibps;
      return [{
        text: `${fixed(pool.result.mibps)} MB/s = ${fixed(speedup, 2)}× ${
          fixed(one.result.mibps)
        } @${size(s * MiB)}`,
        pass: speedup >= t.speedup && pool.result.mibps >= t.mibps,
      }];
    });
    if (cells.length === 0) continue;
    list.push({
      name: `${PHASE_LABEL[phase]}, default pool (${defaultWorkers} workers) ≥ ${t.speedup}× ` +
        `one worker and ≥ ${t.mibps} MB/s`,
      measured: cells.map((c) => c.text).join(", "),
      pass: cells.every((c) => c.pass),
    });
  }
  return list;
}

/** Issue 13's CPU targets: client CPU-s per GiB of plaintext, servers' per GiB of share data. */
export const CPU_TARGETS = { clientPut: 14, clientGet: 12, serversPerShareGiB: 3 };

/** What one put or get through the CLI cost each process, per GiB of plaintext. */
export interface CpuBudget {
  /** Plaintext MiB. */
  readonly sizeMiB: number;
  /** Which command. */
  readonly command: "put" | "get";
  /** MB/s over the command's wall time. */
  readonly mibps: number;
  /** Client CPU-seconds per GiB. */
  readonly clientPerGiB: number;
  /** All servers' CPU-seconds per GiB. */
  readonly serversPerGiB: number;
  /** All servers' CPU-seconds per GiB of share data (≈ what redis-server received meanwhile). */
  readonly serversPerShareGiB: number;
  /** redis-server's CPU-seconds per GiB. */
  readonly redisPerGiB: number;
  /** Non-idle share (0..1) of all cores during the command. */
  readonly machineBusy: number;
  /** The client's stages back to back on one thread, CPU-seconds per GiB (1024 / model MB/s). */
  readonly stagesPerGiB: number;
  /** clientPerGiB / stagesPerGiB. */
  readonly clientOverStages: number;
}

/**
 * CPU-seconds per GiB of the client's stages run one after another: for a put
 * those sealing runs (ChaCha20-Poly1305, AES-GCM, erasure encode, HMAC of the
 * n/k fragments), for a get their open counterparts from the data shares
 * (what `get` reads first); each stage costs 1024 / its MB/s. NaN unmeasured.
 */
export function stageCpuPerGiB(stages: readonly StageResult[], k: number, n: number) {
  return {
    put: 1024 / phaseModel(stages, "seal-discard", k, n),
    get: 1024 / phaseModel(stages, "open-systematic", k, n),
  };
}

/** The CPU budgets of every run's put and get. */
export function cpuBudgets(
  runs: readonly NetworkRun[],
  stagesPerGiB: { put: number; get: number },
): CpuBudget[] {
  return runs.flatMap((r) => {
    const gib = r.sizeMiB / 1024;
    const one = (command: "put" | "get", cpu: CommandCpu, inputMiB: number): CpuBudget => ({
      sizeMiB: r.sizeMiB,
      command,
      mibps: r.sizeMiB / cpu.wallSeconds,
      clientPerGiB: cpu.clientSeconds / gib,
      serversPerGiB: cpu.serversSeconds / gib,
      serversPerShareGiB: cpu.serversSeconds / (inputMiB / 1024),
      redisPerGiB: cpu.redisSeconds / gib,
      machineBusy: cpu.machineBusy,
      stagesPerGiB: stagesPerGiB[command],
      clientOverStages: cpu.clientSeconds / gib / stagesPerGiB[command],
    });
    return [one("put", r.putCpu, r.redisInputPutMiB), one("get", r.getCpu, r.redisInputGetMiB)];
  });
}

/** The CPU budget table. */
export function cpuBudgetTable(budgets: readonly CpuBudget[]): string {
  return table(
    [
      "size",
      "cmd",
      "MB/s",
      "client s/GiB",
      "servers s/GiB",
      "per share GiB",
      "redis s/GiB",
      "machine busy",
      "stages s/GiB",
      "client/stages",
    ],
    budgets.map((b) => [
      size(b.sizeMiB * MiB),
      b.command,
      fixed(b.mibps),
      fixed(b.clientPerGiB),
      fixed(b.serversPerGiB),
      fixed(b.serversPerShareGiB),
      fixed(b.redisPerGiB, 2),
      `${fixed(100 * b.machineBusy, 0)} %`,
      fixed(b.stagesPerGiB),
      fixed(b.clientOverStages, 2),
    ]),
  );
}

/** Issue 13's CPU targets, checked on the largest size measured. */
export function cpuVerdicts(budgets: readonly CpuBudget[]): Verdict[] {
  if (budgets.length === 0) return [];
  const largest = Math.max(...budgets.map((b) => b.sizeMiB));
  const at = (command: "put" | "get") =>
    budgets.find((b) => b.sizeMiB === largest && b.command === command)!;
  const [put, get] = [at("put"), at("get")];
  const t = CPU_TARGETS;
  const servers = Math.max(put.serversPerShareGiB, get.serversPerShareGiB);
  return [
    {
      name: `client CPU per GiB: put ≤ ${t.clientPut} s, get ≤ ${t.clientGet} s (@${
        size(largest * MiB)
      })`,
      measured: `put ${fixed(put.clientPerGiB)} s, get ${fixed(get.clientPerGiB)} s`,
      pass: put.clientPerGiB <= t.clientPut && get.clientPerGiB <= t.clientGet,
    },
    {
      name: `servers ≤ ${t.serversPerShareGiB} CPU-s per GiB of share data (@${
        size(largest * MiB)
      })`,
      measured: `put ${fixed(put.serversPerShareGiB)} s, get ${fixed(get.serversPerShareGiB)} s`,
      pass: servers <= t.serversPerShareGiB,
    },
  ];
}
