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

/**
 * A source that reads into the caller's buffer, as `Deno.FsFile` does: each
 * read resolves to the number of bytes it put at the start of `into`, or to
 * null at the end. Segments are then filled in place, with no chunk buffers
 * and no copies (a stream hands over 64 KiB chunks that are copied into each
 * segment).
 */
export interface ByteSource {
  /** Reads into the start of `into`; resolves to the bytes read, or null at the end. */
  read(into: Uint8Array): Promise<number | null>;
}

/** Yields the segments of `input`, each `size` bytes except the last. */
export function segments(
  input: AsyncIterable<Uint8Array> | ByteSource,
  size: number,
): AsyncGenerator<Segment> {
  return isByteSource(input) ? sourceSegments(input, size) : chunkSegments(input, size);
}

/** Whether `input` reads into a buffer rather than yielding chunks. */
function isByteSource(input: unknown): input is ByteSource {
  return typeof input === "object" && input !== null && !(Symbol.asyncIterator in input) &&
    typeof (input as ByteSource).read === "function";
}

async function* sourceSegments(source: ByteSource, size: number): AsyncGenerator<Segment> {
  let counter = 0;
  let current = new Uint8Array(size);
  let filled = await fill(source, current);
  while (filled === size) {
    // A full segment is the last one only if nothing follows it.
    const next = new Uint8Array(size);
    const nextFilled = await fill(source, next);
    if (nextFilled === 0) break;
    yield { counter: counter++, last: false, data: current };
    current = next;
    filled = nextFilled;
  }
  yield { counter, last: true, data: current.subarray(0, filled) };
}

/** Reads into `buffer` until it is full or `source` ends; resolves to the bytes read. */
async function fill(source: ByteSource, buffer: Uint8Array): Promise<number> {
  let filled = 0;
  while (filled < buffer.length) {
    const read = await source.read(buffer.subarray(filled));
    // 0 for a buffer with room is no progress: taken as the end rather than read forever.
    if (read === null || read === 0) break;
    if (!Number.isSafeInteger(read) || read < 0 || read > buffer.length - filled) {
      throw new RangeError(`input read returned ${read} for a buffer of ${buffer.length - filled}`);
    }
    filled += read;
  }
  return filled;
}

async function* chunkSegments(
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
