/**
 * The manifest: identical for every share index, authenticated with
 * HMAC-SHA-256 under the manifest key. It binds the header, commits to each
 * index's key share, and carries a check value of the share key, so a client
 * knows which index is bad before using anything it holds.
 *
 * ```text
 * "SSNM" | version u8 | SHA-256(header) [32] | n u8 | keyCheck [32]
 *        | shareHash[1..n] [32 each] | mac [32]
 * shareHash[i] = SHA-256(i u8 || keyShare_i)
 * keyCheck     = HMAC(manifestKey, "secshrnet/1 share key" || shareKey)
 * mac          = HMAC(manifestKey, everything before it)
 * ```
 *
 * @module
 */

import { concat, equalBytes, utf8, webBytes } from "./bytes.ts";
import { FormatError } from "./errors.ts";
import { FORMAT_VERSION } from "./header.ts";

/** Magic bytes "SSNM" that start every manifest. */
export const MANIFEST_MAGIC: Uint8Array = utf8("SSNM");
const KEY_CHECK_LABEL = utf8("secshrnet/1 share key");
const PREFIX_LENGTH = 4 + 1 + 32 + 1 + 32;

/** A parsed manifest whose MAC has been verified. */
export interface Manifest {
  /** SHA-256 of the header this manifest belongs to. */
  readonly headerHash: Uint8Array;
  /** HMAC of the share key under the manifest key. */
  readonly keyCheck: Uint8Array;
  /** `shareHashes[i - 1]` commits to the key share of index i. */
  readonly shareHashes: readonly Uint8Array[];
}

/** SHA-256 of `bytes`. */
export async function sha256(bytes: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", webBytes(bytes)));
}

/** The commitment to key share `share` of index `index`. */
export async function shareHash(index: number, share: Uint8Array): Promise<Uint8Array> {
  return await sha256(concat(new Uint8Array([index]), share));
}

/** The check value of `shareKey` under `manifestKey`. */
export async function keyCheck(manifestKey: CryptoKey, shareKey: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(
    await crypto.subtle.sign("HMAC", manifestKey, concat(KEY_CHECK_LABEL, shareKey)),
  );
}

/** Builds and authenticates the manifest for `header` (its bytes) and the n key shares. */
export async function encodeManifest(
  manifestKey: CryptoKey,
  header: Uint8Array,
  shareKey: Uint8Array,
  keyShares: readonly Uint8Array[],
): Promise<Uint8Array> {
  const hashes = await Promise.all(keyShares.map((share, i) => shareHash(i + 1, share)));
  const body = concat(
    MANIFEST_MAGIC,
    new Uint8Array([FORMAT_VERSION]),
    await sha256(header),
    new Uint8Array([keyShares.length]),
    await keyCheck(manifestKey, shareKey),
    ...hashes,
  );
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", manifestKey, body));
  return concat(body, mac);
}

/**
 * Parses `bytes` and verifies its MAC and its binding to `header` (bytes)
 * with n shares. Throws a {@linkcode FormatError} saying what is wrong.
 */
export async function decodeManifest(
  manifestKey: CryptoKey,
  header: Uint8Array,
  n: number,
  bytes: Uint8Array,
): Promise<Manifest> {
  if (bytes.length !== PREFIX_LENGTH + 32 * n + 32) throw new FormatError("manifest length wrong");
  const body = bytes.subarray(0, bytes.length - 32);
  const mac = bytes.subarray(bytes.length - 32);
  if (!await crypto.subtle.verify("HMAC", manifestKey, webBytes(mac), webBytes(body))) {
    throw new FormatError("manifest authentication failed");
  }
  // The manifest carries its header's format version (1 for objects sealed before format 2).
  if (!equalBytes(bytes.subarray(0, 4), MANIFEST_MAGIC) || bytes[4] !== header[4]) {
    throw new FormatError(`not a version ${header[4]} manifest`);
  }
  const headerHash = bytes.slice(5, 37);
  if (!equalBytes(headerHash, await sha256(header)) || bytes[37] !== n) {
    throw new FormatError("manifest belongs to another header");
  }
  const shareHashes: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    shareHashes.push(bytes.slice(PREFIX_LENGTH + 32 * i, PREFIX_LENGTH + 32 * (i + 1)));
  }
  return { headerHash, keyCheck: bytes.slice(38, 70), shareHashes };
}
