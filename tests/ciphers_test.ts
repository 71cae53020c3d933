/**
 * The three authenticated layers: ChaCha20-Poly1305 STREAM segments (stream.ts),
 * AES-256-GCM share segments (share_cipher.ts) and HMAC-framed fragments (fragment.ts).
 */

import { chacha20poly1305 } from "@noble/ciphers/chacha.js";
import { openSegment, sealSegment, segmentNonce, TAG_LENGTH } from "../core/stream.ts";
import { importShareKey, openShareSegment, sealShareSegment } from "../core/share_cipher.ts";
import { FRAGMENT_TAG_LENGTH, frameFragment, unframeFragment } from "../core/fragment.ts";
import { assert, assertEquals, assertThrows } from "./assert.ts";
import { prng } from "./prng.ts";
import { referenceFrameTag } from "./references.ts";

function hex(text: string): Uint8Array {
  if (!/^([0-9a-f]{2})*$/.test(text)) throw new Error(`bad hex literal ${text}`);
  return Uint8Array.from(text.match(/../g) ?? [], (h) => parseInt(h, 16));
}
const flip = (bytes: Uint8Array, i: number, bit = 1) => {
  const copy = bytes.slice();
  copy[i] ^= bit;
  return copy;
};

/** The nonce from its definition: 11-byte big-endian counter, then the last flag. */
function referenceNonce(counter: number, last: boolean): Uint8Array {
  const nonce = new Uint8Array(12);
  let value = BigInt(counter);
  for (let i = 10; i >= 0; i--, value >>= 8n) nonce[i] = Number(value & 0xffn);
  nonce[11] = last ? 1 : 0;
  return nonce;
}

async function hmacKey(bytes: Uint8Array): Promise<CryptoKey> {
  return await crypto.subtle.importKey(
    "raw",
    bytes as Uint8Array<ArrayBuffer>,
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign", "verify"],
  );
}

// ---- stream.ts -------------------------------------------------------------

Deno.test("stream: segmentNonce is an 11-byte big-endian counter then the last flag", () => {
  assertEquals(segmentNonce(0, false), new Uint8Array(12));
  assertEquals(segmentNonce(0, true), hex("000000000000000000000001"));
  assertEquals(segmentNonce(1, false), hex("000000000000000000000100"));
  assertEquals(segmentNonce(0x0102030405, true), hex("000000000000010203040501"));
  assertEquals(segmentNonce(2 ** 32, false), hex("000000000000010000000000"));
  assertEquals(segmentNonce(2 ** 32 - 1, false), hex("00000000000000ffffffff00"));
  assertEquals(segmentNonce(2 ** 53 - 1, true), hex("000000001fffffffffffff01"));
  const seed = 0x6e;
  const rng = prng(seed);
  for (let trial = 0; trial < 500; trial++) {
    const counter = rng.int(0, 2 ** 21 - 1) * 2 ** 32 + rng.next();
    const last = trial % 2 === 0;
    assertEquals(
      segmentNonce(counter, last),
      referenceNonce(counter, last),
      `seed=${seed} counter=${counter}`,
    );
  }
  for (const bad of [-1, 1.5, 2 ** 53, NaN, Infinity]) {
    assertThrows(() => segmentNonce(bad, false), RangeError, "bad segment counter");
  }
});

Deno.test("stream: sealSegment/openSegment round trip is ChaCha20-Poly1305 under segmentNonce", () => {
  const seed = 0xc4a;
  const rng = prng(seed);
  const key = rng.bytes(32);
  assertEquals(TAG_LENGTH, 16);
  for (
    const [length, counter, last] of [[0, 0, true], [1, 0, false], [64, 7, false], [
      65536,
      2 ** 40 + 3,
      true,
    ]] as const
  ) {
    const plaintext = rng.bytes(length);
    const sealed = sealSegment(key, counter, last, plaintext);
    assertEquals(sealed.length, length + TAG_LENGTH);
    const direct = chacha20poly1305(key, referenceNonce(counter, last)).encrypt(plaintext);
    assertEquals(sealed, direct, `seed=${seed} length=${length}`);
    assertEquals(openSegment(key, counter, last, sealed), plaintext);
  }
});

Deno.test("stream: wrong counter, last flag, key, or any flipped byte fails to open", () => {
  const seed = 0xbad;
  const rng = prng(seed);
  const key = rng.bytes(32);
  const plaintext = rng.bytes(40);
  const sealed = sealSegment(key, 5, false, plaintext);
  assertEquals(openSegment(key, 5, false, sealed), plaintext);
  assertEquals(openSegment(key, 4, false, sealed), undefined);
  assertEquals(openSegment(key, 6, false, sealed), undefined);
  assertEquals(openSegment(key, 5 + 2 ** 32, false, sealed), undefined);
  assertEquals(openSegment(key, 5, true, sealed), undefined);
  assertEquals(openSegment(flip(key, 31), 5, false, sealed), undefined);
  assertEquals(openSegment(rng.bytes(32), 5, false, sealed), undefined);
  for (let i = 0; i < sealed.length; i++) {
    for (const bit of [0x01, 0x80]) {
      assertEquals(
        openSegment(key, 5, false, flip(sealed, i, bit)),
        undefined,
        `byte ${i} bit ${bit}`,
      );
    }
  }
  assertEquals(openSegment(key, 5, false, sealed.subarray(0, sealed.length - 1)), undefined);
  assertEquals(openSegment(key, 5, false, sealed.subarray(0, 15)), undefined);
  assertEquals(openSegment(key, 5, false, new Uint8Array(0)), undefined);
  const longer = new Uint8Array(sealed.length + 1);
  longer.set(sealed);
  assertEquals(openSegment(key, 5, false, longer), undefined);
  // An empty last segment authenticates too, and only as the last one.
  const empty = sealSegment(key, 0, true, new Uint8Array(0));
  assertEquals(openSegment(key, 0, true, empty), new Uint8Array(0));
  assertEquals(openSegment(key, 0, false, empty), undefined);
});

Deno.test("stream: ChaCha20-Poly1305 known answer, RFC 8439 section 2.8.2", () => {
  const key = Uint8Array.from({ length: 32 }, (_, i) => 0x80 + i);
  const nonce = hex("070000004041424344454647");
  const aad = hex("50515253c0c1c2c3c4c5c6c7");
  const plaintext = new TextEncoder().encode(
    "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.",
  );
  assertEquals(plaintext.length, 114);
  const ciphertext = hex(
    "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6" +
      "3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36" +
      "92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc" +
      "3ff4def08e4b7a9de576d26586cec64b6116",
  );
  const tag = hex("1ae10b594f09e26a7e902ecbd0600691");
  const sealed = chacha20poly1305(key, nonce, aad).encrypt(plaintext);
  assertEquals(sealed.subarray(0, 114), ciphertext);
  assertEquals(sealed.subarray(114), tag);
  assertEquals(chacha20poly1305(key, nonce, aad).decrypt(sealed), plaintext);
});

// ---- share_cipher.ts -------------------------------------------------------

Deno.test("share_cipher: AES-GCM round trip, and tampering of any kind fails", async () => {
  const seed = 0xae5;
  const rng = prng(seed);
  const shareKey = rng.bytes(32);
  const key = await importShareKey(shareKey);
  const objectId = rng.bytes(16);
  for (const length of [0, 1, 100, 70000]) {
    const data = rng.bytes(length);
    const sealed = await sealShareSegment(key, objectId, 3, length === 0, data);
    assertEquals(sealed.length, length + 16);
    // It is AES-256-GCM with the segment nonce and the object id as associated data.
    const direct = new Uint8Array(
      await crypto.subtle.encrypt(
        {
          name: "AES-GCM",
          iv: segmentNonce(3, length === 0),
          additionalData: objectId as Uint8Array<ArrayBuffer>,
        },
        key,
        data as Uint8Array<ArrayBuffer>,
      ),
    );
    assertEquals(sealed, direct, `seed=${seed} length=${length}`);
    assertEquals(await openShareSegment(key, objectId, 3, length === 0, sealed), data);
  }
  const data = rng.bytes(33);
  const sealed = await sealShareSegment(key, objectId, 9, false, data);
  const open = (k = key, id = objectId, counter = 9, last = false, bytes = sealed) =>
    openShareSegment(k, id, counter, last, bytes);
  assertEquals(await open(), data);
  // A view at an odd offset of a larger buffer opens as well.
  const padded = new Uint8Array(sealed.length + 5);
  padded.set(sealed, 3);
  assertEquals(await open(key, objectId, 9, false, padded.subarray(3, 3 + sealed.length)), data);
  assertEquals(await open(key, flip(objectId, 0)), undefined, "other object id");
  assertEquals(await open(key, objectId.subarray(0, 15)), undefined, "short object id");
  assertEquals(await open(key, objectId, 8), undefined, "other counter");
  assertEquals(await open(key, objectId, 9, true), undefined, "other last flag");
  assertEquals(await open(await importShareKey(flip(shareKey, 0))), undefined, "other key");
  for (let i = 0; i < sealed.length; i++) {
    assertEquals(
      await open(key, objectId, 9, false, flip(sealed, i)),
      undefined,
      `flipped byte ${i}`,
    );
  }
  assertEquals(await open(key, objectId, 9, false, sealed.subarray(0, 16)), undefined, "truncated");
  assertEquals(await open(key, objectId, 9, false, new Uint8Array(3)), undefined, "too short");
});

// ---- fragment.ts -----------------------------------------------------------

Deno.test("fragment: frame is fragment || HMAC-SHA-256(i u8, segment u64, last u8, fragment)", async () => {
  const seed = 0xf4a;
  const rng = prng(seed);
  const rawKey = rng.bytes(32);
  const key = await hmacKey(rawKey);
  assertEquals(FRAGMENT_TAG_LENGTH, 32);
  for (
    const [index, segment, last, length] of [[1, 0, true, 0], [2, 1, false, 4], [
      255,
      2 ** 53 - 1,
      true,
      1000,
    ], [
      7,
      2 ** 32 + 1,
      false,
      12,
    ]] as const
  ) {
    const fragment = rng.bytes(length);
    const frame = await frameFragment(key, index, segment, last, fragment.subarray(0));
    const ctx = `seed=${seed} index=${index} segment=${segment}`;
    assertEquals(frame.length, length + 32, ctx);
    assertEquals(frame.subarray(0, length), fragment, ctx);
    const tag = await referenceFrameTag(key, index, segment, last, fragment);
    assertEquals(frame.subarray(length), tag, `tag ${ctx}`);
    const opened = await unframeFragment(key, index, segment, last, frame);
    assertEquals(opened, fragment, ctx);
    assert(
      opened !== undefined && opened.byteOffset % 4 === 0,
      `fragment not 4-byte aligned ${ctx}`,
    );
  }
});

Deno.test("fragment: the tag fails for another index, segment, last flag, key, or any flipped byte", async () => {
  const seed = 0xf4b;
  const rng = prng(seed);
  const key = await hmacKey(rng.bytes(32));
  const fragment = rng.bytes(24);
  const frame = await frameFragment(key, 3, 10, false, fragment);
  const unframe = (k = key, index = 3, segment = 10, last = false, bytes = frame) =>
    unframeFragment(k, index, segment, last, bytes);
  assertEquals(await unframe(), fragment);
  for (const index of [0, 1, 2, 4, 255]) {
    assertEquals(await unframe(key, index), undefined, `index ${index}`);
  }
  for (const segment of [0, 9, 11, 10 + 2 ** 32, 2 ** 53 - 1]) {
    assertEquals(await unframe(key, 3, segment), undefined, `segment ${segment}`);
  }
  assertEquals(await unframe(key, 3, 10, true), undefined, "last flag");
  assertEquals(await unframe(await hmacKey(rng.bytes(32))), undefined, "other key");
  for (let i = 0; i < frame.length; i++) {
    for (const bit of [0x01, 0x80]) {
      assertEquals(
        await unframe(key, 3, 10, false, flip(frame, i, bit)),
        undefined,
        `byte ${i} bit ${bit}`,
      );
    }
  }
  assertEquals(
    await unframe(key, 3, 10, false, frame.subarray(1)),
    undefined,
    "dropped first byte",
  );
  assertEquals(
    await unframe(key, 3, 10, false, frame.subarray(0, frame.length - 1)),
    undefined,
    "truncated",
  );
  assertEquals(
    await unframe(key, 3, 10, false, frame.subarray(0, 31)),
    undefined,
    "shorter than a tag",
  );
  assertEquals(await unframe(key, 3, 10, false, new Uint8Array(0)), undefined, "empty");
  const longer = new Uint8Array(frame.length + 1);
  longer.set(frame);
  assertEquals(await unframe(key, 3, 10, false, longer), undefined, "appended byte");
  // A frame of an empty fragment is just the tag, and still bound to its position.
  const emptyFrame = await frameFragment(key, 1, 0, true, new Uint8Array(0));
  assertEquals(await unframeFragment(key, 1, 0, true, emptyFrame), new Uint8Array(0));
  assertEquals(await unframeFragment(key, 1, 0, false, emptyFrame), undefined);
  assertEquals(await unframeFragment(key, 2, 0, true, emptyFrame), undefined);
});
