/**
 * secshrnet: keep confidential files safe and durable across machines you do
 * not fully trust. This module is the library API of the object pipeline:
 * {@linkcode seal} turns a byte stream, a password and a tag into n share
 * streams any k of which, with the password, give it back through
 * {@linkcode open}. Fewer than k shares reveal nothing about the content; a
 * bad share is named, not used. The format is specified in docs/FORMAT.md.
 *
 * @example
 * ```ts
 * import { open, seal } from "./mod.ts";
 * const sealed = await seal(ReadableStream.from([new TextEncoder().encode("hi")]), {
 *   tag: "/notes/hi", password: "correct horse", k: 2, n: 3, logN: 10,
 * });
 * const bodies = await Promise.all(sealed.shares.map((s) => new Response(s).bytes()));
 * const { headerBytes, manifest } = await sealed.done;
 * const opened = await open(
 *   [1, 3].map((index) => ({
 *     index, header: headerBytes, manifest, shares: ReadableStream.from([bodies[index - 1]]),
 *   })),
 *   { tag: "/notes/hi", password: "correct horse" },
 * );
 * console.log(await new Response(opened.plaintext).text()); // "hi"
 * ```
 *
 * @module
 */

export {
  checkSealOptions,
  defaultSegmentSize,
  seal,
  type SealedObject,
  type SealInput,
  type SealOptions,
  type SealResult,
} from "./core/seal.ts";
export type { ByteSource } from "./core/segmenter.ts";
export {
  open,
  type OpenedObject,
  type OpenOptions,
  openUnlocked,
  type ShareSource,
  type SpareSource,
  type SpareStart,
} from "./core/open.ts";
export { unlock, type UnlockedObject, type UnlockOptions } from "./core/unlock.ts";
export {
  decodeHeader,
  encodeHeader,
  FORMAT_VERSION,
  type ObjectHeader,
  segmentCount,
} from "./core/header.ts";
export {
  ABSOLUTE_MAX_LOG_N,
  DEFAULT_LOG_N,
  DEFAULT_MAX_LOG_N,
  DEFAULT_MIN_LOG_N,
  type KdfParams,
  MIN_LOG_N,
  type ObjectKeys,
} from "./core/keys.ts";
export { encodeTag, MAX_TAG_BYTES } from "./core/tag.ts";
export {
  CorruptObjectError,
  type ErrorCode,
  FormatError,
  KdfLimitError,
  NotEnoughSharesError,
  type Rejection,
  type RejectionReason,
  SecshrnetError,
  UsageError,
  WrongPasswordError,
  WrongTagError,
} from "./core/errors.ts";
export { VERSION } from "./core/version.ts";
