/**
 * The key schedule: one scrypt per operation, then HKDF-SHA-256 into the
 * per-object keys, each bound to the tag and the object id.
 *
 * ```text
 * master = scrypt(NFC(password), salt, N = 2^logN, r, p, 32)
 * key(label) = HKDF-SHA-256(ikm = master, salt = objectId,
 *                           info = "secshrnet/1 " || label || 0x00 || SHA-256(tag))
 * ```
 *
 * @module
 */

import { scryptAsync } from "@noble/hashes/scrypt.js";
import { concat, utf8, webBytes } from "./bytes.ts";
import { KdfMemoryError } from "./errors.ts";

/** scrypt parameters as recorded in the header. */
export interface KdfParams {
  /** log2 of the CPU/memory cost N. */
  readonly logN: number;
  /** Block size r. */
  readonly r: number;
  /** Parallelism p. */
  readonly p: number;
  /** Random 32-byte salt. */
  readonly salt: Uint8Array;
}

/** Work factor used when the caller does not choose one (the original's cost). */
export const DEFAULT_LOG_N = 20;
/** Lowest work factor accepted when sealing. */
export const MIN_LOG_N = 10;
/**
 * Lowest work factor a client acts on unless configured lower: a header
 * below it is never used to derive a key or sign a proof (64 MiB, about
 * 0.5 s per guess here; the default for new objects is 20).
 */
export const DEFAULT_MIN_LOG_N = 16;
/** Highest work factor opened unless the caller raises the cap. */
export const DEFAULT_MAX_LOG_N = 22;
/** Absolute highest work factor (2^30 × 128 × r bytes is already past any machine). */
export const ABSOLUTE_MAX_LOG_N = 30;

/** The four keys derived from the master key of one object. */
export interface ObjectKeys {
  /** Layer-1 ChaCha20-Poly1305 key. */
  readonly fileKey: Uint8Array;
  /** HMAC-SHA-256 key for the manifest and the share-key check. */
  readonly manifestKey: CryptoKey;
  /** HMAC-SHA-256 key for the per-fragment tags. */
  readonly fragmentKey: CryptoKey;
  /** Proof of knowing the password, presented to servers; they store its SHA-256. */
  readonly retrievalToken: Uint8Array;
}

/** Options for {@linkcode deriveMasterKey}. */
export interface DeriveOptions {
  /** Called with the fraction done, 0 to 1, while scrypt runs. */
  onProgress?: (fraction: number) => void;
}

/** Bytes of memory scrypt needs for `params` (its V array: 128 · r · N · p). */
export function scryptMemory(params: Pick<KdfParams, "logN" | "r" | "p">): number {
  return 128 * params.r * 2 ** params.logN * params.p;
}

/**
 * Throws a KdfMemoryError when scrypt at `params` needs more memory than the
 * system has available now, instead of failing deep inside an allocation.
 */
export function checkKdfMemory(params: Pick<KdfParams, "logN" | "r" | "p">): void {
  let available: number;
  try {
    available = Deno.systemMemoryInfo().available;
  } catch {
    return; // Unknown here: let the allocation decide.
  }
  const need = scryptMemory(params);
  if (available > 0 && need > available) throw new KdfMemoryError(params.logN, need, available);
}

/** Runs scrypt over the NFC-normalised UTF-8 password (or the raw bytes given). */
export async function deriveMasterKey(
  password: string | Uint8Array,
  params: KdfParams,
  options: DeriveOptions = {},
): Promise<Uint8Array> {
  const secret = typeof password === "string" ? utf8(password.normalize("NFC")) : password;
  checkKdfMemory(params);
  return await scryptAsync(secret, params.salt, {
    N: 2 ** params.logN,
    r: params.r,
    p: params.p,
    dkLen: 32,
    maxmem: 2 ** params.logN * 128 * params.r * params.p + 1024 * 1024,
    onProgress: options.onProgress,
    asyncTick: 25,
  });
}

/** Expands `master` into the object's keys, bound to `tag` (UTF-8) and `objectId`. */
export async function deriveObjectKeys(
  master: Uint8Array,
  tag: Uint8Array,
  objectId: Uint8Array,
): Promise<ObjectKeys> {
  const tagHash = new Uint8Array(await crypto.subtle.digest("SHA-256", webBytes(tag)));
  const ikm = await crypto.subtle.importKey("raw", webBytes(master), "HKDF", false, ["deriveBits"]);
  const expand = async (label: string) =>
    new Uint8Array(
      await crypto.subtle.deriveBits(
        {
          name: "HKDF",
          hash: "SHA-256",
          salt: webBytes(objectId),
          info: concat(utf8(`secshrnet/1 ${label}`), new Uint8Array([0]), tagHash),
        },
        ikm,
        256,
      ),
    );
  const hmacKey = async (bytes: Uint8Array) =>
    await crypto.subtle.importKey(
      "raw",
      webBytes(bytes),
      { name: "HMAC", hash: "SHA-256" },
      false,
      [
        "sign",
        "verify",
      ],
    );
  return {
    fileKey: await expand("file key"),
    manifestKey: await hmacKey(await expand("manifest key")),
    fragmentKey: await hmacKey(await expand("fragment key")),
    retrievalToken: await expand("retrieval token"),
  };
}
