/** The public object header: round trips, strict decoding, and segment arithmetic. */

import {
  decodeHeader,
  encodeHeader,
  FORMAT_VERSION,
  HEADER_MAGIC,
  MAX_PLAINTEXT_SIZE,
  type ObjectHeader,
  segmentCount,
  segmentLength,
} from "../core/header.ts";
import { FormatError } from "../core/errors.ts";
import { assertEquals, assertThrows } from "./assert.ts";
import { prng } from "./prng.ts";

const FIXED = 88;
const OFFSET = { version: 4, kdf: 5, logN: 6, r: 7, p: 8, k: 57, n: 58, seg: 59, flags: 60 };
const OFFSET_CREATED = 61, OFFSET_SIZE = 69, OFFSET_TAG_LENGTH = 77, OFFSET_VERSION = 79;

function sample(seed: number, over: Partial<ObjectHeader> = {}): ObjectHeader {
  const rng = prng(seed);
  return {
    kdf: { logN: 10, r: 8, p: 1, salt: rng.bytes(32) },
    objectId: rng.bytes(16),
    k: 2,
    n: 3,
    segmentSize: 2 ** 16,
    created: 1_700_000_000_123,
    size: 12345,
    tag: "/notes/today",
    version: 7,
    ...over,
  };
}

/** A valid encoding with one modification applied. */
function mutated(edit: (bytes: Uint8Array, view: DataView) => void, tag = "tag"): Uint8Array {
  const bytes = encodeHeader(sample(1, { tag }));
  edit(bytes, new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  return bytes;
}

function withTagBytes(tagBytes: Uint8Array): Uint8Array {
  const base = encodeHeader(sample(2, { tag: "x" }));
  const out = new Uint8Array(FIXED + tagBytes.length);
  out.set(base.subarray(0, FIXED));
  out.set(tagBytes, FIXED);
  new DataView(out.buffer).setUint16(OFFSET_TAG_LENGTH, tagBytes.length);
  return out;
}

Deno.test("header: round trip with varied fields", () => {
  const seed = 0x4ead;
  const rng = prng(seed);
  const tags = ["a", "/x/../y", "🔐 秘密", "t".repeat(4096), "🔐".repeat(1024)];
  for (let trial = 0; trial < 200; trial++) {
    const n = rng.int(1, 255);
    const header = sample(seed + trial, {
      kdf: { logN: rng.int(10, 30), r: 8, p: 1, salt: rng.bytes(32) },
      k: rng.int(1, n),
      n,
      segmentSize: 2 ** rng.int(16, 20),
      created: [
        0,
        1,
        MAX_PLAINTEXT_SIZE,
        rng.int(0, 2 ** 32 - 1) * 2 ** 20 + rng.int(0, 2 ** 20),
      ][trial % 4],
      size: [0, 1, MAX_PLAINTEXT_SIZE, 2 ** 32, 2 ** 32 - 1, rng.int(0, 2 ** 31)][trial % 6],
      tag: tags[trial % tags.length],
    });
    const bytes = encodeHeader(header);
    const ctx = `seed=${seed} trial=${trial}`;
    assertEquals(bytes.length, FIXED + new TextEncoder().encode(header.tag).length, ctx);
    assertEquals(decodeHeader(bytes), header, ctx);
    // Decoding from a view at an odd offset of a larger buffer gives the same header.
    const shifted = new Uint8Array(bytes.length + 3);
    shifted.set(bytes, 1);
    assertEquals(decodeHeader(shifted.subarray(1, 1 + bytes.length)), header, `offset view ${ctx}`);
  }
});

Deno.test("header: encodeHeader refuses bad salt, object id and tag", () => {
  const base = sample(6);
  assertThrows(
    () => encodeHeader({ ...base, kdf: { ...base.kdf, salt: new Uint8Array(31) } }),
    RangeError,
    "salt",
  );
  assertThrows(
    () => encodeHeader({ ...base, objectId: new Uint8Array(17) }),
    RangeError,
    "object id",
  );
  assertThrows(() => encodeHeader({ ...base, tag: "" }), Error, "tag is empty");
  assertThrows(() => encodeHeader({ ...base, tag: "a\nb" }), Error, "control character");
  assertThrows(() => encodeHeader({ ...base, k: 4, n: 3 }), FormatError, "invalid k=4 n=3");
  assertThrows(
    () => encodeHeader({ ...base, kdf: { ...base.kdf, logN: 9 } }),
    FormatError,
    "logN 9",
  );
  assertThrows(() => encodeHeader({ ...base, segmentSize: 2 ** 15 }), FormatError, "segment size");
});

Deno.test("header: byte layout of the fixed part", () => {
  const header = sample(3, {
    k: 5,
    n: 9,
    segmentSize: 2 ** 18,
    created: 2 ** 40 + 7,
    size: 2 ** 33 + 1,
  });
  const bytes = encodeHeader(header);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  assertEquals(bytes.subarray(0, 4), new TextEncoder().encode("SSNH"));
  assertEquals(HEADER_MAGIC, new TextEncoder().encode("SSNH"));
  assertEquals([bytes[4], bytes[5], bytes[6], bytes[7], bytes[8]], [FORMAT_VERSION, 1, 10, 8, 1]);
  assertEquals(bytes.subarray(9, 41), header.kdf.salt);
  assertEquals(bytes.subarray(41, 57), header.objectId);
  assertEquals([bytes[57], bytes[58], bytes[59], bytes[60]], [5, 9, 18, 0]);
  assertEquals([view.getUint32(OFFSET_CREATED), view.getUint32(OFFSET_CREATED + 4)], [2 ** 8, 7]);
  assertEquals([view.getUint32(OFFSET_SIZE), view.getUint32(OFFSET_SIZE + 4)], [2, 1]);
  assertEquals(view.getUint16(OFFSET_TAG_LENGTH), 12);
  assertEquals(view.getUint32(OFFSET_VERSION), 7);
  assertEquals(bytes.subarray(83, 88), new Uint8Array(5));
  assertEquals(new TextDecoder().decode(bytes.subarray(88)), "/notes/today");
});

Deno.test("header: every truncation and an extra byte are refused", () => {
  const bytes = encodeHeader(sample(4, { tag: "秘密/tag" }));
  for (let length = 0; length < bytes.length; length++) {
    assertThrows(() => decodeHeader(bytes.subarray(0, length)), FormatError, undefined);
  }
  assertThrows(() => decodeHeader(bytes.subarray(0, FIXED - 1)), FormatError, "too short");
  assertThrows(() => decodeHeader(bytes.subarray(0, FIXED + 1)), FormatError, "length mismatch");
  for (const extra of [0, 1, 0x41]) {
    const longer = new Uint8Array(bytes.length + 1);
    longer.set(bytes);
    longer[bytes.length] = extra;
    assertThrows(() => decodeHeader(longer), FormatError, "length mismatch");
  }
});

Deno.test("header: bad magic, version and KDF are refused", () => {
  for (let i = 0; i < 4; i++) {
    assertThrows(
      () => decodeHeader(mutated((b) => b[i] ^= 0x20)),
      FormatError,
      "not a secshrnet header",
    );
  }
  for (const version of [0, 3, 255]) {
    assertThrows(
      () => decodeHeader(mutated((b) => b[OFFSET.version] = version)),
      FormatError,
      `unsupported format version ${version}`,
    );
  }
  for (const kdf of [0, 2, 255]) {
    assertThrows(
      () => decodeHeader(mutated((b) => b[OFFSET.kdf] = kdf)),
      FormatError,
      `unknown KDF ${kdf}`,
    );
  }
});

Deno.test("header: out-of-range scrypt, k/n and segment size fields are refused", () => {
  const cases: [string, (b: Uint8Array) => void, string][] = [
    ["logN 9", (b) => b[OFFSET.logN] = 9, "logN 9"],
    ["logN 31", (b) => b[OFFSET.logN] = 31, "logN 31"],
    ["logN 0", (b) => b[OFFSET.logN] = 0, "logN 0"],
    ["logN 255", (b) => b[OFFSET.logN] = 255, "logN 255"],
    ["r 7", (b) => b[OFFSET.r] = 7, "r or p"],
    ["r 9", (b) => b[OFFSET.r] = 9, "r or p"],
    ["r 0", (b) => b[OFFSET.r] = 0, "r or p"],
    ["p 0", (b) => b[OFFSET.p] = 0, "r or p"],
    ["p 2", (b) => b[OFFSET.p] = 2, "r or p"],
    ["k 0", (b) => b[OFFSET.k] = 0, "invalid k=0"],
    ["n < k", (b) => (b[OFFSET.k] = 3, b[OFFSET.n] = 2), "invalid k=3 n=2"],
    ["n 0", (b) => (b[OFFSET.k] = 1, b[OFFSET.n] = 0), "invalid k=1 n=0"],
    ["k 255 n 254", (b) => (b[OFFSET.k] = 255, b[OFFSET.n] = 254), "invalid k=255"],
    ["segment 2^15", (b) => b[OFFSET.seg] = 15, "segment size 32768"],
    ["segment 2^21", (b) => b[OFFSET.seg] = 21, "segment size 2097152"],
    ["segment 2^0", (b) => b[OFFSET.seg] = 0, "segment size"],
    ["segment 2^255", (b) => b[OFFSET.seg] = 255, "segment size"],
  ];
  for (const [name, edit, message] of cases) {
    try {
      assertThrows(() => decodeHeader(mutated(edit)), FormatError, message);
    } catch (error) {
      throw new Error(`${name}: ${(error as Error).message}`);
    }
  }
  // The limits themselves are accepted.
  for (const [offset, value] of [[6, 10], [6, 30], [59, 16], [59, 20], [57, 255], [58, 255]]) {
    const bytes = mutated((b) => {
      b[offset] = value;
      if (offset === 57) b[58] = 255;
    });
    assertEquals(decodeHeader(bytes).tag, "tag", `offset ${offset} = ${value}`);
  }
});

Deno.test("header: any reserved bit set is refused", () => {
  const reserved = [OFFSET.flags, 83, 84, 85, 86, 87];
  for (const offset of reserved) {
    for (const bit of [0x01, 0x80]) {
      assertThrows(() => decodeHeader(mutated((b) => b[offset] = bit)), FormatError, "reserved");
    }
  }
});

Deno.test("header: the tag version is a u32 at 79, at least 1 in format 2", () => {
  for (const version of [1, 2, 255, 256, 65536, 2 ** 32 - 1]) {
    const bytes = encodeHeader(sample(9, { version }));
    assertEquals(new DataView(bytes.buffer).getUint32(OFFSET_VERSION), version);
    assertEquals(decodeHeader(bytes).version, version);
  }
  for (const version of [-1, 2 ** 32, 1.5]) {
    assertThrows(() => encodeHeader(sample(9, { version })), RangeError, "version");
  }
  assertThrows(
    () => decodeHeader(mutated((_, view) => view.setUint32(OFFSET_VERSION, 0))),
    FormatError,
    "tag version 0",
  );
});

Deno.test("header: format 1 (no version, bytes 79..87 reserved) is still read, as version 0", () => {
  const v1 = mutated((b, view) => {
    b[OFFSET.version] = 1;
    view.setUint32(OFFSET_VERSION, 0);
  });
  const header = decodeHeader(v1);
  assertEquals([header.version, header.tag], [0, "tag"]);
  for (const offset of [79, 80, 81, 82, 83, 87]) {
    const edited = v1.slice();
    edited[offset] = 1;
    assertThrows(() => decodeHeader(edited), FormatError, "reserved");
  }
});

Deno.test("header: tag length mismatch, bad UTF-8 and bad tags are refused", () => {
  for (const delta of [-1, 1, -3, 100]) {
    const bytes = mutated((_, v) =>
      v.setUint16(OFFSET_TAG_LENGTH, v.getUint16(OFFSET_TAG_LENGTH) + delta)
    );
    assertThrows(() => decodeHeader(bytes), FormatError, "length mismatch");
  }
  assertThrows(
    () => decodeHeader(mutated((_, v) => v.setUint16(OFFSET_TAG_LENGTH, 0))),
    FormatError,
  );
  assertThrows(() => decodeHeader(withTagBytes(new Uint8Array(0))), FormatError, "tag is empty");
  const invalidUtf8 = [
    [0xff],
    [0x61, 0x80],
    [0xc3, 0x28],
    [0xc0, 0xaf], // overlong "/"
    [0xed, 0xa0, 0x80], // encoded surrogate
    [0xe7, 0xa7], // truncated 3-byte sequence
    [0xf4, 0x90, 0x80, 0x80], // above U+10FFFF
  ];
  for (const tag of invalidUtf8) {
    assertThrows(() => decodeHeader(withTagBytes(new Uint8Array(tag))), FormatError, "not UTF-8");
  }
  for (const tag of ["a\nb", "\u0000", "x\u001b", "nel\u0085"]) {
    const bytes = withTagBytes(new TextEncoder().encode(tag));
    assertThrows(() => decodeHeader(bytes), FormatError, "control character");
  }
  assertThrows(
    () => decodeHeader(withTagBytes(new Uint8Array(4097).fill(0x61))),
    FormatError,
    "limit",
  );
  assertEquals(decodeHeader(withTagBytes(new Uint8Array(4096).fill(0x61))).tag, "a".repeat(4096));
});

Deno.test("header: sizes and creation times of 2^53 or more are refused", () => {
  for (const offset of [OFFSET_SIZE, OFFSET_CREATED]) {
    for (const high of [2 ** 21, 2 ** 21 + 1, 0xffffffff, 0x80000000]) {
      const bytes = mutated((_, v) => v.setUint32(offset, high));
      assertThrows(() => decodeHeader(bytes), FormatError, "out of range");
    }
    const max = mutated((
      _,
      v,
    ) => (v.setUint32(offset, 2 ** 21 - 1), v.setUint32(offset + 4, 0xffffffff)));
    const decoded = decodeHeader(max);
    assertEquals(offset === OFFSET_SIZE ? decoded.size : decoded.created, MAX_PLAINTEXT_SIZE);
  }
  assertEquals(MAX_PLAINTEXT_SIZE, 2 ** 53 - 1);
});

Deno.test("header: segmentCount and segmentLength", () => {
  for (const segmentSize of [2 ** 16, 2 ** 20]) {
    const S = segmentSize;
    const cases: [number, number[]][] = [
      [0, [0]],
      [1, [1]],
      [S - 1, [S - 1]],
      [S, [S]],
      [S + 1, [S, 1]],
      [3 * S, [S, S, S]],
      [3 * S + 7, [S, S, S, 7]],
    ];
    for (const [size, lengths] of cases) {
      const header = { size, segmentSize };
      assertEquals(segmentCount(header), lengths.length, `size=${size} S=${S}`);
      assertEquals(lengths.map((_, i) => segmentLength(header, i)), lengths, `size=${size} S=${S}`);
    }
  }
  const big = { size: MAX_PLAINTEXT_SIZE, segmentSize: 2 ** 20 };
  assertEquals(segmentCount(big), 2 ** 33);
  assertEquals(segmentLength(big, 2 ** 33 - 1), 2 ** 20 - 1);
});

Deno.test("header: a tag starting with U+FEFF survives the round trip", () => {
  const header = sample(5, { tag: "\ufeffreport" });
  assertEquals(decodeHeader(encodeHeader(header)).tag, "\ufeffreport");
});

Deno.test("header: encodeHeader refuses fields that do not fit instead of wrapping them", () => {
  const cases: [Record<string, unknown>, string][] = [
    [{ segmentSize: 100000 }, "segment size"],
    [{ k: 257, n: 258 }, "k"],
    [{ created: 1.5 }, "created"],
    [{ created: -1 }, "created"],
    [{ size: -5 }, "size"],
    [{ created: 2 ** 53 }, "created"],
  ];
  for (const [change, field] of cases) {
    assertThrows(() => encodeHeader({ ...sample(6), ...change }), RangeError, field);
  }
  assertThrows(
    () => encodeHeader({ ...sample(7), kdf: { ...sample(7).kdf, logN: 266 } }),
    RangeError,
    "logN",
  );
});
