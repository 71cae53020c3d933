/**
 * uploadChunks: a share stream's frames joined into put-data chunks. The
 * chunks carry exactly the stream's bytes in order; each holds at least the
 * target unless it is the last or the next frame would pass the maximum; none
 * passes the maximum unless it is one frame alone; joined frames are released.
 */

import { assert, assertEquals } from "./assert.ts";
import { prng } from "./prng.ts";
import { concat } from "../core/bytes.ts";
import {
  UPLOAD_CHUNK_MAX,
  UPLOAD_CHUNK_TARGET,
  uploadChunks,
} from "../core/client/upload_chunks.ts";
import { MAX_UPLOAD_CHUNK } from "../server/protocol.ts";

/** The chunks `uploadChunks` yields for frames of `sizes` bytes (random content), and the frames. */
async function chunk(sizes: number[], seed: number) {
  const random = prng(seed);
  const frames = sizes.map((size) => random.bytes(size));
  const expected = concat(...frames);
  const stream = ReadableStream.from(frames);
  const chunks: Uint8Array[] = [];
  for await (const piece of uploadChunks(stream.getReader())) chunks.push(piece);
  return { frames, expected, chunks };
}

Deno.test("uploadChunks: the limit is the server's put-data limit", () => {
  assertEquals(UPLOAD_CHUNK_MAX, MAX_UPLOAD_CHUNK);
  assert(UPLOAD_CHUNK_TARGET < UPLOAD_CHUNK_MAX);
});

Deno.test("uploadChunks: frames of a k = 3 seal go two to a chunk; the last alone", async () => {
  const frame = Math.ceil(2 ** 20 / 3) + 64;
  const { chunks, expected } = await chunk([frame, frame, frame, frame, frame], 1);
  assertEquals(chunks.map((c) => c.length), [2 * frame, 2 * frame, frame]);
  assertEquals(concat(...chunks), expected);
});

Deno.test("uploadChunks: random frame sizes (property): same bytes in order, sizes within the bounds, joined frames released", async () => {
  for (let seed = 1; seed <= 200; seed++) {
    const random = prng(seed);
    const big = random.int(0, 3) === 0;
    const sizes = Array.from(
      { length: random.int(0, 12) },
      () => random.int(1, big ? UPLOAD_CHUNK_MAX + 4096 : 400 * 1024),
    );
    const { frames, expected, chunks } = await chunk(sizes, seed);
    const where = `seed ${seed}, frames ${sizes.join(",")}`;
    assertEquals(concat(...chunks), expected, where);
    // Which frames each chunk holds: chunks join consecutive frames, so walk the sizes.
    let next = 0;
    for (const [i, piece] of chunks.entries()) {
      const first = next;
      let bytes = 0;
      while (bytes < piece.length) bytes += sizes[next++];
      assertEquals(bytes, piece.length, `${where}: chunk ${i} cuts a frame`);
      const count = next - first;
      if (count === 1) {
        assert(piece === frames[first], `${where}: frame ${first} alone is passed on as it is`);
      } else {
        assert(piece.length <= UPLOAD_CHUNK_MAX, `${where}: chunk ${i} too big`);
        for (let j = first; j < next; j++) {
          assertEquals(frames[j].length, 0, `${where}: joined frame ${j} not released`);
        }
      }
      const last = next === sizes.length;
      assert(
        last || piece.length >= UPLOAD_CHUNK_TARGET ||
          piece.length + sizes[next] > UPLOAD_CHUNK_MAX,
        `${where}: chunk ${i} of ${piece.length} bytes is short`,
      );
      // Nor could it have stopped earlier: it was short of the target before its last frame.
      assert(
        piece.length - sizes[next - 1] < UPLOAD_CHUNK_TARGET,
        `${where}: chunk ${i} kept joining past the target`,
      );
    }
    assertEquals(next, sizes.length, where);
  }
});
