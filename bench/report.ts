/**
 * Text rendering of the benchmark results: aligned tables and the target
 * verdicts. Pure functions of the collected data.
 *
 * @module
 */

import { KiB, MiB, type WorkerResult } from "./common.ts";
import { serialModel, type StageId, type StageResult } from "./stages.ts";

/** The end-to-end phases, in the order they run for each size. */
export type Phase = "seal-discard" | "seal-files" | "open-degraded" | "open-systematic";

/** One end-to-end measurement. */
export interface EndToEnd {
  /** Plaintext size in MiB. */
  readonly sizeMiB: number;
  /** Which phase. */
  readonly phase: Phase;
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
