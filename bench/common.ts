/**
 * Pieces shared by the benchmark driver (bench.ts) and its worker
 * subprocess (worker.ts): sizes, the generated input, the worker protocol and
 * readings of the process' own memory and CPU use.
 *
 * @module
 */

import process from "node:process";

/** One mebibyte; every "MB" this benchmark prints is a MiB. */
export const MiB = 2 ** 20;

/** One kibibyte. */
export const KiB = 2 ** 10;

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
