/**
 * Raw msgpack bytes for hostile-input tests: ordinary values through the real
 * encoder, and hand-made headers, invalid UTF-8 strings and bombs that no
 * encoder would produce. A map is built from already-encoded keys and
 * values, so any value in it can be raw bytes.
 *
 * @module
 */

import { Encoder } from "@msgpack/msgpack";
import { concat, utf8 } from "../../core/bytes.ts";

const encoder = new Encoder({ useBigInt64: true, ignoreUndefined: false });

/** `value` encoded by the real msgpack encoder (bigints as 64-bit integers). */
export function packed(value: unknown): Uint8Array {
  return encoder.encode(value);
}

/** A header with a big-endian length of `bytes` bytes after `type`. */
function header(type: number, bytes: 1 | 2 | 4, length: number): Uint8Array {
  const out = new Uint8Array(1 + bytes);
  out[0] = type;
  const view = new DataView(out.buffer);
  if (bytes === 1) view.setUint8(1, length);
  else if (bytes === 2) view.setUint16(1, length);
  else view.setUint32(1, length);
  return out;
}

/** A map header claiming `count` entries (map32 above 65535). */
export function mapHeader(count: number): Uint8Array {
  if (count < 16) return Uint8Array.of(0x80 | count);
  return count < 65536 ? header(0xde, 2, count) : header(0xdf, 4, count);
}

/** An array header claiming `count` items (array32 above 65535). */
export function arrayHeader(count: number): Uint8Array {
  if (count < 16) return Uint8Array.of(0x90 | count);
  return count < 65536 ? header(0xdc, 2, count) : header(0xdd, 4, count);
}

/** A str header claiming `length` bytes (str32 above 65535). */
export function strHeader(length: number): Uint8Array {
  if (length < 32) return Uint8Array.of(0xa0 | length);
  if (length < 256) return header(0xd9, 1, length);
  return length < 65536 ? header(0xda, 2, length) : header(0xdb, 4, length);
}

/** A bin header claiming `length` bytes (bin32 above 65535). */
export function binHeader(length: number): Uint8Array {
  if (length < 256) return header(0xc4, 1, length);
  return length < 65536 ? header(0xc5, 2, length) : header(0xc6, 4, length);
}

/** An ext32 header claiming `length` bytes of extension `type`. */
export function ext32Header(length: number, type: number): Uint8Array {
  return concat(header(0xc9, 4, length), Uint8Array.of(type & 0xff));
}

/** A msgpack str holding `bytes` as they are, valid UTF-8 or not. */
export function rawStr(bytes: Uint8Array): Uint8Array {
  return concat(strHeader(bytes.length), bytes);
}

/** Map entries: a key (a string, or its encoded bytes) and an encoded value. */
export type RawEntries = [string | Uint8Array, Uint8Array][];

/** A map of encoded keys (strings unless raw bytes are given) to encoded values. */
export function rawMap(entries: RawEntries): Uint8Array {
  const parts = [mapHeader(entries.length)];
  for (const [key, value] of entries) {
    parts.push(typeof key === "string" ? packed(key) : key, value);
  }
  return concat(...parts);
}

/** An array of encoded items. */
export function rawArray(items: Uint8Array[]): Uint8Array {
  return concat(arrayHeader(items.length), ...items);
}

/** `depth` nested one-item arrays (or one-entry maps keyed "a") around a nil, in about `depth` bytes. */
export function nested(depth: number, kind: "array" | "map"): Uint8Array {
  const unit = kind === "array" ? [0x91] : [0x81, 0xa1, 0x61];
  const out = new Uint8Array(depth * unit.length + 1);
  for (let i = 0; i < depth; i++) out.set(unit, i * unit.length);
  out[out.length - 1] = 0xc0;
  return out;
}

/** About `bytes` bytes of empty containers: arrays of up to 65535 empty maps/arrays. */
export function wide(bytes: number): Uint8Array {
  const per = 65535;
  const lists = Math.max(1, Math.floor(bytes / (per + 3)));
  const parts = [arrayHeader(lists)];
  for (let i = 0; i < lists; i++) {
    const list = new Uint8Array(3 + per);
    list.set(arrayHeader(per));
    list.fill(i % 2 === 0 ? 0x90 : 0x80, 3);
    parts.push(list);
  }
  return concat(...parts);
}

/** Byte strings that are not valid UTF-8 (overlong, surrogate, truncated, stray bytes). */
export const INVALID_UTF8: readonly Uint8Array[] = [
  Uint8Array.of(0xff),
  Uint8Array.of(0xc0, 0x80), // overlong NUL
  Uint8Array.of(0xc0, 0xaf), // overlong "/"
  Uint8Array.of(0xe0, 0x80, 0xaf), // overlong "/"
  Uint8Array.of(0x2e, 0x2e, 0xc0, 0xaf, 0x2e, 0x2e), // "..", overlong "/", ".."
  Uint8Array.of(0xed, 0xa0, 0x80), // a UTF-16 surrogate
  Uint8Array.of(0x61, 0xe2, 0x82), // truncated sequence
  Uint8Array.of(0x80, 0x80, 0x80),
  Uint8Array.of(0xf8, 0x88, 0x80, 0x80, 0x80),
  concat(utf8("x".repeat(250)), Uint8Array.of(0xfe)), // long enough for TextDecoder
];
