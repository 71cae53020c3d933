/**
 * msgpack bombs: headers that claim far more than the message holds (2^32
 * entries, 4 GiB), counts just over the decoder's limits, and nesting, sent
 * as a whole message or as a body field of a valid, MAC'd envelope.
 *
 * @module
 */

import type { Prng } from "../prng.ts";
import { concat } from "../../core/bytes.ts";
import {
  arrayHeader,
  binHeader,
  ext32Header,
  mapHeader,
  nested,
  packed,
  strHeader,
} from "./msgpack_raw.ts";
import { pick } from "./values.ts";

/** A small bomb: its name, its bytes, and whether it is the whole message (else a body field). */
export function lightBomb(r: Prng): { kind: string; value: Uint8Array; whole: boolean } {
  const whole = r.int(0, 3) === 0;
  const bombs: [string, () => Uint8Array][] = [
    ["map claiming 2^32-1 entries", () => concat(mapHeader(0xffffffff), packed("v"), packed(2))],
    ["array claiming 2^32-1 items", () => concat(arrayHeader(0xffffffff), packed(1))],
    ["bin claiming 4 GiB", () => concat(binHeader(0xffffffff), r.bytes(r.int(0, 64)))],
    ["str claiming 4 GiB", () => concat(strHeader(0xffffffff), r.bytes(r.int(0, 64)))],
    ["ext claiming 4 GiB", () => concat(ext32Header(0xffffffff, r.int(0, 255)), r.bytes(8))],
    ["map claiming 65535 entries", () => concat(mapHeader(65535), packed("a"), packed(1))],
    ["map of 65 entries", () => mapOf(65)],
    ["array of 100001 items", () => concat(arrayHeader(100_001), new Uint8Array(100_001))],
    ["str of 65537 bytes", () => concat(strHeader(65537), new Uint8Array(65537).fill(0x61))],
    ["nesting 1000 deep", () => nested(1000, pick(r, ["array", "map"] as const))],
    ["nesting 100000 deep", () => nested(100_000, pick(r, ["array", "map"] as const))],
    ["nesting, unterminated", () => nested(50_000, "array").subarray(0, 50_000)],
  ];
  const [kind, make] = pick(r, bombs);
  const value = make();
  // A whole message gets 32 bytes where its MAC would be.
  return { kind, value: whole ? concat(value, r.bytes(32)) : value, whole };
}

function mapOf(count: number): Uint8Array {
  const parts = [mapHeader(count)];
  for (let i = 0; i < count; i++) parts.push(packed(`k${i}`), packed(i));
  return concat(...parts);
}

/** A body holding `value` under `tag` or another name (with a plausible tag beside it). */
export function bombBody(r: Prng, value: Uint8Array): [string, Uint8Array][] {
  const name = pick(r, ["tag", "upload", "data", "x", "proof"]);
  const body: [string, Uint8Array][] = [[name, value]];
  if (name !== "tag") body.unshift(["tag", packed("fuzz/bomb")]);
  return body;
}
