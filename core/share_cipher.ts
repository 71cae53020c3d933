/**
 * Layer 2: the share layer. Each layer-1 segment is sealed again with
 * AES-256-GCM (Web Crypto) under a fresh random share key per object, with
 * the same counter-and-last-flag nonce as layer 1 and the object id as
 * associated data. The share key is what Shamir's scheme splits.
 *
 * @module
 */

import { webBytes } from "./bytes.ts";
import { segmentNonce } from "./stream.ts";

/** Imports the 32-byte share key for AES-256-GCM. */
export async function importShareKey(shareKey: Uint8Array): Promise<CryptoKey> {
  return await crypto.subtle.importKey("raw", webBytes(shareKey), "AES-GCM", false, [
    "encrypt",
    "decrypt",
  ]);
}

/** Seals layer-1 segment `counter` under the share key. */
export async function sealShareSegment(
  key: CryptoKey,
  objectId: Uint8Array,
  counter: number,
  last: boolean,
  data: Uint8Array,
): Promise<Uint8Array> {
  const iv = segmentNonce(counter, last);
  return new Uint8Array(
    await crypto.subtle.encrypt(
      { name: "AES-GCM", iv, additionalData: webBytes(objectId) },
      key,
      webBytes(data),
    ),
  );
}

/** Opens segment `counter`; returns `undefined` when authentication fails. */
export async function openShareSegment(
  key: CryptoKey,
  objectId: Uint8Array,
  counter: number,
  last: boolean,
  data: Uint8Array,
): Promise<Uint8Array | undefined> {
  const iv = segmentNonce(counter, last);
  try {
    return new Uint8Array(
      await crypto.subtle.decrypt(
        { name: "AES-GCM", iv, additionalData: webBytes(objectId) },
        key,
        webBytes(data),
      ),
    );
  } catch {
    return undefined;
  }
}
