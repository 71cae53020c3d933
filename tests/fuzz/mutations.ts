/**
 * Mutations for the wire fuzz test: of a body (hostile values, missing,
 * extra and doubled fields, hostile tags), of the envelope fields, and of
 * a whole encoded message (truncation, bit flips, edits, a bad MAC).
 *
 * @module
 */

import type { Prng } from "../prng.ts";
import { concat } from "../../core/bytes.ts";
import type { FuzzDriver } from "./driver.ts";
import { packed, type RawEntries } from "./msgpack_raw.ts";
import { BAD_ENVELOPE, chance, HOSTILE_TAGS, hostileValue, pick } from "./values.ts";

/**
 * A valid message made invalid: truncated, bit-flipped, edited, extended or
 * doubled, its MAC left (so it fails) or made again with `seal`.
 */
export async function corrupt(
  r: Prng,
  map: Uint8Array,
  sealed: Uint8Array,
  seal: (map: Uint8Array) => Promise<Uint8Array>,
): Promise<{ kind: string; bytes: Uint8Array }> {
  const flip = (bytes: Uint8Array, bits: number) => {
    const out = bytes.slice();
    for (let i = 0; i < bits; i++) out[r.int(0, out.length - 1)] ^= 1 << r.int(0, 7);
    return out;
  };
  const message = (kind: string, bytes: Uint8Array) => ({ kind, bytes });
  switch (r.int(0, 8)) {
    case 0:
      return message("truncated", sealed.subarray(0, r.int(0, sealed.length - 1)));
    case 1:
      return message(
        "truncated, MAC'd",
        await seal(map.subarray(0, r.int(0, map.length - 1))),
      );
    case 2:
      return message("bit flips", flip(sealed, r.int(1, 8)));
    case 3:
      return message("bit flips, MAC'd", await seal(flip(map, r.int(1, 8))));
    case 4: {
      const at = r.int(0, map.length);
      const edited = chance(r, 0.5)
        ? concat(map.subarray(0, at), r.bytes(r.int(1, 8)), map.subarray(at))
        : concat(map.subarray(0, at), map.subarray(Math.min(map.length, at + r.int(1, 8))));
      return message("bytes inserted or deleted, MAC'd", await seal(edited));
    }
    case 5:
      return message(
        "trailing bytes, MAC'd",
        await seal(concat(map, r.bytes(r.int(1, 40)))),
      );
    case 6:
      return message("MAC flipped", concat(map, flip(sealed.subarray(map.length), 1)));
    case 7:
      return message("two messages in one", concat(sealed, sealed));
    default:
      return message("MAC missing", map);
  }
}

/** An integer, or now and then a hostile value. */
export function hostileOrInt(r: Prng): Uint8Array {
  return chance(r, 0.5) ? packed(r.int(0, 2 ** 23)) : hostileValue(r).bytes;
}

/** Changes a body: a field gets a hostile value, goes, is added or doubled, or the tag turns hostile. */
export function mutateBody(r: Prng, body: RawEntries): void {
  const roll = r.int(0, 9);
  if (roll < 5 && body.length > 0) {
    body[r.int(0, body.length - 1)][1] = hostileValue(r).bytes;
  } else if (roll < 6 && body.length > 0) {
    body.splice(r.int(0, body.length - 1), 1);
  } else if (roll < 8) {
    const names = ["x", "tag", "constructor", "toString", "hasOwnProperty", "valueOf", "length"];
    const name = chance(r, 0.1)
      ? packed(r.int(0, 9))
      : chance(r, 0.05)
      ? packed("__proto__")
      : packed(pick(r, names));
    body.push([name, hostileValue(r).bytes]);
  } else if (roll < 9 && body.length > 0) {
    body.push([body[r.int(0, body.length - 1)][0], hostileValue(r).bytes]);
  } else {
    const at = body.findIndex(([k]) => k === "tag");
    if (at >= 0) body[at][1] = pick(r, HOSTILE_TAGS).bytes;
    else body.push(["tag", pick(r, HOSTILE_TAGS).bytes]);
  }
}

/** Breaks one envelope field (or adds/removes one); returns what it did. */
export function mutateEnvelope(r: Prng, envelope: RawEntries, driver: FuzzDriver): string {
  const roll = r.int(0, 9);
  if (roll < 7) {
    const key = pick(r, Object.keys(BAD_ENVELOPE));
    let value: Uint8Array = packed(pick(r, BAD_ENVELOPE[key]));
    if (key === "f" && chance(r, 0.5)) value = packed(pick(r, driver.senders).address);
    const at = envelope.findIndex(([k]) => k === key);
    if (at >= 0) envelope[at][1] = value;
    else envelope.push([key, value]);
    return key;
  }
  if (roll < 8) {
    envelope.splice(r.int(0, envelope.length - 1), 1);
    return "missing key";
  }
  if (roll < 9) {
    envelope.push([pick(r, ["x", "V", "body"]), packed(1)]);
    return "extra key";
  }
  envelope.push(["v", packed(2)]);
  return "duplicate key";
}
