/**
 * segments(): cutting a chunked byte stream, or a source read into each
 * segment in place, into fixed-size, counted, last-flagged segments.
 */

import { type ByteSource, type Segment, segments } from "../core/segmenter.ts";
import { assert, assertEquals, assertRejects } from "./assert.ts";
import { prng } from "./prng.ts";

type Chunker = (data: Uint8Array, size: number, seed: number) => Uint8Array[];

/** Named ways to cut `data` into chunks. */
const CHUNKERS: Record<string, Chunker> = {
  whole: (data) => [data],
  "1-byte": (data) => Array.from(data, (b) => new Uint8Array([b])),
  "bigger than S": (data, size) => cut(data, () => 2 * size + 3),
  "exactly S": (data, size) => cut(data, () => size),
  "random with empties": (data, size, seed) => {
    const rng = prng(seed);
    const chunks = cut(data, () => rng.int(0, 2 * size + 1));
    return [new Uint8Array(0), ...chunks, new Uint8Array(0)];
  },
  "random small": (data, _size, seed) => {
    const rng = prng(seed ^ 0xabc);
    return cut(data, () => rng.int(1, 5));
  },
};

/** Cuts `data` into consecutive pieces whose lengths `next()` gives (0 allowed). */
function cut(data: Uint8Array, next: () => number): Uint8Array[] {
  const out: Uint8Array[] = [];
  let offset = 0;
  while (offset < data.length) {
    const length = next();
    out.push(data.subarray(offset, offset + length));
    offset += length;
  }
  return out;
}

async function* fromChunks(chunks: Uint8Array[]): AsyncGenerator<Uint8Array> {
  for (const chunk of chunks) yield chunk;
}

/**
 * `data` as a ByteSource whose reads return at most the lengths `chunker` cuts
 * (so short reads of every size), each into the caller's buffer.
 */
function sourceOf(chunks: Uint8Array[]): ByteSource & { reads: number } {
  let index = 0;
  let offset = 0;
  const source = {
    reads: 0,
    read(into: Uint8Array): Promise<number | null> {
      source.reads++;
      while (index < chunks.length && offset === chunks[index].length) {
        [index, offset] = [index + 1, 0];
      }
      if (index === chunks.length) return Promise.resolve(null);
      const take = Math.min(into.length, chunks[index].length - offset);
      into.set(chunks[index].subarray(offset, offset + take));
      offset += take;
      return Promise.resolve(take);
    },
  };
  return source;
}

async function collect(
  input: AsyncIterable<Uint8Array> | ByteSource,
  size: number,
): Promise<Segment[]> {
  const out: Segment[] = [];
  for await (const segment of segments(input, size)) out.push(segment);
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, p) => sum + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/** Checks every invariant of the segmentation of `data`. */
function check(result: Segment[], data: Uint8Array, size: number, ctx: string): void {
  const expectedCount = data.length === 0 ? 1 : Math.ceil(data.length / size);
  assertEquals(result.length, expectedCount, `segment count ${ctx}`);
  result.forEach((segment, i) => {
    assertEquals(segment.counter, i, `counter ${ctx}`);
    assertEquals(segment.last, i === result.length - 1, `last flag of #${i} ${ctx}`);
    if (!segment.last) assertEquals(segment.data.length, size, `length of #${i} ${ctx}`);
    else {
      const expected = data.length === 0 ? 0 : data.length - (result.length - 1) * size;
      assertEquals(segment.data.length, expected, `last length ${ctx}`);
      assert(data.length === 0 || segment.data.length >= 1, `last segment empty ${ctx}`);
    }
  });
  assertEquals(concat(result.map((s) => s.data)), data, `concatenation ${ctx}`);
}

Deno.test("segmenter: every size around S with every chunking", async () => {
  const seed = 0x5e9;
  for (const size of [1, 4, 16, 1000]) {
    const lengths = [...new Set([0, 1, size - 1, size, size + 1, 3 * size, 3 * size + 7])];
    for (const length of lengths) {
      const data = prng(seed + length).bytes(length);
      for (const [name, chunker] of Object.entries(CHUNKERS)) {
        const ctx = `seed=${seed} S=${size} length=${length} chunking=${name}`;
        const result = await collect(fromChunks(chunker(data, size, seed + length)), size);
        check(result, data, size, ctx);
        const read = await collect(sourceOf(chunker(data, size, seed + length)), size);
        check(read, data, size, `${ctx} read in place`);
      }
    }
  }
});

Deno.test("segmenter: randomized lengths and chunkings at a real segment size", async () => {
  const seed = 2024;
  const rng = prng(seed);
  const size = 65536;
  for (let trial = 0; trial < 12; trial++) {
    const length = [0, size - 1, size, size + 1, 3 * size, 3 * size + 7][trial % 6] +
      (trial >= 6 ? rng.int(0, 3) : 0);
    const data = rng.bytes(length);
    const chunks = cut(data, () => rng.int(0, 3 * size));
    check(await collect(fromChunks(chunks), size), data, size, `seed=${seed} trial=${trial}`);
    const ctx = `seed=${seed} trial=${trial} read in place`;
    check(await collect(sourceOf(chunks), size), data, size, ctx);
  }
});

Deno.test("segmenter: an empty stream gives exactly one empty last segment", async () => {
  for (const chunks of [[], [new Uint8Array(0)], [new Uint8Array(0), new Uint8Array(0)]]) {
    const result = await collect(fromChunks(chunks), 8);
    assertEquals(result.length, 1);
    assertEquals(result[0].counter, 0);
    assertEquals(result[0].last, true);
    assertEquals(result[0].data, new Uint8Array(0));
  }
});

Deno.test("segmenter: works on a ReadableStream and segments stay intact after later ones", async () => {
  const data = prng(9).bytes(100);
  const stream = ReadableStream.from(cut(data.slice(), () => 7));
  const result = await collect(stream, 10);
  check(result, data, 10, "ReadableStream");
  // A segment is not overwritten when the generator moves on to the next one.
  const held: Segment[] = [];
  const snapshot: Uint8Array[] = [];
  for await (const segment of segments(fromChunks(cut(data, () => 3)), 10)) {
    held.push(segment);
    snapshot.push(segment.data.slice());
  }
  assertEquals(held.map((s) => s.data), snapshot);
  const chunks = [data.slice(0, 30)];
  const viaChunk = await collect(fromChunks(chunks), 10);
  chunks[0].fill(0);
  assertEquals(concat(viaChunk.map((s) => s.data)), data.subarray(0, 30), "copied, not aliased");
});

Deno.test("segmenter: exactly S bytes is one full last segment, not a full one plus an empty one", async () => {
  for (const chunking of [[16], [8, 8], [16, 0], [1, 15]]) {
    const data = prng(3).bytes(16);
    let offset = 0;
    const chunks = chunking.map((n) => data.subarray(offset, offset += n));
    const result = await collect(fromChunks(chunks), 16);
    assertEquals(result.map((s) => [s.counter, s.last, s.data.length]), [[0, true, 16]]);
  }
});

Deno.test("segmenter: errors of the input propagate", async () => {
  async function* failing(): AsyncGenerator<Uint8Array> {
    yield new Uint8Array(20);
    throw new Error("disk on fire");
  }
  const seen: number[] = [];
  let caught: unknown;
  try {
    for await (const segment of segments(failing(), 8)) seen.push(segment.counter);
  } catch (error) {
    caught = error;
  }
  assert(caught instanceof Error && caught.message === "disk on fire", String(caught));
  assertEquals(seen, [0, 1], "full segments before the failure are yielded, no last one");
});

Deno.test("segmenter: a source is read into each segment in place, a file included", async () => {
  const size = 4096;
  const data = prng(77).bytes(3 * size + 5);
  // Whole reads: one per segment plus the one that finds the end.
  const whole = sourceOf([data]);
  check(await collect(whole, size), data, size, "whole reads");
  assertEquals(whole.reads, 5);
  const path = await Deno.makeTempFile();
  try {
    await Deno.writeFile(path, data);
    using file = await Deno.open(path);
    check(await collect(file, size), data, size, "Deno.FsFile");
    await Deno.writeFile(path, new Uint8Array(0));
    using empty = await Deno.open(path);
    const result = await collect(empty, size);
    assertEquals(result.map((s) => [s.counter, s.last, s.data.length]), [[0, true, 0]]);
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("segmenter: a source that reads 0 ends the input; an impossible count is refused", async () => {
  const zero: ByteSource = { read: () => Promise.resolve(0) };
  const result = await collect(zero, 8);
  assertEquals(result.map((s) => [s.counter, s.last, s.data.length]), [[0, true, 0]]);
  for (const bad of [9, -1, 1.5, NaN]) {
    const liar: ByteSource = { read: () => Promise.resolve(bad) };
    await assertRejects(() => collect(liar, 8), RangeError, `input read returned ${bad}`);
  }
  const failing: ByteSource = { read: () => Promise.reject(new Error("disk read failed")) };
  await assertRejects(() => collect(failing, 8), Error, "disk read failed");
});
