/**
 * Buffers for outgoing messages, used again once Redis has taken them. A
 * transfer sends every byte as part of a message, and a fresh buffer per
 * message is garbage the moment its publish completes: for a server sending
 * a share, that garbage was most of what its garbage collector had to do.
 * A message of at least {@linkcode MIN_POOLED_BYTES} takes a free buffer of
 * its size class (its length rounded up to 64 KiB) and gives it back when
 * the publish has settled; smaller ones (requests, acks) are not worth it.
 *
 * @module
 */

/** Messages below this many bytes get a buffer of their own. */
export const MIN_POOLED_BYTES = 64 * 1024;

/** Free buffers kept per size class; more are left to the garbage collector. */
export const MAX_FREE_PER_CLASS = 16;

/** Size classes are multiples of this many bytes. */
const CLASS_BYTES = 64 * 1024;

/** A pool of message buffers by size class. */
export class MessageBuffers {
  readonly #free = new Map<number, ArrayBuffer[]>();
  /** Bytes of buffers allocated afresh (not taken from the pool) so far. */
  allocatedBytes = 0;

  /** A view of `length` bytes (contents unspecified), from the pool when it is large enough. */
  take(length: number): Uint8Array<ArrayBuffer> {
    if (length < MIN_POOLED_BYTES) {
      this.allocatedBytes += length;
      return new Uint8Array(length);
    }
    const size = Math.ceil(length / CLASS_BYTES) * CLASS_BYTES;
    const buffer = this.#free.get(size)?.pop();
    if (buffer !== undefined) return new Uint8Array(buffer, 0, length);
    this.allocatedBytes += size;
    return new Uint8Array(size).subarray(0, length);
  }

  /** Returns `view`'s buffer to the pool; nothing may use `view` after this. */
  give(view: Uint8Array<ArrayBuffer>): void {
    const size = view.buffer.byteLength;
    if (view.byteOffset !== 0 || size < MIN_POOLED_BYTES || size % CLASS_BYTES !== 0) return;
    const free = this.#free.get(size) ?? [];
    if (free.length >= MAX_FREE_PER_CLASS) return;
    free.push(view.buffer);
    this.#free.set(size, free);
  }

  /** Free buffers held, over all size classes. */
  get freeCount(): number {
    let count = 0;
    for (const free of this.#free.values()) count += free.length;
    return count;
  }
}
