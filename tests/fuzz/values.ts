/**
 * Hostile values for message fields, already msgpack-encoded: wrong types,
 * extreme numbers, nested and huge containers, bad strings, and tags that
 * look like paths or break the tag rules.
 *
 * @module
 */

import type { Prng } from "../prng.ts";
import { concat, utf8 } from "../../core/bytes.ts";
import {
  arrayHeader,
  ext32Header,
  INVALID_UTF8,
  mapHeader,
  nested,
  packed,
  rawStr,
} from "./msgpack_raw.ts";

/** Picks one element of `items`. */
export function pick<T>(random: Prng, items: readonly T[]): T {
  return items[random.int(0, items.length - 1)];
}

/** Whether an event of probability `p` happens. */
export function chance(random: Prng, p: number): boolean {
  return random.next() / 2 ** 32 < p;
}

/** `length` printable ASCII characters. */
export function printable(random: Prng, length: number): string {
  let text = "";
  for (let i = 0; i < length; i++) text += String.fromCharCode(random.int(0x20, 0x7e));
  return text;
}

/** Lower-case hex of `bytes` random bytes. */
export function hex(random: Prng, bytes: number): string {
  return Array.from(random.bytes(bytes), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** A name for files an escaping tag would create; the tests look for it everywhere. */
export const CANARY = "zz-fuzz-canary";

/**
 * Tags a server must refuse (`bad-request`) or store under a hash, whatever
 * they look like: path-like, control characters, NUL, too long, not
 * well-formed, not strings. Encoded, since some are not valid UTF-8.
 */
export const HOSTILE_TAGS: readonly { label: string; bytes: Uint8Array }[] = [
  ...[
    "/",
    "..",
    ".",
    "./",
    "../../etc/passwd",
    `../../${CANARY}`,
    `../../../../../../tmp/${CANARY}`,
    `/tmp/${CANARY}`,
    `a/../../${CANARY}`,
    `..\\..\\${CANARY}`,
    "tags/../uploads",
    "server-key",
    "",
    "\0",
    `${CANARY}\0/etc/passwd`,
    "a\nb",
    "\r",
    "\x1b[2J",
    "\x7f",
    "\u0085",
    "\u202e" + CANARY,
    "\ud800",
    "x".repeat(4096),
    "x".repeat(4097),
    "é".repeat(2049),
    "😀".repeat(1024),
    "😀".repeat(1025),
    "/".repeat(8192),
    "x".repeat(8193),
    "x".repeat(65536),
  ].map((tag) => ({ label: JSON.stringify(tag.slice(0, 24)), bytes: packed(tag) })),
  ...INVALID_UTF8.map((bytes) => ({
    label: `invalid UTF-8 ${bytes.length}`,
    bytes: rawStr(bytes),
  })),
  { label: "str claiming 65537 bytes", bytes: concat(Uint8Array.of(0xdb, 0, 1, 0, 1), utf8("x")) },
  { label: "bytes", bytes: packed(utf8("../../etc")) },
  { label: "number", bytes: packed(4096) },
  { label: "list", bytes: packed([".."]) },
  { label: "map", bytes: packed({ tag: ".." }) },
  { label: "nil", bytes: packed(null) },
];

/** A hostile value for any field, encoded; `kind` names it for counting. */
export function hostileValue(random: Prng): { kind: string; bytes: Uint8Array } {
  const choice = random.int(0, 27);
  switch (choice) {
    case 0:
      return { kind: "string", bytes: packed(printable(random, random.int(0, 40))) };
    case 1:
      return { kind: "long string", bytes: packed("a".repeat(random.int(4097, 65536))) };
    case 2:
      return { kind: "huge number", bytes: packed(pick(random, [2 ** 53, 2 ** 64, 1e308])) };
    case 3:
      return { kind: "uint64 max", bytes: packed(2n ** 64n - 1n) };
    case 4:
      return { kind: "negative", bytes: packed(pick(random, [-1, -(2 ** 31), -(2 ** 53)])) };
    case 5:
      return { kind: "int64 min", bytes: packed(-(2n ** 63n)) };
    case 6:
      return { kind: "float", bytes: packed(pick(random, [0.5, 1.5, 255.9, -0])) };
    case 7:
      return { kind: "NaN/Infinity", bytes: packed(pick(random, [NaN, Infinity, -Infinity])) };
    case 8:
      return { kind: "float32 NaN", bytes: Uint8Array.of(0xca, 0x7f, 0xc0, 0, 0) };
    case 9:
      return { kind: "boolean/nil", bytes: packed(pick(random, [true, false, null])) };
    case 10:
      return { kind: "map", bytes: packed({ a: 1, b: { c: [1, 2] }, upload: "x" }) };
    case 11:
      return { kind: "list", bytes: packed([1, "two", new Uint8Array(3), [4]]) };
    case 12:
      return { kind: "empty containers", bytes: pick(random, [packed([]), packed({})]) };
    case 13:
      return { kind: "wrong-length bytes", bytes: packed(random.bytes(random.int(0, 70))) };
    case 14:
      return { kind: "long bytes", bytes: packed(random.bytes(random.int(4097, 20_000))) };
    case 15:
      return {
        kind: "100000-item list",
        bytes: concat(arrayHeader(100_000), new Uint8Array(100_000).fill(0xc0)),
      };
    case 16:
      return { kind: "invalid UTF-8", bytes: rawStr(pick(random, INVALID_UTF8)) };
    case 17:
      return { kind: "timestamp ext", bytes: Uint8Array.of(0xd6, 0xff, 0, 0, 0, 1) };
    case 18:
      return { kind: "unknown ext", bytes: Uint8Array.of(0xd5, 0x05, 1, 2) };
    case 19:
      return { kind: "bad timestamp ext", bytes: Uint8Array.of(0xd5, 0xff, 1, 2) };
    case 20:
      return {
        kind: "nested",
        bytes: nested(random.int(1, 2000), pick(random, ["array", "map"] as const)),
      };
    case 21:
      return { kind: "map claiming 2^32-1", bytes: mapHeader(0xffffffff) };
    case 22:
      return { kind: "bin claiming 4 GiB", bytes: Uint8Array.of(0xc6, 0xff, 0xff, 0xff, 0xff) };
    case 23:
      return { kind: "ext claiming 4 GiB", bytes: ext32Header(0xffffffff, 1) };
    case 24:
      return {
        kind: "hex-like string",
        bytes: packed(pick(random, ["0".repeat(16), "g".repeat(16)])),
      };
    case 25:
      return { kind: "hex string", bytes: packed(hex(random, random.int(0, 40))) };
    case 26:
      return { kind: "never-used byte", bytes: Uint8Array.of(0xc1) };
    default:
      return { kind: "hostile tag", bytes: pick(random, HOSTILE_TAGS).bytes };
  }
}

/** Values for the envelope keys that break its rules, by key. */
export const BAD_ENVELOPE: Readonly<Record<string, readonly unknown[]>> = {
  v: [1, 3, 0, -1, "2", 2.5, null, 2 ** 32, [2]],
  t: ["", "A", "info ", "x".repeat(33), "info\0", 5, "-x", "ünï", null],
  f: ["client:", "server:" + "0".repeat(64), "client:" + "0".repeat(64), "CLIENT:ab", 7],
  d: ["server:" + "f".repeat(64), "client:" + "1".repeat(64), "broadcast", "", null],
  i: [-1, 2 ** 32, 1.5, "1", null, NaN, 2 ** 53],
  r: [-1, 2 ** 32, "1", 0.5, {}],
  b: [[], "body", null, 5, new Uint8Array(4)],
};
