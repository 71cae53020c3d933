/**
 * Test helpers: seal to memory, cut share streams into their parts, and
 * open from chosen (possibly tampered) parts.
 *
 * @module
 */

import { open, type OpenOptions, seal, type SealOptions, type ShareSource } from "../mod.ts";
import { fragmentLength } from "../core/erasure.ts";
import { FRAGMENT_TAG_LENGTH } from "../core/fragment.ts";
import { decodeHeader, segmentCount, segmentLength } from "../core/header.ts";
import { KEY_SHARE_LENGTH } from "../core/key_shares.ts";
import { TAG_LENGTH } from "../core/stream.ts";
import { concat } from "../core/bytes.ts";

/** A sealed object held in memory, each index's share stream split into parts. */
export interface MemoryObject {
  header: Uint8Array;
  manifest: Uint8Array;
  /** `keyShares[i]` belongs to index i + 1. */
  keyShares: Uint8Array[];
  /** `frames[i][j]` is index i + 1's frame of segment j. */
  frames: Uint8Array[][];
  retrievalToken: Uint8Array;
}

/** Options for test sealing: cheap scrypt unless asked otherwise. */
export type TestSealOptions = Partial<SealOptions> & Pick<SealOptions, "k" | "n">;

/** Seals `data` (emitted in `chunk`-sized pieces) and splits every share stream into parts. */
export async function sealToMemory(
  data: Uint8Array,
  options: TestSealOptions,
  chunk = 100_000,
): Promise<MemoryObject> {
  const pieces: Uint8Array[] = [];
  for (let i = 0; i < data.length; i += chunk) pieces.push(data.slice(i, i + chunk));
  const sealed = await seal(ReadableStream.from(pieces), {
    tag: "/test/object",
    password: "test password",
    logN: 10,
    segmentSize: 65536,
    allowSingleShare: true,
    ...options,
  });
  const bodies = await Promise.all(sealed.shares.map((s) => new Response(s).bytes()));
  const { headerBytes, manifest } = await sealed.done;
  const header = decodeHeader(headerBytes);
  const keyShares: Uint8Array[] = [];
  const frames: Uint8Array[][] = [];
  for (const body of bodies) {
    keyShares.push(body.slice(0, KEY_SHARE_LENGTH));
    const parts: Uint8Array[] = [];
    let offset = KEY_SHARE_LENGTH;
    for (let j = 0; j < segmentCount(header); j++) {
      const length = fragmentLength(segmentLength(header, j) + 2 * TAG_LENGTH, header.k) +
        FRAGMENT_TAG_LENGTH;
      parts.push(body.slice(offset, offset + length));
      offset += length;
    }
    if (offset !== body.length) {
      throw new Error(`share stream has ${body.length - offset} extra bytes`);
    }
    frames.push(parts);
  }
  return {
    header: headerBytes,
    manifest,
    keyShares,
    frames,
    retrievalToken: sealed.retrievalToken,
  };
}

/** The full share stream bytes of index `index` of `object`. */
export function shareBody(object: MemoryObject, index: number): Uint8Array {
  return concat(object.keyShares[index - 1], ...object.frames[index - 1]);
}

/** Parts of one source to replace, for tampering. */
export interface SourceOverrides {
  header?: Uint8Array;
  manifest?: Uint8Array;
  body?: Uint8Array;
  chunk?: number;
}

/** A share source for `index`, its stream served in chunks (50,000 bytes unless overridden). */
export function source(
  object: MemoryObject,
  index: number,
  overrides: SourceOverrides = {},
): ShareSource {
  const body = overrides.body ?? shareBody(object, index);
  const chunk = overrides.chunk ?? 50_000;
  const pieces: Uint8Array[] = [];
  for (let i = 0; i < body.length; i += chunk) pieces.push(body.slice(i, i + chunk));
  return {
    index,
    header: overrides.header ?? object.header,
    manifest: overrides.manifest ?? object.manifest,
    shares: ReadableStream.from(pieces),
  };
}

/** Deep copy, so a test can tamper without touching the original. */
export function cloneObject(object: MemoryObject): MemoryObject {
  return {
    header: object.header.slice(),
    manifest: object.manifest.slice(),
    keyShares: object.keyShares.map((s) => s.slice()),
    frames: object.frames.map((parts) => parts.map((f) => f.slice())),
    retrievalToken: object.retrievalToken.slice(),
  };
}

/** Opens from `sources` and reads the whole plaintext. */
export async function openAll(
  sources: ShareSource[],
  options: Partial<OpenOptions> = {},
): Promise<{ plaintext: Uint8Array; rejections: Awaited<ReturnType<typeof open>>["rejections"] }> {
  const opened = await open(sources, {
    tag: "/test/object",
    password: "test password",
    ...options,
  });
  const plaintext = await new Response(opened.plaintext).bytes();
  return { plaintext, rejections: opened.rejections };
}

/** Whether two byte arrays are equal (fast, for large buffers). */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
