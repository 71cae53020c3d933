/** ByteReader: exact-length reads over a stream of arbitrarily sized chunks. */

import { ByteReader } from "../core/byte_reader.ts";
import { assert, assertEquals, assertRejects } from "./assert.ts";
import { prng } from "./prng.ts";

/** A stream that hands out `chunks` one per pull. */
function streamOf(chunks: Uint8Array[]): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (i < chunks.length) controller.enqueue(chunks[i++]);
      else controller.close();
    },
  }, { highWaterMark: 0 });
}

/** Splits `data` at the given lengths (the rest is one more chunk). */
function split(data: Uint8Array, lengths: number[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  let offset = 0;
  for (const n of lengths) {
    out.push(data.slice(offset, offset + n));
    offset += n;
  }
  if (offset < data.length) out.push(data.slice(offset));
  return out;
}

Deno.test("byte_reader: reads span chunk boundaries exactly", async () => {
  const data = Uint8Array.from({ length: 16 }, (_, i) => i);
  const reader = new ByteReader(streamOf(split(data, [3, 5, 1, 0, 7])));
  assertEquals(await reader.read(2), data.subarray(0, 2)); // inside chunk 1
  assertEquals(await reader.read(4), data.subarray(2, 6)); // chunks 1-2
  assertEquals(await reader.read(0), new Uint8Array(0));
  assertEquals(await reader.read(8), data.subarray(6, 14)); // chunks 2-5, across an empty chunk
  assertEquals(await reader.read(2), data.subarray(14, 16)); // rest of the last chunk
  assertEquals(await reader.read(1), new Uint8Array(0));
});

Deno.test("byte_reader: randomized chunkings and read lengths reassemble the stream", async () => {
  const seed = 0xb17e;
  const rng = prng(seed);
  for (let trial = 0; trial < 60; trial++) {
    const length = rng.int(0, 3000);
    const data = rng.bytes(length);
    const cuts: number[] = [];
    for (let total = 0; total < length;) {
      const n = rng.int(0, trial % 2 ? 9 : 700);
      cuts.push(n);
      total += n;
    }
    const reader = new ByteReader(streamOf(split(data, cuts)));
    const pieces: Uint8Array[] = [];
    let offset = 0;
    const ctx = `seed=${seed} trial=${trial}`;
    while (true) {
      const want = rng.int(0, trial % 3 ? 11 : 900);
      const got = await reader.read(want);
      assertEquals(
        got.length,
        Math.min(want, length - offset),
        `read(${want}) at ${offset} ${ctx}`,
      );
      pieces.push(got);
      offset += got.length;
      if (offset === length && want > 0) break;
    }
    assertEquals(await reader.read(5), new Uint8Array(0), ctx);
    // Every piece handed out still holds its bytes after all later reads.
    let at = 0;
    for (const piece of pieces) {
      assertEquals(piece, data.subarray(at, at + piece.length), `piece at ${at} ${ctx}`);
      at += piece.length;
    }
    assertEquals(at, length, ctx);
  }
});

Deno.test("byte_reader: short read at EOF, then empty reads", async () => {
  const data = prng(1).bytes(10);
  const reader = new ByteReader(streamOf(split(data, [4, 4])));
  assertEquals(await reader.read(7), data.subarray(0, 7));
  assertEquals(await reader.read(7), data.subarray(7, 10));
  assertEquals(await reader.read(7), new Uint8Array(0));
  assertEquals(await reader.read(0), new Uint8Array(0));
  assertEquals(await reader.read(1), new Uint8Array(0));

  const empty = new ByteReader(streamOf([]));
  assertEquals(await empty.read(3), new Uint8Array(0));
  assert(await empty.atEnd());
});

Deno.test("byte_reader: atEnd is false (and consumes a byte) until the stream ends", async () => {
  const reader = new ByteReader(streamOf([new Uint8Array([1, 2]), new Uint8Array([3])]));
  assertEquals(await reader.read(1), new Uint8Array([1]));
  assertEquals(await reader.atEnd(), false); // consumes 2
  assertEquals(await reader.read(1), new Uint8Array([3]));
  assertEquals(await reader.atEnd(), true);
  assertEquals(await reader.atEnd(), true);
  // Exactly at a chunk boundary with more to come, atEnd must pull the next chunk.
  const boundary = new ByteReader(
    streamOf([new Uint8Array([1]), new Uint8Array(0), new Uint8Array([2])]),
  );
  assertEquals(await boundary.read(1), new Uint8Array([1]));
  assertEquals(await boundary.atEnd(), false);
  assertEquals(await boundary.atEnd(), true);
});

Deno.test("byte_reader: errors of the underlying stream propagate", async () => {
  let pulls = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (pulls++ === 0) controller.enqueue(new Uint8Array([9, 8, 7, 6]));
      else controller.error(new TypeError("connection reset"));
    },
  }, { highWaterMark: 0 });
  const reader = new ByteReader(stream);
  assertEquals(await reader.read(3), new Uint8Array([9, 8, 7]));
  await assertRejects(() => reader.read(2), TypeError, "connection reset");
  // The byte buffered before the failure is still handed out; reading past it fails again.
  assertEquals(await reader.read(1), new Uint8Array([6]));
  await assertRejects(() => reader.read(1), TypeError, "connection reset");
  await reader.cancel(); // never throws, even on a failed stream
  await reader.cancel();

  const failsAtOnce = new ByteReader(
    new ReadableStream<Uint8Array>({ start: (c) => c.error(new RangeError("nope")) }),
  );
  await assertRejects(() => failsAtOnce.atEnd(), RangeError, "nope");
});

Deno.test("byte_reader: cancel is safe twice, reaches the source, and ends reading", async () => {
  const reasons: unknown[] = [];
  const stream = new ReadableStream<Uint8Array>({
    pull: (controller) => controller.enqueue(new Uint8Array([1, 2, 3])),
    cancel: (reason) => {
      reasons.push(reason);
    },
  }, { highWaterMark: 0 });
  const reader = new ByteReader(stream);
  assertEquals(await reader.read(2), new Uint8Array([1, 2]));
  await reader.cancel("stop");
  await reader.cancel("again");
  assertEquals(reasons, ["stop"]);
  assertEquals(await reader.read(4), new Uint8Array(0), "no bytes after cancel");
  assert(await reader.atEnd());

  // Cancelling a stream that already ended is fine too.
  const ended = new ByteReader(streamOf([new Uint8Array([5])]));
  assertEquals(await ended.read(9), new Uint8Array([5]));
  await ended.cancel();
  await ended.cancel();
  assertEquals(await ended.read(1), new Uint8Array(0));
});
