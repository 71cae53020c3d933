/**
 * One segment through both layers and the erasure code, in either direction:
 * the unit of work that sealing and opening hand to a pool of workers
 * (`segment_workers.ts`), or run on the calling thread. The same functions
 * run in both places, so the bytes are the same wherever they run.
 *
 * ```text
 * seal: plaintext ─ ChaCha20-Poly1305 (file key) ─ AES-256-GCM (share key)
 *       ─ Reed-Solomon k-of-n ─ fragment i + HMAC tag (fragment key)
 * open: any k verified fragments ─ Reed-Solomon decode ─ AES-256-GCM ─ ChaCha20-Poly1305
 * ```
 *
 * @module
 */

import { type ErasureCoder, fragmentLength } from "./erasure.ts";
import { FRAGMENT_TAG_LENGTH, FRAME_PREFIX_LENGTH, tagFrameSlot } from "./fragment.ts";
import { release } from "./memory.ts";
import { openShareSegment, sealShareSegment } from "./share_cipher.ts";
import { openSegment, sealSegment, TAG_LENGTH } from "./stream.ts";

/** The keys one object's segments are sealed and opened with. */
export interface SegmentKeys {
  /** Layer-1 ChaCha20-Poly1305 key. */
  readonly fileKey: Uint8Array;
  /** Layer-2 AES-256-GCM key (the share key, imported). */
  readonly shareKey: CryptoKey;
  /** HMAC-SHA-256 key of the fragment tags. */
  readonly fragmentKey: CryptoKey;
  /** The object id: layer 2's associated data. */
  readonly objectId: Uint8Array;
}

/**
 * Seals plaintext segment `counter` into its n framed fragments (`fragment || tag`),
 * index order. The frames are views of one buffer: the erasure code writes each
 * fragment straight into its frame, which is tagged in place.
 */
export async function sealSegmentFrames(
  keys: SegmentKeys,
  coder: ErasureCoder,
  counter: number,
  last: boolean,
  plaintext: Uint8Array,
): Promise<Uint8Array[]> {
  const layer1 = sealSegment(keys.fileKey, counter, last, plaintext);
  const layer2 = await sealShareSegment(keys.shareKey, keys.objectId, counter, last, layer1);
  const size = fragmentLength(layer2.length, coder.k);
  // One buffer per frame (below the allocator's mmap threshold, core/memory.ts, where a
  // buffer of all n would be mapped and faulted in afresh for every segment). Each slot
  // starts `lead` bytes in so its fragment is 4-byte aligned for the erasure code.
  const lead = (4 - FRAME_PREFIX_LENGTH % 4) % 4;
  const slots = Array.from(
    { length: coder.n },
    () => new Uint8Array(lead + FRAME_PREFIX_LENGTH + size + FRAGMENT_TAG_LENGTH).subarray(lead),
  );
  coder.encodeInto(
    layer2,
    slots.map((slot) => slot.subarray(FRAME_PREFIX_LENGTH, FRAME_PREFIX_LENGTH + size)),
  );
  release(layer1, layer2);
  return await Promise.all(
    slots.map((slot, i) => tagFrameSlot(keys.fragmentKey, i + 1, counter, last, slot)),
  );
}

/** What opening one segment gave. */
export interface OpenedSegment {
  /** The plaintext, or undefined when a layer failed to authenticate. */
  readonly plaintext: Uint8Array | undefined;
  /** The layer-2 ciphertext, when asked for and the segment opened. */
  readonly layer2?: Uint8Array;
}

/**
 * Opens segment `counter` of plaintext length `length` from its verified
 * fragments (`fragments[i]` is index i + 1's, undefined when missing; at
 * least k present). Returns the layer-2 ciphertext too when `wantLayer2`.
 */
export async function openSegmentFragments(
  keys: SegmentKeys,
  coder: ErasureCoder,
  counter: number,
  last: boolean,
  length: number,
  fragments: readonly (Uint8Array | undefined)[],
  wantLayer2: boolean,
): Promise<OpenedSegment> {
  const layer2 = coder.decode(fragments, length + 2 * TAG_LENGTH);
  const layer1 = await openShareSegment(keys.shareKey, keys.objectId, counter, last, layer2);
  const plaintext = layer1 && openSegment(keys.fileKey, counter, last, layer1);
  release(layer1);
  if (plaintext === undefined || !wantLayer2) {
    release(layer2);
    return { plaintext };
  }
  return { plaintext, layer2 };
}
