/**
 * Sealing writes each fragment straight into the frame it is sent in
 * (`ErasureCoder.encodeInto`, `tagFrameSlot`) instead of coding into one
 * buffer and copying every fragment into a frame of its own. These check the
 * short cut against the long way round, which is what the format defines:
 * `encode`, then `frameFragment` of each fragment.
 */

import { ErasureCoder, fragmentLength } from "../core/erasure.ts";
import { FRAGMENT_TAG_LENGTH, frameFragment, tagFrameSlot } from "../core/fragment.ts";
import { sealSegmentFrames } from "../core/segment_crypto.ts";
import { sealShareSegment } from "../core/share_cipher.ts";
import { sealSegment } from "../core/stream.ts";
import { assert, assertEquals, assertThrows } from "./assert.ts";
import { prng } from "./prng.ts";
import { referenceFrameTag } from "./references.ts";

async function hmacKey(raw: Uint8Array<ArrayBuffer>): Promise<CryptoKey> {
  return await crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
    "verify",
  ]);
}

Deno.test("erasure: encodeInto writes the same fragments as encode, wherever the views lie", () => {
  for (let seed = 1; seed <= 60; seed++) {
    const rng = prng(seed);
    const n = rng.int(1, 20);
    const k = rng.int(1, n);
    const data = rng.bytes(rng.int(0, 5000));
    const coder = new ErasureCoder(k, n);
    const size = fragmentLength(data.length, k);
    // Views at aligned offsets in a buffer full of junk: encodeInto must overwrite all of each.
    const gap = 4 * rng.int(0, 8);
    const buffer = rng.bytes(n * (size + gap) + gap);
    const views = Array.from(
      { length: n },
      (_, i) => buffer.subarray(gap + i * (size + gap), gap + i * (size + gap) + size),
    );
    coder.encodeInto(data, views);
    assertEquals(views, coder.encode(data), `seed=${seed} k=${k} n=${n} length=${data.length}`);
  }
});

Deno.test("erasure: encodeInto refuses the wrong number or length of fragments", () => {
  const coder = new ErasureCoder(2, 3);
  const data = new Uint8Array(16);
  const good = () => [new Uint8Array(8), new Uint8Array(8), new Uint8Array(8)];
  assertThrows(() => coder.encodeInto(data, good().slice(0, 2)), RangeError, "expected 3");
  assertThrows(
    () => coder.encodeInto(data, [...good().slice(0, 2), new Uint8Array(12)]),
    RangeError,
    "of 8 bytes",
  );
});

Deno.test("fragment: tagFrameSlot frames in place as the format defines, like frameFragment", async () => {
  const rng = prng(0x51a7);
  const key = await hmacKey(rng.bytes(32) as Uint8Array<ArrayBuffer>);
  for (const length of [0, 1, 4, 333, 4096]) {
    const fragment = rng.bytes(length);
    const index = rng.int(1, 255);
    const segment = rng.int(0, 2 ** 32 - 1) * 1000; // beyond 32 bits too
    const last = length % 2 === 0;
    const slot = rng.bytes(10 + length + FRAGMENT_TAG_LENGTH); // junk where prefix and tag go
    slot.set(fragment, 10);
    const inPlace = await tagFrameSlot(key, index, segment, last, slot);
    // The frame by its definition (docs/FORMAT.md): fragment ‖ HMAC(index u8 ‖ segment u64 ‖ last u8 ‖ fragment).
    const tag = await referenceFrameTag(key, index, segment, last, fragment);
    assertEquals(inPlace, new Uint8Array([...fragment, ...tag]), `${length}`);
    assertEquals(inPlace, await frameFragment(key, index, segment, last, fragment), `${length}`);
    assert(inPlace.buffer === slot.buffer, "the frame is a view of the slot, not a copy");
  }
});

Deno.test("seal: a segment's frames are the fragments of encode, each framed by frameFragment", async () => {
  for (let seed = 1; seed <= 12; seed++) {
    const rng = prng(seed);
    const n = rng.int(1, 12);
    const k = rng.int(1, n);
    const keys = {
      fileKey: rng.bytes(32),
      shareKey: await crypto.subtle.importKey(
        "raw",
        rng.bytes(32) as Uint8Array<ArrayBuffer>,
        "AES-GCM",
        false,
        [
          "encrypt",
          "decrypt",
        ],
      ),
      fragmentKey: await hmacKey(rng.bytes(32) as Uint8Array<ArrayBuffer>),
      objectId: rng.bytes(16),
    };
    const coder = new ErasureCoder(k, n);
    const plaintext = rng.bytes(rng.int(0, 70_000));
    const counter = rng.int(0, 1000);
    const last = seed % 3 === 0;
    const frames = await sealSegmentFrames(keys, coder, counter, last, plaintext.slice());

    const layer1 = sealSegment(keys.fileKey, counter, last, plaintext);
    const layer2 = await sealShareSegment(keys.shareKey, keys.objectId, counter, last, layer1);
    const expected = await Promise.all(
      coder.encode(layer2).map((fragment, i) =>
        frameFragment(keys.fragmentKey, i + 1, counter, last, fragment)
      ),
    );
    const ctx = `seed=${seed} k=${k} n=${n} length=${plaintext.length}`;
    assertEquals(frames, expected, ctx);
    // One buffer per frame, so a frame can be handed on (transferred) alone.
    assertEquals(new Set(frames.map((frame) => frame.buffer)).size, n, ctx);
  }
});
