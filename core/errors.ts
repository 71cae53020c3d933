/**
 * Typed errors. Every error secshrnet raises on purpose is a
 * {@linkcode SecshrnetError} with a stable `code`, so callers (the CLI, the
 * network layer, tests) can tell the cases apart without parsing messages.
 *
 * @module
 */

/** Stable identifiers of the error cases. */
export type ErrorCode =
  | "usage"
  | "format"
  | "kdf-limit"
  | "wrong-tag"
  | "wrong-password"
  | "not-enough-shares"
  | "corrupt"
  | "exists"
  | "not-found"
  | "network"
  | "not-stored"
  | "rate-limited"
  | "root";

/** Base class of all deliberate secshrnet errors. */
export class SecshrnetError extends Error {
  /** Which case this is. */
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string) {
    super(message);
    this.code = code;
    this.name = new.target.name;
  }
}

/** An argument is invalid: k, n, a tag, a size, an option. */
export class UsageError extends SecshrnetError {
  constructor(message: string) {
    super("usage", message);
  }
}

/** Bytes that should hold a header or manifest do not parse. */
export class FormatError extends SecshrnetError {
  constructor(message: string) {
    super("format", message);
  }
}

/**
 * The object's KDF work factor is outside the caller's bounds: above the cap
 * (a header could make a client allocate gigabytes) or below the floor (a
 * forged cheap header would make each password guess cheap).
 */
export class KdfLimitError extends SecshrnetError {
  /** The work factor the object asks for (log2 N). */
  readonly logN: number;
  /** The highest work factor the caller accepts. */
  readonly maxLogN: number;
  /** The lowest work factor the caller accepts. */
  readonly minLogN: number;
  constructor(logN: number, maxLogN: number, minLogN = 0) {
    super(
      "kdf-limit",
      logN > maxLogN
        ? `object asks for scrypt logN ${logN}, above the limit ${maxLogN}; raise the limit ` +
          `(--max-log-n) to open it`
        : `object asks for scrypt logN ${logN}, below the floor ${minLogN}; if you stored it ` +
          `with --log-n ${logN}, set min_log_n = ${logN} under [kdf] in the config`,
    );
    this.logN = logN;
    this.maxLogN = maxLogN;
    this.minLogN = minLogN;
  }
}

/** scrypt at this work factor needs more memory than the machine has available. */
export class KdfMemoryError extends SecshrnetError {
  constructor(logN: number, needBytes: number, availableBytes: number) {
    super(
      "kdf-limit",
      `scrypt logN ${logN} needs ${binarySize(needBytes)} of memory and this machine has ` +
        `${binarySize(availableBytes)} available; use a lower work factor (--log-n 20 needs ` +
        `1 GiB) or run it on a machine with more memory`,
    );
  }
}

/** `bytes` in the largest binary unit that keeps it at least 1 (for messages). */
function binarySize(bytes: number): string {
  const units = ["bytes", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${Number.isInteger(value) ? value : value.toFixed(1)} ${units[unit]}`;
}

/** The object was sealed under a different tag than the one asked for. */
export class WrongTagError extends SecshrnetError {
  constructor(expected: string, found: string) {
    super(
      "wrong-tag",
      `object belongs to tag ${JSON.stringify(found)}, not ${JSON.stringify(expected)}`,
    );
  }
}

/**
 * The password is not the object's: the servers refused its access proof,
 * or no manifest authenticates under the key derived from it.
 */
export class WrongPasswordError extends SecshrnetError {
  /**
   * Wrong tries the servers will still check before they refuse the tag's
   * for a while (the fewest any of them said), when they said.
   */
  readonly triesLeft?: number;
  /** With no tries left: seconds the servers said they will refuse further tries. */
  readonly retryAfter?: number;
  constructor(budget: { triesLeft?: number; retryAfter?: number } = {}) {
    const { triesLeft, retryAfter } = budget;
    const tries = triesLeft === 1 ? "1 more try" : `${triesLeft} more tries`;
    super(
      "wrong-password",
      triesLeft === undefined
        ? "wrong password (check the tag and password)"
        : triesLeft > 0
        ? `wrong password (${tries} before the servers make you wait; check the tag and password)`
        : `wrong password; the servers will now refuse further tries for this tag for ${
          retryAfter === undefined ? "a while" : `${retryAfter} s`
        }`,
    );
    if (triesLeft !== undefined) this.triesLeft = triesLeft;
    if (retryAfter !== undefined) this.retryAfter = retryAfter;
  }
}

/** Why one index (one server's share) was not used. */
export type RejectionReason =
  | "header-invalid"
  | "header-mismatch"
  | "manifest-invalid"
  | "key-share-invalid"
  | "fragment-invalid"
  | "fragment-out-of-order"
  | "truncated"
  | "trailing-data"
  | "stream-error"
  | "slow"
  | "duplicate-index"
  | "index-out-of-range";

/** One index that was rejected while opening, and why. */
export interface Rejection {
  /** The share index (1-based, as in the manifest). */
  readonly index: number;
  /** The kind of fault. */
  readonly reason: RejectionReason;
  /** The segment at which the fault was found, when it concerns one. */
  readonly segment?: number;
  /** Human-readable detail. */
  readonly detail: string;
}

/** Fewer than k intact shares remain; `rejections` says which indices failed and why. */
export class NotEnoughSharesError extends SecshrnetError {
  /** Shares needed (k), or `undefined` when no share carried a readable header. */
  readonly needed: number | undefined;
  /** Intact shares found. */
  readonly found: number;
  /** Every index that was rejected, with its reason. */
  readonly rejections: readonly Rejection[];
  /** `detail` replaces the per-index text; `next`, the step to take, ends the message. */
  constructor(
    needed: number | undefined,
    found: number,
    rejections: readonly Rejection[],
    detail?: string,
    next?: string,
  ) {
    const summary = needed === undefined
      ? "found no share with a readable header"
      : `found ${found} of ${needed} needed shares`;
    detail ??= rejections.map((r) => `#${r.index} ${r.detail}`).join(", ");
    const message = detail ? `${summary} (${detail})` : summary;
    super("not-enough-shares", next ? `${message}; ${next}` : message);
    this.needed = needed;
    this.found = found;
    this.rejections = rejections;
  }

  /**
   * The same error with `detail` (e.g. which servers) in place of the
   * per-index text, and `next` (what to do) after it.
   */
  withDetail(detail: string, next?: string): NotEnoughSharesError {
    return new NotEnoughSharesError(this.needed, this.found, this.rejections, detail, next);
  }
}

/**
 * Data that passed every per-share check still failed to decrypt. Only a
 * holder of the password could produce this; it is never a server's fault.
 */
export class CorruptObjectError extends SecshrnetError {
  /** The segment that failed, or `undefined` for the share key itself. */
  readonly segment: number | undefined;
  constructor(segment: number | undefined, message: string) {
    super("corrupt", segment === undefined ? message : `segment ${segment}: ${message}`);
    this.segment = segment;
  }
}

/** The tag already holds an object (put without --force), or the output file exists (get). */
export class ExistsError extends SecshrnetError {
  constructor(message: string) {
    super("exists", message);
  }
}

/** No server holds the tag asked for. */
export class NotFoundError extends SecshrnetError {
  constructor(message: string) {
    super("not-found", message);
  }
}

/** Redis cannot be reached, no or too few servers are online, or a peer stopped answering. */
export class NetworkUnavailableError extends SecshrnetError {
  constructor(message: string) {
    super("network", message);
  }
}

/** Servers refuse a tag's access proofs for now: too many failed lately (a password being guessed). */
export class RateLimitedError extends SecshrnetError {
  constructor(message: string) {
    super("rate-limited", message);
  }
}

/** A put reached fewer than k servers: nothing new is recoverable (older objects are kept). */
export class NotStoredError extends SecshrnetError {
  constructor(message: string) {
    super("not-stored", message);
  }
}
