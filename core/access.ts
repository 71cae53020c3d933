/**
 * Access proofs. Servers release, replace or delete an object's shares only
 * for a holder of the password, and nothing seen on the Redis bus can be
 * replayed: the retrieval token (FORMAT.md) is the seed of an Ed25519 key
 * pair (Web Crypto); servers keep the public key, and each request that
 * needs access carries a signature over a fresh single-use nonce the server
 * handed out, the operation, the object id and the tag.
 *
 * ```text
 * message = "secshrnet/1 access " || op || 0x00 || nonce (32) || object id (16) || UTF-8(tag)
 * ```
 *
 * @module
 */

import { concat, utf8, webBytes } from "./bytes.ts";

/** Length of a public access key. */
export const ACCESS_KEY_LENGTH = 32;
/** Length of an access proof (an Ed25519 signature). */
export const PROOF_LENGTH = 64;
/** Length of a server nonce. */
export const NONCE_LENGTH = 32;

/** What a proof grants. */
export type AccessOp = "get" | "rm" | "prune" | "replace" | "withdraw";

/** The key pair of one object, derived from its retrieval token. */
export interface AccessKeys {
  /** Raw Ed25519 public key, stored by servers. */
  readonly publicKey: Uint8Array;
  /** Signs access messages. */
  readonly privateKey: CryptoKey;
}

// PKCS #8 wrapping of a raw Ed25519 seed (RFC 8410): the fixed prefix, then the 32 bytes.
const PKCS8_PREFIX = [
  0x30,
  0x2e,
  0x02,
  0x01,
  0x00,
  0x30,
  0x05,
  0x06,
  0x03,
  0x2b,
  0x65,
  0x70,
  0x04,
  0x22,
  0x04,
  0x20,
];

/** The Ed25519 key pair whose seed is the 32-byte `token`. */
export async function accessKeys(token: Uint8Array): Promise<AccessKeys> {
  if (token.length !== 32) throw new RangeError("retrieval token must be 32 bytes");
  const pkcs8 = new Uint8Array([...PKCS8_PREFIX, ...token]);
  const privateKey = await crypto.subtle.importKey("pkcs8", pkcs8, { name: "Ed25519" }, true, [
    "sign",
  ]);
  const jwk = await crypto.subtle.exportKey("jwk", privateKey);
  const publicKey = Uint8Array.from(
    atob(jwk.x!.replace(/-/g, "+").replace(/_/g, "/")),
    (c) => c.charCodeAt(0),
  );
  return {
    publicKey,
    privateKey: await crypto.subtle.importKey("pkcs8", pkcs8, { name: "Ed25519" }, false, ["sign"]),
  };
}

/** The bytes a proof signs. */
export function accessMessage(
  op: AccessOp,
  nonce: Uint8Array,
  objectId: Uint8Array,
  tag: string,
): Uint8Array<ArrayBuffer> {
  return concat(utf8(`secshrnet/1 access ${op}`), new Uint8Array([0]), nonce, objectId, utf8(tag));
}

/** Signs access to `op` on object `objectId` of `tag`, for the server's `nonce`. */
export async function proveAccess(
  keys: AccessKeys,
  op: AccessOp,
  nonce: Uint8Array,
  objectId: Uint8Array,
  tag: string,
): Promise<Uint8Array> {
  const message = accessMessage(op, nonce, objectId, tag);
  return new Uint8Array(await crypto.subtle.sign("Ed25519", keys.privateKey, message));
}

/** Whether `proof` grants `op` on `objectId` of `tag` for `nonce`, under `publicKey`. */
export async function verifyAccess(
  publicKey: Uint8Array,
  proof: Uint8Array,
  op: AccessOp,
  nonce: Uint8Array,
  objectId: Uint8Array,
  tag: string,
): Promise<boolean> {
  if (publicKey.length !== ACCESS_KEY_LENGTH || proof.length !== PROOF_LENGTH) return false;
  try {
    const key = await crypto.subtle.importKey(
      "raw",
      webBytes(publicKey),
      { name: "Ed25519" },
      false,
      ["verify"],
    );
    return await crypto.subtle.verify(
      "Ed25519",
      key,
      webBytes(proof),
      accessMessage(op, nonce, objectId, tag),
    );
  } catch {
    return false;
  }
}
