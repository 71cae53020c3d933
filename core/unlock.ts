/**
 * Unlocking: from a public header and the password to the object's keys.
 * This is where scrypt runs when opening, after the tag and work factor
 * have been checked.
 *
 * @module
 */

import { KdfLimitError, WrongTagError } from "./errors.ts";
import { decodeHeader, type ObjectHeader } from "./header.ts";
import {
  DEFAULT_MAX_LOG_N,
  deriveMasterKey,
  deriveObjectKeys,
  type KdfParams,
  type ObjectKeys,
} from "./keys.ts";
import { encodeTag } from "./tag.ts";
import { toHex } from "./bytes.ts";

/** What {@linkcode unlock} needs. */
export interface UnlockOptions {
  /** The tag asked for; an object of another tag is refused. */
  tag: string;
  /** The password. */
  password: string | Uint8Array;
  /** Highest scrypt log2 N accepted; default {@linkcode DEFAULT_MAX_LOG_N}. */
  maxLogN?: number;
  /** Lowest scrypt log2 N accepted; default: none (the network client passes its floor). */
  minLogN?: number;
  /** Called with 0..1 while scrypt runs. */
  onKdfProgress?: (fraction: number) => void;
  /**
   * Master keys already derived in this operation, keyed by KDF parameters
   * and salt, so one password costs one scrypt per salt however many headers
   * are tried.
   */
  masterKeys?: Map<string, Promise<Uint8Array>>;
}

/** A header together with the keys derived for it. */
export interface UnlockedObject {
  /** The decoded header. */
  readonly header: ObjectHeader;
  /** The header bytes as stored. */
  readonly headerBytes: Uint8Array;
  /** The object's keys; `retrievalToken` is what servers ask for. */
  readonly keys: ObjectKeys;
}

/** The key under which a master key is cached: KDF parameters and salt. */
export function kdfCacheKey(kdf: KdfParams): string {
  return `${kdf.logN}:${kdf.r}:${kdf.p}:${toHex(kdf.salt)}`;
}

/**
 * Parses `headerBytes`, checks its tag and work factor, and derives the
 * keys. Throws FormatError, WrongTagError or KdfLimitError. A wrong password
 * is only found out when the manifest is verified.
 */
export async function unlock(
  headerBytes: Uint8Array,
  options: UnlockOptions,
): Promise<UnlockedObject> {
  const header = decodeHeader(headerBytes);
  if (header.tag !== options.tag) throw new WrongTagError(options.tag, header.tag);
  const maxLogN = options.maxLogN ?? DEFAULT_MAX_LOG_N;
  const minLogN = options.minLogN ?? 0;
  if (header.kdf.logN > maxLogN || header.kdf.logN < minLogN) {
    throw new KdfLimitError(header.kdf.logN, maxLogN, minLogN);
  }
  const cacheKey = kdfCacheKey(header.kdf);
  let master = options.masterKeys?.get(cacheKey);
  if (master === undefined) {
    master = deriveMasterKey(options.password, header.kdf, { onProgress: options.onKdfProgress });
    options.masterKeys?.set(cacheKey, master);
  }
  const keys = await deriveObjectKeys(await master, encodeTag(header.tag), header.objectId);
  return { header, headerBytes, keys };
}
