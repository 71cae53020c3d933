/** The msgpack pre-check (core/net/shape.ts): what it lets through and what it stops, before any decoding. */

import { decode, encode } from "@msgpack/msgpack";
import { assertEquals, assertThrows } from "./assert.ts";
import { checkShape } from "../core/net/shape.ts";
import { prng } from "./prng.ts";

const LIMITS = { maxDepth: 8, maxValues: 10_000 };

/** A random msgpack-able value using every kind the protocol uses, at most `depth` deep. */
function randomValue(random: ReturnType<typeof prng>, depth: number): unknown {
  const kind = random.int(0, depth > 1 ? 8 : 6);
  switch (kind) {
    case 0:
      return null;
    case 1:
      return random.int(0, 2 - 1) === 0;
    case 2:
      return random.int(0, 2 ** 31 - 1) * (random.int(0, 2 - 1) ? 1 : -1) *
        (random.int(0, 2 - 1) ? 1 : 2 ** 20);
    case 3:
      return random.int(0, 1000 - 1) / 7;
    case 4:
      return random.bytes(random.int(0, 300 - 1));
    case 5:
      return "é✓ text ".repeat(random.int(0, 40 - 1));
    case 6:
      return random.int(0, 128 - 1);
    case 7:
      return Array.from({ length: random.int(0, 6 - 1) }, () => randomValue(random, depth - 1));
    default:
      return Object.fromEntries(
        Array.from(
          { length: random.int(0, 6 - 1) },
          (_, i) => [`k${i}`, randomValue(random, depth - 1)],
        ),
      );
  }
}

Deno.test("checkShape accepts every encoding of values within the limits (property)", () => {
  const random = prng(8801);
  for (let i = 0; i < 2000; i++) {
    const value = { b: randomValue(random, 7) };
    const bytes = encode(value);
    checkShape(bytes, LIMITS);
    assertEquals(decode(bytes), decode(encode(decode(bytes)))); // it is a real message
  }
});

Deno.test("checkShape: depth, count, truncation, trailing bytes, extensions, UTF-8", () => {
  const nested = (depth: number) => {
    let value: unknown = 1;
    for (let i = 1; i < depth; i++) value = [value];
    return encode({ b: value });
  };
  checkShape(nested(8), LIMITS); // 8 levels: the top-level map and 7 arrays
  assertThrows(() => checkShape(nested(9), LIMITS), Error, "nested too deeply");
  // The bomb: a million one-item arrays, refused without building anything.
  const bomb = new Uint8Array(2 ** 20).fill(0x91);
  assertThrows(() => checkShape(bomb, LIMITS), Error, "nested too deeply");
  const wide = encode({ b: Array.from({ length: 999 }, () => Array(20).fill(0)) });
  assertThrows(() => checkShape(wide, LIMITS), Error, "too many values");
  // An array16 header claiming 65535 elements in a short message.
  assertThrows(
    () => checkShape(Uint8Array.of(0x81, 0xa1, 0x62, 0xdc, 0xff, 0xff, 1), LIMITS),
    Error,
    "ends inside",
  );
  const good = encode({ t: "info", b: { x: new Uint8Array(10) } });
  for (let cut = 0; cut < good.length; cut++) {
    assertThrows(() => checkShape(good.subarray(0, cut), LIMITS));
  }
  assertThrows(() => checkShape(Uint8Array.of(...good, 0), LIMITS), Error, "bytes after");
  assertThrows(() => checkShape(encode({ d: new Date(0) }), LIMITS), Error, "not allowed");
  assertThrows(() => checkShape(Uint8Array.of(0xc1), LIMITS), Error, "not allowed");
  // Strings: invalid UTF-8 (a lone continuation byte, an overlong NUL, a lone surrogate).
  for (const bad of [[0xff], [0xc0, 0x80], [0xed, 0xa0, 0x80]]) {
    const message = Uint8Array.of(0x81, 0xa1, 0x74, 0xa0 + bad.length, ...bad);
    assertThrows(() => checkShape(message, LIMITS), Error, "UTF-8");
  }
  checkShape(Uint8Array.of(0x81, 0xa1, 0x74, 0xa2, 0xc3, 0xa9), LIMITS); // "é"
});
