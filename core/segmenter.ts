/**
 * Cuts a byte stream of unknown length into fixed-size segments, holding one
 * segment back so the last one can be flagged. Every segment but the last is
 * full; the last holds 1 to `size` bytes, or 0 when the whole stream is empty.
 *
 * @module
 */

/** One plaintext segment. */
export interface Segment {
  /** Position in the stream, from 0. */
  readonly counter: number;
  /** Whether this is the final segment. */
  readonly last: boolean;
  /** The segment's bytes. */
  readonly data: Uint8Array;
}

/** Yields the segments of `input`, each `size` bytes except the last. */
export async function* segments(
  input: AsyncIterable<Uint8Array>,
  size: number,
): AsyncGenerator<Segment> {
  let counter = 0;
  let current = new Uint8Array(size);
  let filled = 0;
  for await (const chunk of input) {
    let offset = 0;
    while (offset < chunk.length) {
      if (filled === size) {
        yield { counter: counter++, last: false, data: current };
        current = new Uint8Array(size);
        filled = 0;
      }
      const take = Math.min(size - filled, chunk.length - offset);
      current.set(chunk.subarray(offset, offset + take), filled);
      filled += take;
      offset += take;
    }
  }
  yield { counter, last: true, data: current.subarray(0, filled) };
}
