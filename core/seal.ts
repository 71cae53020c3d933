/**
 * Sealing: plaintext stream in, n share streams out, all keys from one scrypt.
 *
 * ```text
 * plaintext ─ segments ─ ChaCha20-Poly1305 (file key) ─ AES-256-GCM (share key)
 *           ─ Reed-Solomon k-of-n ─ fragment i + HMAC tag ─ share stream i
 * share key ─ Shamir k-of-n ─ key share i (first 33 bytes of share stream i)
 * ```
 *
 * @module
 */

import { randomBytes } from "./bytes.ts";
import { UsageError } from "./errors.ts";
import { MAX_FRAGMENTS } from "./erasure.ts";
import { FanOut } from "./fanout.ts";
import {
  encodeHeader,
  MAX_PLAINTEXT_SIZE,
  MAX_SEGMENT_LOG2,
  MAX_TAG_VERSION,
  MIN_SEGMENT_LOG2,
  type ObjectHeader,
  SCRYPT_P,
  SCRYPT_R,
} from "./header.ts";
import { splitShareKey } from "./key_shares.ts";
import {
  ABSOLUTE_MAX_LOG_N,
  DEFAULT_LOG_N,
  deriveMasterKey,
  deriveObjectKeys,
  MIN_LOG_N,
} from "./keys.ts";
import { encodeManifest } from "./manifest.ts";
import { GarbagePacer } from "./memory.ts";
import { type ByteSource, segments } from "./segmenter.ts";
import { importShareKey } from "./share_cipher.ts";
import { defaultWorkers, MAX_WORKERS, SegmentWorkers } from "./segment_workers.ts";
import { encodeTag } from "./tag.ts";

/** Budget for one segment's fragments (n/k × segment size) when choosing the segment size. */
export const SEGMENT_FRAGMENTS_BUDGET = 8 * 2 ** 20;

/**
 * The segment size used unless the caller picks one: the largest power of
 * two from 64 KiB to 1 MiB whose n fragments together (n/k × size) fit in
 * {@linkcode SEGMENT_FRAGMENTS_BUDGET}. Larger segments are faster (fewer
 * calls per byte); the cap bounds memory when n/k is large.
 */
export function defaultSegmentSize(k: number, n: number): number {
  let log2 = MAX_SEGMENT_LOG2;
  while (log2 > MIN_SEGMENT_LOG2 && (2 ** log2 * n) / k > SEGMENT_FRAGMENTS_BUDGET) log2--;
  return 2 ** log2;
}

/** What {@linkcode seal} needs. */
export interface SealOptions {
  /** The tag the object is stored under; bound into every key. */
  tag: string;
  /** The password (a string is NFC-normalised and UTF-8 encoded). */
  password: string | Uint8Array;
  /** Shares needed to open, 1..n. */
  k: number;
  /** Shares made, k..255. */
  n: number;
  /** Must be true for k = 1, where every single share opens layer 2. */
  allowSingleShare?: boolean;
  /** scrypt work factor, log2 N; default {@linkcode DEFAULT_LOG_N}. */
  logN?: number;
  /** Plaintext segment size, a power of two from 64 KiB to 1 MiB; default {@linkcode defaultSegmentSize}. */
  segmentSize?: number;
  /** Called with 0..1 while scrypt runs. */
  onKdfProgress?: (fraction: number) => void;
  /** Source of randomness; tests and vectors only. */
  random?: (length: number) => Uint8Array;
  /** Creation time in ms since the epoch; default now. */
  created?: number;
  /** The tag's version (1 + the highest version of the tag seen); default 1. */
  version?: number;
  /**
   * Web Workers sealing segments in parallel, 0 to {@linkcode MAX_WORKERS};
   * 0 seals on the calling thread. Default: one per core. The output is the
   * same for every value.
   */
  workers?: number;
}

/**
 * What seal reads: a byte stream, any async iterable of chunks, or a
 * {@linkcode ByteSource} such as an open `Deno.FsFile`, which fills each
 * segment in place (the fastest: no chunk buffers, no copies).
 */
export type SealInput = ReadableStream<Uint8Array> | AsyncIterable<Uint8Array> | ByteSource;

/** The result of the sealing once the whole input has been read. */
export interface SealResult {
  /** The decoded header. */
  readonly header: ObjectHeader;
  /** The public header bytes, identical for every index. */
  readonly headerBytes: Uint8Array;
  /** The manifest bytes, identical for every index. */
  readonly manifest: Uint8Array;
}

/** A sealing in progress. */
export interface SealedObject {
  /** The object id (also in the header). */
  readonly objectId: Uint8Array;
  /** Proof of the password for servers; known before any data is read. */
  readonly retrievalToken: Uint8Array;
  /**
   * `shares[i]` is the share stream of index i + 1. Read them all, or cancel the ones not
   * wanted. Each chunk read is the reader's own: nothing else holds its buffer.
   */
  readonly shares: ReadableStream<Uint8Array>[];
  /** Resolves when the input has been consumed and every share stream closed. */
  readonly done: Promise<SealResult>;
}

/** Checks k, n, log N and segment size, throwing a {@linkcode UsageError} on the first bad one. */
export function checkSealOptions(options: SealOptions): void {
  const { k, n } = options;
  if (!Number.isInteger(n) || n < 1 || n > MAX_FRAGMENTS) {
    throw new UsageError(`n must be an integer from 1 to ${MAX_FRAGMENTS}, got ${n}`);
  }
  if (!Number.isInteger(k) || k < 1 || k > n) {
    throw new UsageError(`k must be an integer from 1 to n=${n}, got ${k}`);
  }
  if (k === 1 && !options.allowSingleShare) {
    throw new UsageError(
      "k = 1 lets every single share open the share layer; ask for it explicitly",
    );
  }
  const logN = options.logN ?? DEFAULT_LOG_N;
  if (!Number.isInteger(logN) || logN < MIN_LOG_N || logN > ABSOLUTE_MAX_LOG_N) {
    throw new UsageError(`logN must be an integer from ${MIN_LOG_N} to ${ABSOLUTE_MAX_LOG_N}`);
  }
  const log2 = Math.log2(options.segmentSize ?? defaultSegmentSize(k, n));
  if (!Number.isInteger(log2) || log2 < MIN_SEGMENT_LOG2 || log2 > MAX_SEGMENT_LOG2) {
    throw new UsageError("segment size must be a power of two from 64 KiB to 1 MiB");
  }
  const created = options.created;
  if (created !== undefined && (!Number.isSafeInteger(created) || created < 0)) {
    throw new UsageError(`created must be a non-negative integer of milliseconds, got ${created}`);
  }
  const version = options.version ?? 1;
  if (!Number.isInteger(version) || version < 1 || version > MAX_TAG_VERSION) {
    throw new UsageError(`version must be an integer from 1 to ${MAX_TAG_VERSION}, got ${version}`);
  }
  const workers = options.workers ?? defaultWorkers();
  if (!Number.isInteger(workers) || workers < 0 || workers > MAX_WORKERS) {
    throw new UsageError(`workers must be an integer from 0 to ${MAX_WORKERS}, got ${workers}`);
  }
  encodeTag(options.tag);
}

/**
 * Seals `input` under `options.tag` and the password into n share streams.
 * Memory stays bounded: the input is read only as fast as the slowest share
 * stream not cancelled is read. Key derivation runs before this resolves.
 */
export async function seal(
  input: SealInput,
  options: SealOptions,
): Promise<SealedObject> {
  checkSealOptions(options);
  const { k, n } = options;
  const random = options.random ?? randomBytes;
  const kdf = { logN: options.logN ?? DEFAULT_LOG_N, r: SCRYPT_R, p: SCRYPT_P, salt: random(32) };
  const objectId = random(16);
  const shareKey = random(32);
  const created = options.created ?? Date.now();
  const segmentSize = options.segmentSize ?? defaultSegmentSize(k, n);
  const master = await deriveMasterKey(options.password, kdf, {
    onProgress: options.onKdfProgress,
  });
  const keys = await deriveObjectKeys(master, encodeTag(options.tag), objectId);
  const keyShares = await splitShareKey(shareKey, k, n);
  const sealer = new SegmentWorkers(
    {
      fileKey: keys.fileKey,
      shareKey: await importShareKey(shareKey),
      fragmentKey: keys.fragmentKey,
      objectId,
    },
    k,
    n,
    options.workers ?? defaultWorkers(),
  );
  const fanOut = new FanOut(n);
  // A copy: the key shares are read again below, for the manifest.
  keyShares.forEach((share, i) => fanOut.enqueue(i, share.slice()));

  const produce = async (): Promise<SealResult> => {
    let size = 0;
    const pacer = new GarbagePacer();
    // Segments in work, oldest first: their frames go out in segment order.
    const inFlight: Promise<Uint8Array[]>[] = [];
    const emitOldest = async () => {
      const frames = await inFlight.shift()!;
      if (!await fanOut.ready()) {
        throw new DOMException("all share streams cancelled", "AbortError");
      }
      frames.forEach((frame, i) => fanOut.enqueue(i, frame));
    };
    try {
      for await (const segment of segments(input, segmentSize)) {
        const length = segment.data.length;
        size += length;
        if (size > MAX_PLAINTEXT_SIZE) throw new UsageError("input too large");
        // The segment's buffer is handed to a worker: it is not read here again.
        const sealed = sealer.seal(segment.counter, segment.last, segment.data);
        sealed.catch(() => {}); // awaited in order below; a failure surfaces there
        inFlight.push(sealed);
        if (inFlight.length >= sealer.depth) await emitOldest();
        pacer.processed(length);
      }
      while (inFlight.length > 0) await emitOldest();
    } finally {
      sealer.close();
    }
    const header: ObjectHeader = {
      kdf,
      objectId,
      k,
      n,
      segmentSize,
      created,
      size,
      tag: options.tag,
      version: options.version ?? 1,
    };
    const headerBytes = encodeHeader(header);
    const manifest = await encodeManifest(keys.manifestKey, headerBytes, shareKey, keyShares);
    fanOut.close();
    return { header, headerBytes, manifest };
  };
  const done = produce();
  done.catch((error) => fanOut.error(error));
  return { objectId, retrievalToken: keys.retrievalToken, shares: fanOut.streams, done };
}
