/**
 * Freeing buffers early (core/memory.ts `release`): what it frees and what it
 * leaves alone, and the ownership it relies on: every chunk of seal's share
 * streams and of open's plaintext is the reader's own, so a reader that frees
 * each chunk once it is done with it (as put does once a server acknowledged
 * it, and get once it wrote it) leaves the object whole.
 */

import { open, seal, type SealOptions } from "../mod.ts";
import { concat } from "../core/bytes.ts";
import { release } from "../core/memory.ts";
import { assert, assertEquals } from "./assert.ts";
import { openAll, sameBytes } from "./objects.ts";
import { prng } from "./prng.ts";

Deno.test("release detaches buffers the caller owns, and leaves shared or freed ones alone", () => {
  const owned = new Uint8Array(1024).fill(7);
  const otherView = new Uint8Array(owned.buffer, 512, 16);
  release(owned.subarray(10, 20), undefined);
  assert(owned.buffer.detached, "the buffer was not detached");
  assertEquals(owned.length, 0);
  assertEquals(otherView.length, 0, "every view of the buffer reads as empty");
  release(owned); // already detached: nothing happens, nothing throws

  const shared = new Uint8Array(new SharedArrayBuffer(64)).fill(1);
  release(shared);
  assertEquals(shared.length, 64);
  assertEquals(shared[63], 1);
});

Deno.test("seal's share chunks and open's plaintext chunks are the reader's own: freeing each as it is read leaves the object whole", async () => {
  const segmentSize = 65536;
  for (const workers of [0, 2]) {
    const options: SealOptions = {
      tag: "/t/release",
      password: "p",
      k: 2,
      n: 3,
      logN: 10,
      segmentSize,
      workers,
    };
    const data = prng(4100 + workers).bytes(6 * segmentSize + 123);
    const sealed = await seal(ReadableStream.from([data]), options);
    const seen = new Set<ArrayBufferLike>();
    const copies = await Promise.all(sealed.shares.map(async (stream) => {
      const kept: Uint8Array[] = [];
      for await (const chunk of stream) {
        assert(!seen.has(chunk.buffer), "two chunks share a buffer");
        seen.add(chunk.buffer);
        kept.push(chunk.slice());
        release(chunk);
      }
      return kept;
    }));
    // The manifest is written after the last segment, from the key shares sent first.
    const { headerBytes, manifest } = await sealed.done;
    const { plaintext } = await openAll(
      copies.map((chunks, i) => ({
        index: i + 1,
        header: headerBytes,
        manifest,
        shares: ReadableStream.from(chunks),
      })),
      { tag: options.tag, password: options.password },
    );
    assert(sameBytes(plaintext, data), `workers ${workers}: the object did not open whole`);

    // Opening from the data shares (1, 2) and from a parity one (1, 3), freeing each chunk read.
    for (const indices of [[1, 2], [1, 3]]) {
      const opened = await open(
        indices.map((index) => ({
          index,
          header: headerBytes,
          manifest,
          shares: ReadableStream.from(copies[index - 1]),
        })),
        { tag: options.tag, password: options.password, workers },
      );
      const read: Uint8Array[] = [];
      const buffers = new Set<ArrayBufferLike>();
      for await (const chunk of opened.plaintext) {
        assert(!buffers.has(chunk.buffer), "two plaintext chunks share a buffer");
        buffers.add(chunk.buffer);
        read.push(chunk.slice());
        release(chunk);
      }
      const whole = concat(...read);
      assert(sameBytes(whole, data), `workers ${workers}, shares ${indices}: not opened whole`);
    }
  }
});
