/**
 * Layer 1: the password layer. The plaintext is cut into fixed-size segments,
 * each sealed with ChaCha20-Poly1305 under the file key, with the STREAM
 * construction of age: the nonce is an 11-byte big-endian segment counter
 * followed by a byte that is 1 on the last segment and 0 otherwise. Reordered,
 * dropped, appended or foreign segments fail authentication; a stream that
 * ends without a last segment is truncated.
 *
 * @module
 */

import { chacha20poly1305 } from "@noble/ciphers/chacha.js";

/** Bytes an AEAD adds to each segment. */
export const TAG_LENGTH = 16;

/** The 12-byte nonce of segment `counter`, with the last-segment flag. */
export function segmentNonce(counter: number, last: boolean): Uint8Array<ArrayBuffer> {
  if (!Number.isSafeInteger(counter) || counter < 0) throw new RangeError("bad segment counter");
  const nonce = new Uint8Array(12);
  const view = new DataView(nonce.buffer);
  view.setUint32(3, Math.floor(counter / 2 ** 32));
  view.setUint32(7, counter >>> 0);
  nonce[11] = last ? 1 : 0;
  return nonce;
}

/** Seals plaintext segment `counter` under `fileKey`. */
export function sealSegment(
  fileKey: Uint8Array,
  counter: number,
  last: boolean,
  plaintext: Uint8Array,
): Uint8Array {
  return chacha20poly1305(fileKey, segmentNonce(counter, last)).encrypt(plaintext);
}

/** Opens segment `counter`; returns `undefined` when authentication fails. */
export function openSegment(
  fileKey: Uint8Array,
  counter: number,
  last: boolean,
  ciphertext: Uint8Array,
): Uint8Array | undefined {
  try {
    return chacha20poly1305(fileKey, segmentNonce(counter, last)).decrypt(ciphertext);
  } catch {
    return undefined;
  }
}
