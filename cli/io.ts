/**
 * Writing streams to files and stdout by hand: Deno 2.9's `FsFile.writable`
 * piped with `preventClose` can drop the last writes, so the CLI loops over
 * `write` instead.
 *
 * @module
 */

import { release as releaseMemory } from "../core/memory.ts";
import type { ByteSource } from "../core/segmenter.ts";

/** Something with Deno's `write` (a file, stdout). */
export interface Writer {
  write(bytes: Uint8Array): Promise<number>;
}

/**
 * Writes every chunk of `stream` to `writer`, fully; stops with the signal's
 * reason when aborted. With `release`, each chunk's memory is freed once it is
 * written (core/memory.ts): only for a stream whose chunks are the reader's own.
 */
export async function writeStream(
  stream: ReadableStream<Uint8Array>,
  writer: Writer,
  signal?: AbortSignal,
  release = false,
): Promise<void> {
  for await (const chunk of stream) {
    signal?.throwIfAborted();
    for (let offset = 0; offset < chunk.length;) {
      offset += await writer.write(chunk.subarray(offset));
    }
    if (release) releaseMemory(chunk);
  }
}

/**
 * `source` (an open file) as seal reads it, filling each segment in place,
 * calling `onBytes` with the running total; a read after `signal` aborted
 * fails with its reason (reads of a regular file do not block for long).
 */
export function countingSource(
  source: ByteSource,
  onBytes: (total: number) => void,
  signal?: AbortSignal,
): ByteSource {
  let total = 0;
  return {
    async read(into) {
      signal?.throwIfAborted();
      const read = await source.read(into);
      if (read !== null) onBytes(total += read);
      return read;
    },
  };
}

/** `stream` unchanged, calling `onBytes` with the running total as chunks pass. */
export function counting(
  stream: ReadableStream<Uint8Array>,
  onBytes: (total: number) => void,
): ReadableStream<Uint8Array> {
  let total = 0;
  return stream.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        total += chunk.length;
        onBytes(total);
        controller.enqueue(chunk);
      },
    }),
  );
}
