/**
 * Fragment framing. Index i's share stream carries, for every segment, the
 * erasure-coded fragment i followed by a 32-byte tag:
 *
 * ```text
 * tag = HMAC-SHA-256(fragmentKey, i u8 || segment u64 || last u8 || fragment)
 * ```
 *
 * The fragment key is derived per object (HKDF salt = object id), so a tag
 * pins a fragment to its object, index, position and the end of the stream.
 *
 * @module
 */

import { webBytes, writeUint64 } from "./bytes.ts";

/** Length of a fragment tag. */
export const FRAGMENT_TAG_LENGTH = 32;

/** Writes the 10-byte tag prefix (index, segment, last flag) at the start of `buffer`. */
function writePrefix(buffer: Uint8Array, index: number, segment: number, last: boolean): void {
  buffer[0] = index;
  writeUint64(new DataView(buffer.buffer, buffer.byteOffset, 10), 1, segment);
  buffer[9] = last ? 1 : 0;
}

/** Bytes before a fragment in a frame slot: the tag prefix, written there and signed in place. */
export const FRAME_PREFIX_LENGTH = 10;

/** Returns `fragment || tag`, the frame index `index` stores for `segment`. */
export async function frameFragment(
  fragmentKey: CryptoKey,
  index: number,
  segment: number,
  last: boolean,
  fragment: Uint8Array,
): Promise<Uint8Array> {
  const slot = new Uint8Array(FRAME_PREFIX_LENGTH + fragment.length + FRAGMENT_TAG_LENGTH);
  slot.set(fragment, FRAME_PREFIX_LENGTH);
  return await tagFrameSlot(fragmentKey, index, segment, last, slot);
}

/**
 * Frames the fragment already in `slot` (laid out as {@linkcode FRAME_PREFIX_LENGTH}
 * free bytes, the fragment, {@linkcode FRAGMENT_TAG_LENGTH} free bytes) without
 * copying it: writes the prefix, signs, writes the tag, and returns the frame,
 * a view of `slot` after the prefix.
 */
export async function tagFrameSlot(
  fragmentKey: CryptoKey,
  index: number,
  segment: number,
  last: boolean,
  slot: Uint8Array,
): Promise<Uint8Array> {
  writePrefix(slot, index, segment, last);
  const signed = slot.subarray(0, slot.length - FRAGMENT_TAG_LENGTH);
  const tag = await crypto.subtle.sign("HMAC", fragmentKey, webBytes(signed));
  slot.set(new Uint8Array(tag), signed.length);
  return slot.subarray(FRAME_PREFIX_LENGTH);
}

/** Verifies a frame; returns the fragment it holds, or `undefined` when the tag is wrong. */
export async function unframeFragment(
  fragmentKey: CryptoKey,
  index: number,
  segment: number,
  last: boolean,
  frame: Uint8Array,
): Promise<Uint8Array | undefined> {
  if (frame.length < FRAGMENT_TAG_LENGTH) return undefined;
  const fragment = frame.subarray(0, frame.length - FRAGMENT_TAG_LENGTH);
  const tag = frame.subarray(frame.length - FRAGMENT_TAG_LENGTH);
  // Two spare bytes in front keep the returned fragment 4-byte aligned for the coder.
  const buffer = new Uint8Array(12 + fragment.length);
  writePrefix(buffer.subarray(2), index, segment, last);
  buffer.set(fragment, 12);
  const ok = await crypto.subtle.verify("HMAC", fragmentKey, webBytes(tag), buffer.subarray(2));
  return ok ? buffer.subarray(12) : undefined;
}
