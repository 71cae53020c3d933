/**
 * Deletion records. `rm` leaves one on every server it reaches, so a server
 * that was offline cannot bring the tag back: any client that sees the record
 * on one server and the object on another passes the record on, and the
 * holder checks it against the access key it stored with the object and
 * deletes. The record is signed with the object's own access key (the
 * retrieval token's Ed25519 key, core/access.ts), so only a holder of the
 * password can make one, and it can be forwarded by anyone.
 *
 * ```text
 * record    = "SSND" || u8 1 || u16 header length || header || access key (32) || signature (64)
 * signature = Ed25519(access key, "secshrnet/1 deletion record" || 0x00 || SHA-256(header))
 * ```
 *
 * It deletes the object whose header it carries and every older object of the
 * tag (tag version not above the header's).
 *
 * @module
 */

import { ACCESS_KEY_LENGTH, type AccessKeys, PROOF_LENGTH } from "./access.ts";
import { concat, equalBytes, utf8, webBytes } from "./bytes.ts";
import { FormatError } from "./errors.ts";
import { decodeHeader, type ObjectHeader } from "./header.ts";
import { sha256 } from "./manifest.ts";

/** Magic bytes "SSND" that start every deletion record. */
export const DELETION_MAGIC: Uint8Array = utf8("SSND");
const RECORD_VERSION = 1;
const LABEL = utf8("secshrnet/1 deletion record");
/** Longest record: a header of at most 88 + 4096 bytes, plus the fixed fields. */
export const MAX_DELETION_RECORD = 4 + 1 + 2 + 88 + 4096 + ACCESS_KEY_LENGTH + PROOF_LENGTH;

/** A parsed deletion record (its signature not yet checked). */
export interface DeletionRecord {
  /** The record's bytes as sent. */
  readonly bytes: Uint8Array;
  /** Header bytes of the deleted object. */
  readonly headerBytes: Uint8Array;
  /** That header, decoded. */
  readonly header: ObjectHeader;
  /** The access key the record claims the object has. */
  readonly accessKey: Uint8Array;
  /** Ed25519 signature by that key. */
  readonly signature: Uint8Array;
}

async function signedMessage(headerBytes: Uint8Array): Promise<Uint8Array<ArrayBuffer>> {
  return concat(LABEL, new Uint8Array([0]), await sha256(headerBytes));
}

/** Makes the deletion record of the object `headerBytes`, signed with its access `keys`. */
export async function makeDeletionRecord(
  headerBytes: Uint8Array,
  keys: AccessKeys,
): Promise<Uint8Array> {
  const signature = new Uint8Array(
    await crypto.subtle.sign("Ed25519", keys.privateKey, await signedMessage(headerBytes)),
  );
  const length = new Uint8Array(2);
  new DataView(length.buffer).setUint16(0, headerBytes.length);
  return concat(
    DELETION_MAGIC,
    new Uint8Array([RECORD_VERSION]),
    length,
    headerBytes,
    keys.publicKey,
    signature,
  );
}

/** Parses a record; throws FormatError when it is malformed (its signature is not checked). */
export function decodeDeletionRecord(bytes: Uint8Array): DeletionRecord {
  if (bytes.length < 7 || bytes.length > MAX_DELETION_RECORD) {
    throw new FormatError("deletion record length out of range");
  }
  if (!equalBytes(bytes.subarray(0, 4), DELETION_MAGIC) || bytes[4] !== RECORD_VERSION) {
    throw new FormatError("not a version 1 deletion record");
  }
  const headerLength = new DataView(bytes.buffer, bytes.byteOffset + 5, 2).getUint16(0);
  if (bytes.length !== 7 + headerLength + ACCESS_KEY_LENGTH + PROOF_LENGTH) {
    throw new FormatError("deletion record length does not match its header length");
  }
  const headerBytes = bytes.slice(7, 7 + headerLength);
  const keyAt = 7 + headerLength;
  return {
    bytes: bytes.slice(),
    headerBytes,
    header: decodeHeader(headerBytes),
    accessKey: bytes.slice(keyAt, keyAt + ACCESS_KEY_LENGTH),
    signature: bytes.slice(keyAt + ACCESS_KEY_LENGTH),
  };
}

/**
 * Whether `record`'s signature verifies under `accessKey`: the key a server
 * stored with the object (never the key the record carries, unless that key
 * is vouched for some other way).
 */
export async function verifyDeletionRecord(
  record: DeletionRecord,
  accessKey: Uint8Array,
): Promise<boolean> {
  if (accessKey.length !== ACCESS_KEY_LENGTH) return false;
  try {
    const key = await crypto.subtle.importKey(
      "raw",
      webBytes(accessKey),
      { name: "Ed25519" },
      false,
      ["verify"],
    );
    return await crypto.subtle.verify(
      "Ed25519",
      key,
      webBytes(record.signature),
      await signedMessage(record.headerBytes),
    );
  } catch {
    return false;
  }
}
