/**
 * Bounded memory in practice. The pipeline allocates a few short-lived
 * buffers per segment (Web Crypto returns new ones), and V8 frees dead
 * ArrayBuffers only after some tens of MiB have piled up: measured, a 256 MiB
 * seal peaked at 143 MiB RSS. A young-generation collection every few MiB
 * keeps the peak below 128 MiB at no measurable cost (bench/). It needs
 * `--v8-flags=--expose-gc`, which every deno.json task and the compiled
 * binary pass (with `--max-semi-space-size=2`, a young generation of 2 MiB
 * semi-spaces, which saves a few MiB more); without it this does nothing.
 *
 * @module
 */

/** Bytes processed between two young-generation collections. */
export const COLLECT_EVERY_BYTES = 2 * 2 ** 20;

const collect = (globalThis as { gc?: (options?: { type: string }) => void }).gc;

/** Counts processed bytes and runs a minor GC every {@linkcode COLLECT_EVERY_BYTES}. */
export class GarbagePacer {
  #since = 0;

  /** Records `bytes` processed; collects young garbage when enough has passed. */
  processed(bytes: number): void {
    this.#since += bytes;
    if (this.#since < COLLECT_EVERY_BYTES) return;
    this.#since = 0;
    collect?.({ type: "minor" });
  }
}

/**
 * Frees the memory of buffers the caller owns whole and will not touch again,
 * now rather than at V8's next full collection: each view's ArrayBuffer is
 * detached (`transfer(0)`), so every view of it reads as empty from then on.
 * A buffer that lived long enough to reach the old generation otherwise holds
 * its memory until a mark-compact, which V8 starts from the external memory
 * piling up (measured: 67 mark-compacts in a 256 MiB put). Shared and already
 * detached buffers are left alone.
 */
export function release(...views: (Uint8Array | undefined)[]): void {
  for (const view of views) {
    const buffer = view?.buffer;
    if (buffer instanceof ArrayBuffer && !buffer.detached) buffer.transfer(0);
  }
}

/** glibc's mallopt parameter number of M_MMAP_THRESHOLD. */
const M_MMAP_THRESHOLD = -3;

/**
 * glibc's mmap threshold as set here: above the segment-sized buffers (1 MiB
 * plus tags), which then come from heap arenas and are used again, rather than
 * mapped and faulted in afresh for every segment. Measured (bench, 256 MiB,
 * 2 workers): with 512 KiB, open ran at 61 to 63 MB/s; with 2 MiB at 80 to
 * 85 MB/s and seal 2 % faster, for 3 to 6 MiB more peak RSS.
 */
export const MMAP_THRESHOLD_BYTES = 2 * 2 ** 20;

/**
 * The mmap threshold of a server: above the buffer pool in which ioredis's
 * RESP parser joins each large message it receives (about 3 times the
 * message, so 2 to 3.2 MiB for a put's chunks), which with 2 MiB was mapped
 * and faulted in afresh every few messages. Measured (5 servers, 256 MiB put
 * and get, the servers restarted for each setting, 6 of each, interleaved):
 * the servers' CPU per put fell from 3.87–5.00 s (mean 4.32) to 3.26–4.02 s
 * (3.71), per get from 1.50–2.06 s (1.88) to 1.34–1.71 s (1.56); each server's
 * peak RSS rose from 104–111 MiB to 109–116 MiB.
 */
export const SERVER_MMAP_THRESHOLD_BYTES = 8 * 2 ** 20;

/**
 * Fixes glibc's mmap threshold at `thresholdBytes` (default
 * {@linkcode MMAP_THRESHOLD_BYTES}); it may be called again. glibc
 * serves allocations above its threshold (128 KiB at first) with mmap, but
 * raises the threshold each time such a block is freed, up to 32 MiB, after
 * which the pipeline's larger buffers pile up in heap arenas: measured, a
 * 256 MiB get held 149 MiB RSS with the default and 121 MiB with the
 * threshold fixed. Setting it once through mallopt (FFI) fixes it and turns
 * off the dynamic adjustment. Elsewhere than glibc Linux, or without FFI
 * permission, it does nothing.
 */
export function tuneAllocator(thresholdBytes: number = MMAP_THRESHOLD_BYTES): void {
  if (Deno.build.os !== "linux" || Deno.build.env !== "gnu") return;
  try {
    const libc = Deno.dlopen("libc.so.6", {
      mallopt: { parameters: ["i32", "i32"], result: "i32" },
    });
    libc.symbols.mallopt(M_MMAP_THRESHOLD, thresholdBytes);
    libc.close();
  } catch {
    // No FFI permission or no glibc: keep the allocator's defaults.
  }
}
