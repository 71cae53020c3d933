/**
 * Pieces shared by the benchmark driver (bench.ts) and its worker
 * subprocess (worker.ts): sizes, the generated input, the worker protocol and
 * readings of the process' own memory and CPU use.
 *
 * @module
 */

import process from "node:process";
import { parseArgs } from "node:util";
import { defaultSegmentSize } from "../mod.ts";
import { readFull } from "../core/byte_reader.ts";

/** One mebibyte; every "MB" this benchmark prints is a MiB. */
export const MiB = 2 ** 20;

/** One kibibyte. */
export const KiB = 2 ** 10;

/** Shares needed (k) in every benchmark object. */
export const BENCH_K = 3;

/** Shares made (n) in every benchmark object. */
export const BENCH_N = 5;

/** Tag every benchmark object is sealed under. */
export const BENCH_TAG = "/bench/object";

/** Password every benchmark object is sealed with. */
export const BENCH_PASSWORD = "secshrnet bench password";

/** What the driver asks one worker subprocess to do. */
export interface WorkerArgs {
  /**
   * `seal-discard`: seal and read all n share streams, dropping the bytes.
   * `seal-files`: seal and write share i to `share-i.bin` (plus header and manifest) in `dir`.
   * `open`: open from the files of `indices` written by a `seal-files` run.
   */
  readonly mode: "seal-discard" | "seal-files" | "open";
  /** Plaintext bytes. */
  readonly size: number;
  /** Segment size in bytes. */
  readonly segment: number;
  /** Temporary directory holding pattern.bin and the share files. */
  readonly dir: string;
  /** Shares needed. */
  readonly k: number;
  /** Shares made. */
  readonly n: number;
  /** scrypt log2 N. */
  readonly logN: number;
  /** 1-based share indices to open from (mode `open`). */
  readonly indices?: readonly number[];
  /** Segment workers for seal/open (0: the calling thread); absent: the library default. */
  readonly workers?: number;
}

/** What a worker prints as the one JSON line on its stdout. */
export interface WorkerResult {
  /** The mode that ran. */
  readonly mode: WorkerArgs["mode"];
  /** Indices opened from (mode `open`). */
  readonly indices?: readonly number[];
  /** Plaintext bytes sealed or recovered. */
  readonly plaintextBytes: number;
  /** Share-stream bytes produced (seal) or read (open: sum of the share files used). */
  readonly shareBytes: number;
  /** Milliseconds from calling seal/open to its promise resolving (scrypt, HKDF, key shares). */
  readonly kdfMs: number;
  /** Milliseconds from then until the last byte was consumed. */
  readonly streamMs: number;
  /** Plaintext MiB per second over `streamMs`. */
  readonly mibps: number;
  /** CPU time (user + system) of the whole process over `streamMs`, in ms. */
  readonly cpuMs: number;
  /** VmRSS after imports, before any work, in KiB. */
  readonly baseRssKiB: number;
  /** VmHWM (peak RSS) at the end of the run, in KiB. */
  readonly peakRssKiB: number;
  /** Median of VmRSS sampled every 50 ms while streaming, in KiB. */
  readonly medianRssKiB: number;
  /** Rejections reported by open (should be none). */
  readonly rejections?: number;
  /** Segment workers asked for (absent: the library default). */
  readonly workers?: number;
}

/** A value of /proc/self/status in KiB (e.g. `VmHWM`, `VmRSS`); NaN when unavailable. */
export function procStatusKiB(field: string): number {
  try {
    const text = Deno.readTextFileSync("/proc/self/status");
    const match = text.match(new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, "m"));
    return match ? Number(match[1]) : NaN;
  } catch {
    return NaN;
  }
}

/** Samples VmRSS every `intervalMs` until `stop()` is called, which returns the median (KiB). */
export function sampleRss(intervalMs = 50): { stop(): number } {
  const samples = [procStatusKiB("VmRSS")];
  const timer = setInterval(() => samples.push(procStatusKiB("VmRSS")), intervalMs);
  return {
    stop() {
      clearInterval(timer);
      samples.push(procStatusKiB("VmRSS"));
      samples.sort((a, b) => a - b);
      return samples[samples.length >> 1];
    },
  };
}

/** CPU time (user + system) this process has used so far, in milliseconds. */
export function cpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

/** 1 MiB of random bytes, filled in 64 KiB `crypto.getRandomValues` calls. */
export function makePattern(): Uint8Array<ArrayBuffer> {
  const pattern = new Uint8Array(MiB);
  for (let offset = 0; offset < pattern.length; offset += 64 * KiB) {
    crypto.getRandomValues(pattern.subarray(offset, offset + 64 * KiB));
  }
  return pattern;
}

/**
 * A stream of `size` bytes made of repeats of `pattern`, produced on demand
 * one fresh copy (at most `pattern.length` bytes) per chunk, so the consumer
 * may keep what it is given and the whole input is never in memory.
 */
export function generatedStream(size: number, pattern: Uint8Array): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent >= size) {
        controller.close();
        return;
      }
      const length = Math.min(pattern.length, size - sent);
      controller.enqueue(pattern.slice(0, length));
      sent += length;
    },
  }, { highWaterMark: 1 });
}

/**
 * Checks a few bytes at both ends of `chunk`, found at plaintext offset
 * `offset`, against the periodic `pattern`; returns a message on mismatch.
 */
export function checkSample(
  chunk: Uint8Array,
  offset: number,
  pattern: Uint8Array,
): string | undefined {
  const probes = Math.min(16, chunk.length);
  for (const start of [0, chunk.length - probes]) {
    for (let i = start; i < start + probes; i++) {
      if (chunk[i] !== pattern[(offset + i) % pattern.length]) {
        return `plaintext differs from the input at byte ${offset + i}`;
      }
    }
  }
  return undefined;
}

/** Path of share index `index` (1-based) in `dir`. */
export function sharePath(dir: string, index: number): string {
  return `${dir}/share-${index}.bin`;
}

/** Clock ticks per second of /proc times (`getconf CLK_TCK`; 100 when it cannot be read). */
export const CLK_TCK: number = (() => {
  try {
    const out = new Deno.Command("getconf", { args: ["CLK_TCK"], stderr: "null" }).outputSync();
    const ticks = Number(new TextDecoder().decode(out.stdout).trim());
    return Number.isInteger(ticks) && ticks > 0 ? ticks : 100;
  } catch {
    return 100;
  }
})();

/**
 * CPU seconds (utime + stime, all threads) process `pid` has used so far, from
 * /proc/PID/stat; NaN when it is gone.
 */
export function procCpuSeconds(pid: number): number {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    // Fields after the command name (which may hold spaces) start at field 3 (state).
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK; // fields 14 and 15: utime, stime
  } catch {
    return NaN;
  }
}

/** Busy and total clock ticks of all cores together, from the first line of /proc/stat. */
export interface MachineTicks {
  /** Ticks not idle (everything but idle and iowait). */
  readonly busy: number;
  /** All ticks (user … steal; guest time is already counted in user). */
  readonly total: number;
}

/** Reads {@linkcode MachineTicks} now; zeros when /proc/stat cannot be read. */
export function machineTicks(): MachineTicks {
  try {
    const line = Deno.readTextFileSync("/proc/stat").split("\n")[0];
    const v = line.trim().split(/\s+/).slice(1, 9).map(Number); // user nice system idle iowait irq softirq steal
    const total = v.reduce((a, b) => a + (b || 0), 0);
    return { busy: total - v[3] - (v[4] || 0), total };
  } catch {
    return { busy: 0, total: 0 };
  }
}

/** Non-idle share (0..1) of all cores between two {@linkcode machineTicks} readings. */
export function busyShare(before: MachineTicks, after: MachineTicks): number {
  const total = after.total - before.total;
  return total > 0 ? (after.busy - before.busy) / total : NaN;
}

/**
 * Runs `command args…` under bash and prints its CPU time on stderr as the
 * last line, through the `times` builtin (the children's user and system
 * time, from wait4: every thread of the child, counted by the kernel at exit).
 * Read it back with {@linkcode parseChildTimes}.
 */
export function timedCommandArgs(command: string, args: string[]): string[] {
  return ["-c", '"$@"; rc=$?; times >&2; exit $rc', "bash", command, ...args];
}

/**
 * The children's user + system seconds from the output of bash `times` at the
 * end of `stderr` (its last line: "0m11.234s 0m0.567s"); NaN when absent.
 */
export function parseChildTimes(stderr: string): number {
  const lines = stderr.trimEnd().split("\n");
  const match = /^(\d+)m([\d.]+)s (\d+)m([\d.]+)s$/.exec(lines[lines.length - 1]?.trim() ?? "");
  if (!match) return NaN;
  return Number(match[1]) * 60 + Number(match[2]) + Number(match[3]) * 60 + Number(match[4]);
}

/** Bytes of all files under `dir`, recursively. */
export async function bytesUnder(dir: string): Promise<number> {
  let total = 0;
  for await (const entry of Deno.readDir(dir)) {
    const path = `${dir}/${entry.name}`;
    total += entry.isDirectory ? await bytesUnder(path) : (await Deno.stat(path)).size;
  }
  return total;
}

/** Whether files `a` and `b` hold the same bytes. */
export async function sameFiles(a: string, b: string): Promise<boolean> {
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

/** Parsed command line. */
export interface Config {
  /** `--quick`. */
  readonly quick: boolean;
  /** Sizes of the end-to-end and network runs, MiB. */
  readonly sizes: number[];
  /** Segment size, bytes. */
  readonly segment: number;
  /** Bytes per single-stage measurement. */
  readonly stageBytes: number;
  /** Where results.json goes. */
  readonly out: string;
  /** Whether the network parts run. */
  readonly network: boolean;
  /** Whether the cluster part runs. */
  readonly cluster: boolean;
  /** `--network-only`. */
  readonly networkOnly: boolean;
}

/** Parses "262144", "256K", "256KiB", "1M" into bytes. */
export function parseBytes(text: string): number {
  const match = text.trim().match(/^(\d+)\s*(k|kib|m|mib)?$/i);
  if (!match) throw new Error(`cannot read a byte size from "${text}"`);
  const unit = (match[2] ?? "").toLowerCase();
  return Number(match[1]) * (unit.startsWith("k") ? KiB : unit.startsWith("m") ? MiB : 1);
}

/** Reads the command line of bench.ts (see its module doc for the flags). */
export function parseConfig(argv: string[]): Config {
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
    : defaultSegmentSize(BENCH_K, BENCH_N);
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
