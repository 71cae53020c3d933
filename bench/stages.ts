/**
 * Single-stage limits: each primitive of the pipeline alone, on one thread,
 * over a given number of bytes in segment-sized pieces, awaited one by one as
 * the pipeline does. These bound what the end-to-end numbers can reach.
 *
 * @module
 */

import { chacha20poly1305 } from "@noble/ciphers/chacha.js";
import { ErasureCoder } from "../core/erasure.ts";
import { MiB } from "./common.ts";

/** Identifiers of the stages measured. */
export type StageId =
  | "chacha-encrypt"
  | "chacha-decrypt"
  | "aes-gcm-encrypt"
  | "aes-gcm-decrypt"
  | "rs-encode"
  | "rs-decode-2-missing"
  | "rs-decode-systematic"
  | "sha256"
  | "hmac-sha256";

/** The throughput of one stage. */
export interface StageResult {
  /** Stable identifier. */
  readonly id: StageId;
  /** Human-readable name. */
  readonly label: string;
  /** Bytes processed in the timed part (input bytes; output bytes for RS decode). */
  readonly bytes: number;
  /** Size of each piece. */
  readonly pieceSize: number;
  /** Wall-clock seconds of the timed part. */
  readonly seconds: number;
  /** MiB per second. */
  readonly mibps: number;
}

/** How much to measure. */
export interface StageOptions {
  /** Bytes per stage (rounded to whole pieces). */
  readonly totalBytes: number;
  /** Piece size, the segment size of the pipeline. */
  readonly pieceSize: number;
  /** Erasure code parameters. */
  readonly k: number;
  /** Erasure code parameters. */
  readonly n: number;
  /** Called before each stage starts, for progress output. */
  readonly onStart?: (label: string) => void;
}

const POOL = 4;

function randomPiece(length: number): Uint8Array<ArrayBuffer> {
  const piece = new Uint8Array(length);
  for (let offset = 0; offset < length; offset += 65536) {
    crypto.getRandomValues(piece.subarray(offset, Math.min(length, offset + 65536)));
  }
  return piece;
}

function nonce(counter: number): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(12);
  new DataView(bytes.buffer).setUint32(8, counter);
  return bytes;
}

/** Times `run(i)` over enough pieces for `options.totalBytes`, after a short warm-up. */
async function measure(
  id: StageId,
  label: string,
  options: StageOptions,
  run: (i: number) => unknown,
): Promise<StageResult> {
  options.onStart?.(label);
  const count = Math.max(1, Math.round(options.totalBytes / options.pieceSize));
  const warm = Math.min(count, Math.max(4, Math.ceil(8 * MiB / options.pieceSize)));
  for (let i = 0; i < warm; i++) {
    const pending = run(i);
    if (pending instanceof Promise) await pending;
  }
  const start = performance.now();
  for (let i = 0; i < count; i++) {
    const pending = run(i);
    if (pending instanceof Promise) await pending;
  }
  const seconds = (performance.now() - start) / 1000;
  const bytes = count * options.pieceSize;
  return { id, label, bytes, pieceSize: options.pieceSize, seconds, mibps: bytes / MiB / seconds };
}

/** Measures every stage in turn and returns their throughputs. */
export async function measureStages(options: StageOptions): Promise<StageResult[]> {
  const { pieceSize, k, n } = options;
  const pieces = Array.from({ length: POOL }, () => randomPiece(pieceSize));
  const results: StageResult[] = [];

  const chachaKey = randomPiece(32);
  const chachaSealed = pieces.map((p, i) => chacha20poly1305(chachaKey, nonce(i)).encrypt(p));
  results.push(
    await measure(
      "chacha-encrypt",
      "ChaCha20-Poly1305 encrypt (@noble/ciphers)",
      options,
      (i) => chacha20poly1305(chachaKey, nonce(i)).encrypt(pieces[i % POOL]),
    ),
    await measure(
      "chacha-decrypt",
      "ChaCha20-Poly1305 decrypt (@noble/ciphers)",
      options,
      (i) => chacha20poly1305(chachaKey, nonce(i % POOL)).decrypt(chachaSealed[i % POOL]),
    ),
  );

  const aesKey = await crypto.subtle.importKey("raw", randomPiece(32), "AES-GCM", false, [
    "encrypt",
    "decrypt",
  ]);
  const additionalData = randomPiece(16);
  const aes = (i: number) => ({ name: "AES-GCM", iv: nonce(i), additionalData });
  const aesSealed = await Promise.all(
    pieces.map((p, i) => crypto.subtle.encrypt(aes(i), aesKey, p)),
  );
  results.push(
    await measure(
      "aes-gcm-encrypt",
      "AES-256-GCM encrypt (Web Crypto)",
      options,
      (i) => crypto.subtle.encrypt(aes(i), aesKey, pieces[i % POOL]),
    ),
    await measure(
      "aes-gcm-decrypt",
      "AES-256-GCM decrypt (Web Crypto)",
      options,
      (i) => crypto.subtle.decrypt(aes(i % POOL), aesKey, aesSealed[i % POOL]),
    ),
  );

  const coder = new ErasureCoder(k, n);
  const encoded = pieces.map((p) => coder.encode(p));
  // Slots 0 and 2 (share indices 1 and 3, both data fragments) missing: what opening from 2,4,5 does.
  const degraded = encoded.map((f) => f.map((x, i) => (i === 0 || i === 2 ? undefined : x)));
  const systematic = encoded.map((f) => f.map((x, i) => (i < k ? x : undefined)));
  results.push(
    await measure(
      "rs-encode",
      `Reed-Solomon encode k=${k} n=${n} (core/erasure.ts)`,
      options,
      (i) => coder.encode(pieces[i % POOL]),
    ),
    await measure(
      "rs-decode-2-missing",
      `Reed-Solomon decode, data fragments 1,3 missing`,
      options,
      (i) => coder.decode(degraded[i % POOL], pieceSize),
    ),
    await measure(
      "rs-decode-systematic",
      `Reed-Solomon decode, systematic (1..${k})`,
      options,
      (i) => coder.decode(systematic[i % POOL], pieceSize),
    ),
  );

  const hmacKey = await crypto.subtle.importKey(
    "raw",
    randomPiece(32),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  results.push(
    await measure(
      "sha256",
      "SHA-256 (Web Crypto)",
      options,
      (i) => crypto.subtle.digest("SHA-256", pieces[i % POOL]),
    ),
    await measure(
      "hmac-sha256",
      "HMAC-SHA-256 (Web Crypto)",
      options,
      (i) => crypto.subtle.sign("HMAC", hmacKey, pieces[i % POOL]),
    ),
  );
  return results;
}

/**
 * Throughput a pipeline doing the given stages one after another on one
 * thread would reach: `1 / Σ (bytes through stage per plaintext byte / stage speed)`.
 */
export function serialModel(
  stages: readonly StageResult[],
  work: readonly (readonly [StageId, number])[],
): number {
  let secondsPerMiB = 0;
  for (const [id, factor] of work) {
    const stage = stages.find((s) => s.id === id);
    if (stage === undefined) return NaN;
    secondsPerMiB += factor / stage.mibps;
  }
  return 1 / secondsPerMiB;
}
