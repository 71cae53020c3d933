/**
 * Reads exact byte counts: from a stream of arbitrarily sized chunks, or
 * from a file until a buffer is full.
 *
 * @module
 */

/** Pulls exact-length pieces out of a `ReadableStream<Uint8Array>`. */
export class ByteReader {
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  #chunks: Uint8Array[] = [];
  #buffered = 0;
  #done = false;

  constructor(stream: ReadableStream<Uint8Array>) {
    this.#reader = stream.getReader();
  }

  /**
   * Reads exactly `length` bytes; returns fewer (possibly none) only when the
   * stream ends first. Errors of the stream propagate.
   */
  async read(length: number): Promise<Uint8Array> {
    while (this.#buffered < length && !this.#done) {
      const { value, done } = await this.#reader.read();
      if (done) this.#done = true;
      else if (value.length > 0) {
        this.#chunks.push(value);
        this.#buffered += value.length;
      }
    }
    const take = Math.min(length, this.#buffered);
    const first = this.#chunks[0];
    if (first !== undefined && first.length >= take) {
      this.#consume(take);
      return first.subarray(0, take);
    }
    const out = new Uint8Array(take);
    let filled = 0;
    while (filled < take) {
      const chunk = this.#chunks[0];
      const part = Math.min(chunk.length, take - filled);
      out.set(chunk.subarray(0, part), filled);
      filled += part;
      this.#consume(part);
    }
    return out;
  }

  /** Drops `length` bytes from the front of the buffer (at most the first chunk). */
  #consume(length: number): void {
    if (length === 0) return;
    const first = this.#chunks[0];
    if (length === first.length) this.#chunks.shift();
    else this.#chunks[0] = first.subarray(length);
    this.#buffered -= length;
  }

  /** Whether the stream has ended; consumes one byte when it has not. */
  async atEnd(): Promise<boolean> {
    return (await this.read(1)).length === 0;
  }

  /** Stops reading and cancels the stream. Never throws. */
  async cancel(reason?: unknown): Promise<void> {
    this.#done = true;
    this.#chunks = [];
    this.#buffered = 0;
    try {
      await this.#reader.cancel(reason);
    } catch {
      // The stream had already failed; nothing more to release.
    }
  }
}

/** Reads from `file` until `buffer` is full or the file ends; returns the bytes read. */
export async function readFull(file: Deno.FsFile, buffer: Uint8Array): Promise<number> {
  let filled = 0;
  while (filled < buffer.length) {
    const read = await file.read(buffer.subarray(filled));
    if (read === null) break;
    filled += read;
  }
  return filled;
}
