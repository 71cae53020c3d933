/**
 * The charts of bench/results.svg, from one run's results (drawn by
 * bench/svg.ts).
 *
 * @module
 */

import { MiB } from "./common.ts";
import { type CpuBudget, type EndToEnd, PHASE_LABEL, size } from "./report.ts";
import type { BarChart } from "./svg.ts";
import type { StageResult } from "./stages.ts";

/**
 * The charts of bench/results.svg: stage limits beside end-to-end seal/open
 * (largest size, each pool size) and network put/get (largest size); and the
 * CPU budget per process. Parts a run did not measure come out empty and are
 * left out of the picture.
 */
export function resultsCharts(
  stages: StageResult[],
  runs: EndToEnd[],
  budgets: CpuBudget[],
): BarChart[] {
  const largest = Math.max(0, ...runs.map((r) => r.sizeMiB));
  const order = Object.keys(PHASE_LABEL);
  const pool = (r: EndToEnd) =>
    r.workers === 0 ? "calling thread" : `${r.workers} worker${r.workers === 1 ? "" : "s"}`;
  const e2e = runs.filter((r) => r.sizeMiB === largest && r.phase !== "seal-files")
    .sort((a, b) => order.indexOf(a.phase) - order.indexOf(b.phase) || a.workers - b.workers)
    .map((r) => ({
      label: `${PHASE_LABEL[r.phase]}, ${pool(r)}${r.defaultPool ? " (default)" : ""}`,
      value: r.result.mibps,
    }));
  const bigNet = Math.max(0, ...budgets.map((b) => b.sizeMiB));
  const net = budgets.filter((b) => b.sizeMiB === bigNet);
  const perProcess = (label: string, f: (b: CpuBudget) => number) =>
    net.map((b) => ({ label: `${b.command}: ${label}`, value: f(b) }));
  const netBars = net.map((b) => ({ label: b.command, value: b.mibps }));
  // The axis goes to 4 × the fastest end-to-end figure (or the slowest stage); faster stages are cut.
  const slowest = stages.length > 0 ? [Math.min(...stages.map((s) => s.mibps))] : [];
  const limit = 4 * Math.max(0, ...slowest, ...[...e2e, ...netBars].map((b) => b.value));
  return [{
    title: "Throughput: single-stage limits beside end to end",
    limit,
    unit: "MB/s (MiB/s of plaintext; stages: of their input)",
    groups: [
      {
        heading: "Single stage, one thread",
        bars: stages.map((s) => ({ label: s.label, value: s.mibps })),
      },
      { heading: `Core seal/open end to end, ${size(largest * MiB)}`, bars: e2e },
      {
        heading: `Network put/get through the CLI, ${size(bigNet * MiB)} (5 servers, 1 redis)`,
        bars: netBars,
      },
    ],
  }, {
    title: `CPU budget per process, network put/get of ${size(bigNet * MiB)}`,
    unit: "CPU-seconds per GiB of plaintext",
    groups: [
      { heading: "Client (all threads)", bars: perProcess("client", (b) => b.clientPerGiB) },
      {
        heading: "Client's stages, one thread, back to back",
        bars: perProcess("stages", (b) => b.stagesPerGiB),
      },
      { heading: "All 5 servers together", bars: perProcess("servers", (b) => b.serversPerGiB) },
      { heading: "redis-server", bars: perProcess("redis", (b) => b.redisPerGiB) },
    ],
    digits: 2,
  }];
}
