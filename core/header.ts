/**
 * The public object header: everything needed before the password is known
 * (to list an object and to derive its keys). Layout in docs/FORMAT.md.
 *
 * @module
 */

import { readUint64, utf8, writeUint64 } from "./bytes.ts";
import { FormatError } from "./errors.ts";
import { encodeTag } from "./tag.ts";
import { ABSOLUTE_MAX_LOG_N, type KdfParams, MIN_LOG_N } from "./keys.ts";
import { MAX_FRAGMENTS } from "./erasure.ts";

/** Magic bytes "SSNH" that start every header. */
export const HEADER_MAGIC: Uint8Array = utf8("SSNH");
/** Format version written by this implementation (version 1 is still read; see {@linkcode decodeHeader}). */
export const FORMAT_VERSION = 2;
/** Highest tag version a header can carry (u32). */
export const MAX_TAG_VERSION = 2 ** 32 - 1;
/** The only KDF of version 1. */
export const KDF_SCRYPT = 1;
/** scrypt block size of version 1. */
export const SCRYPT_R = 8;
/** scrypt parallelism of version 1. */
export const SCRYPT_P = 1;
/** Smallest segment size (log2). */
export const MIN_SEGMENT_LOG2 = 16;
/** Largest segment size (log2). */
export const MAX_SEGMENT_LOG2 = 20;
/** Largest plaintext size the format records (2^53 − 1). */
export const MAX_PLAINTEXT_SIZE = Number.MAX_SAFE_INTEGER;

const FIXED_LENGTH = 88;

/** The decoded header of one object. */
export interface ObjectHeader {
  /** Key derivation parameters and salt. */
  readonly kdf: KdfParams;
  /** Random 16-byte object id, unique per sealing. */
  readonly objectId: Uint8Array;
  /** Shares needed to open. */
  readonly k: number;
  /** Shares made. */
  readonly n: number;
  /** Plaintext segment size in bytes (a power of two). */
  readonly segmentSize: number;
  /** When the object was sealed, in milliseconds since the Unix epoch. */
  readonly created: number;
  /** Plaintext length in bytes. */
  readonly size: number;
  /** The tag the object was sealed under. */
  readonly tag: string;
  /**
   * The tag's version: a new object of a tag takes the highest version seen
   * plus one, so the newest object is found without trusting any clock.
   * Objects of format 1 have none and count as version 0.
   */
  readonly version: number;
}

/**
 * Serialises `header`; throws a RangeError on a field that does not fit its
 * byte range, and a FormatError on one that fits but is not allowed.
 */
export function encodeHeader(header: ObjectHeader): Uint8Array {
  const tag = encodeTag(header.tag);
  if (header.kdf.salt.length !== 32) throw new RangeError("salt must be 32 bytes");
  if (header.objectId.length !== 16) throw new RangeError("object id must be 16 bytes");
  const { kdf, k, n, created, size, segmentSize } = header;
  for (
    const [name, value, max] of [
      ["logN", kdf.logN, 255],
      ["r", kdf.r, 255],
      ["p", kdf.p, 255],
      ["k", k, 255],
      ["n", n, 255],
      ["created", created, MAX_PLAINTEXT_SIZE],
      ["size", size, MAX_PLAINTEXT_SIZE],
      ["version", header.version, MAX_TAG_VERSION],
    ] as const
  ) {
    if (!Number.isSafeInteger(value) || value < 0 || value > max) {
      throw new RangeError(`header field ${name} out of range: ${value}`);
    }
  }
  if (!Number.isInteger(Math.log2(segmentSize))) {
    throw new RangeError(`segment size ${segmentSize} is not a power of two`);
  }
  const out = new Uint8Array(FIXED_LENGTH + tag.length);
  const view = new DataView(out.buffer);
  out.set(HEADER_MAGIC, 0);
  out[4] = FORMAT_VERSION;
  out[5] = KDF_SCRYPT;
  out[6] = header.kdf.logN;
  out[7] = header.kdf.r;
  out[8] = header.kdf.p;
  out.set(header.kdf.salt, 9);
  out.set(header.objectId, 41);
  out[57] = header.k;
  out[58] = header.n;
  out[59] = Math.log2(header.segmentSize);
  out[60] = 0; // flags, reserved
  writeUint64(view, 61, header.created);
  writeUint64(view, 69, header.size);
  view.setUint16(77, tag.length);
  view.setUint32(79, header.version);
  out.fill(0, 83, FIXED_LENGTH); // reserved
  out.set(tag, FIXED_LENGTH);
  checkHeader(decodeHeader(out));
  return out;
}

/**
 * Parses and validates header bytes; throws a {@linkcode FormatError} on any
 * deviation. Format 1 headers (no tag version: bytes 79..87 reserved) are
 * read as version 0; format 2 headers carry a version of at least 1.
 */
export function decodeHeader(bytes: Uint8Array): ObjectHeader {
  if (bytes.length < FIXED_LENGTH) throw new FormatError("header too short");
  for (let i = 0; i < 4; i++) {
    if (bytes[i] !== HEADER_MAGIC[i]) throw new FormatError("not a secshrnet header");
  }
  const format = bytes[4];
  if (format !== 1 && format !== FORMAT_VERSION) {
    throw new FormatError(`unsupported format version ${format}`);
  }
  if (bytes[5] !== KDF_SCRYPT) throw new FormatError(`unknown KDF ${bytes[5]}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tagLength = view.getUint16(77);
  if (bytes.length !== FIXED_LENGTH + tagLength) throw new FormatError("header length mismatch");
  const reservedFrom = format === 1 ? 79 : 83;
  if (bytes[60] !== 0 || bytes.subarray(reservedFrom, FIXED_LENGTH).some((b) => b !== 0)) {
    throw new FormatError("reserved header bits set");
  }
  const version = format === 1 ? 0 : view.getUint32(79);
  if (format === FORMAT_VERSION && version === 0) {
    throw new FormatError("tag version 0 in a format 2 header");
  }
  let tag: string;
  try {
    tag = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(
      bytes.subarray(FIXED_LENGTH),
    );
  } catch {
    throw new FormatError("header tag is not UTF-8");
  }
  let created: number, size: number;
  try {
    created = readUint64(view, 61);
    size = readUint64(view, 69);
  } catch {
    throw new FormatError("header integer out of range");
  }
  const header: ObjectHeader = {
    kdf: { logN: bytes[6], r: bytes[7], p: bytes[8], salt: bytes.slice(9, 41) },
    objectId: bytes.slice(41, 57),
    k: bytes[57],
    n: bytes[58],
    segmentSize: 2 ** bytes[59],
    created,
    size,
    tag,
    version,
  };
  checkHeader(header);
  return header;
}

function checkHeader(header: ObjectHeader): void {
  const { kdf, k, n, segmentSize } = header;
  if (kdf.logN < MIN_LOG_N || kdf.logN > ABSOLUTE_MAX_LOG_N) {
    throw new FormatError(`scrypt logN ${kdf.logN} outside ${MIN_LOG_N}..${ABSOLUTE_MAX_LOG_N}`);
  }
  if (kdf.r !== SCRYPT_R || kdf.p !== SCRYPT_P) throw new FormatError("unsupported scrypt r or p");
  if (k < 1 || n < k || n > MAX_FRAGMENTS) throw new FormatError(`invalid k=${k} n=${n}`);
  const log2 = Math.log2(segmentSize);
  if (!Number.isInteger(log2) || log2 < MIN_SEGMENT_LOG2 || log2 > MAX_SEGMENT_LOG2) {
    throw new FormatError(`invalid segment size ${segmentSize}`);
  }
  try {
    encodeTag(header.tag);
  } catch (error) {
    throw new FormatError(`invalid tag in header: ${(error as Error).message}`);
  }
}

/** Number of segments of an object of `size` bytes (an empty object has one, empty, segment). */
export function segmentCount(header: Pick<ObjectHeader, "size" | "segmentSize">): number {
  return header.size === 0 ? 1 : Math.ceil(header.size / header.segmentSize);
}

/** Plaintext length of segment `index`. */
export function segmentLength(
  header: Pick<ObjectHeader, "size" | "segmentSize">,
  index: number,
): number {
  const count = segmentCount(header);
  return index < count - 1 ? header.segmentSize : header.size - (count - 1) * header.segmentSize;
}

/** Bytes of the frame of a segment holding `length` plaintext bytes (fragment + 32-byte tag). */
export function frameLength(header: Pick<ObjectHeader, "k">, length: number): number {
  return 4 * Math.ceil((length + 32) / (4 * header.k)) + 32;
}

/**
 * Byte offset of segment `segment`'s frame in a share stream: after the
 * 33-byte key share and the full-size frames before it. With `segment` equal
 * to the segment count it is the stream's length (docs/FORMAT.md). Servers
 * check uploads against it; clients resume downloads from it.
 */
export function frameOffset(header: ObjectHeader, segment: number): number {
  const count = segmentCount(header);
  if (segment < count) return 33 + segment * frameLength(header, header.segmentSize);
  return frameOffset(header, count - 1) + frameLength(header, segmentLength(header, count - 1));
}

/** Length in bytes of one index's share stream for `header`. */
export function shareStreamLength(header: ObjectHeader): number {
  return frameOffset(header, segmentCount(header));
}
