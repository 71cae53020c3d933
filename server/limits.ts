/**
 * Limits a server applies to what it does for others: here, how often access
 * proofs may fail, per tag and per client identity (server/proofs.ts).
 *
 * @module
 */

/** Options of {@linkcode FailureLimiter}. */
export interface FailureLimits {
  /** Failures allowed in a burst; default 20. */
  burst?: number;
  /** Milliseconds to earn back one allowed failure; default 3000 (20 a minute). */
  refillMs?: number;
}

/** Most keys tracked (the fullest buckets, i.e. the least suspicious, are dropped first). */
const MAX_KEYS = 100_000;

/**
 * A token bucket of failures per key (a tag's hash, a client's address):
 * each failure spends one token, tokens come back at a steady rate, and
 * `waitMs` says how long until the key has one again.
 */
export class FailureLimiter {
  readonly #burst: number;
  readonly #refillMs: number;
  readonly #buckets = new Map<string, { tokens: number; at: number }>();

  constructor(limits: FailureLimits = {}) {
    this.#burst = limits.burst ?? 20;
    this.#refillMs = limits.refillMs ?? 3000;
  }

  /** Milliseconds until `key` may be tried again; 0 when it may be now. */
  waitMs(key: string, now = Date.now()): number {
    const tokens = this.#tokens(key, now);
    return tokens >= 1 ? 0 : Math.ceil((1 - tokens) * this.#refillMs);
  }

  /** Failures `key` may still have before it must wait (whole ones; refills not counted). */
  remaining(key: string, now = Date.now()): number {
    return Math.floor(this.#tokens(key, now));
  }

  /** Records one failure of `key`. */
  failed(key: string, now = Date.now()): void {
    this.#set(key, this.#tokens(key, now) - 1, now);
  }

  /** Spends every failure `key` has left: it waits a whole refill period before the next try. */
  exhaust(key: string, now = Date.now()): void {
    this.#set(key, 0, now);
  }

  #set(key: string, tokens: number, now: number): void {
    this.#buckets.delete(key);
    this.#buckets.set(key, { tokens: Math.max(0, tokens), at: now });
    if (this.#buckets.size > MAX_KEYS) this.#forgetFullest(now);
  }

  #tokens(key: string, now: number): number {
    const bucket = this.#buckets.get(key);
    if (bucket === undefined) return this.#burst;
    return Math.min(this.#burst, bucket.tokens + (now - bucket.at) / this.#refillMs);
  }

  #forgetFullest(now: number): void {
    for (const key of this.#buckets.keys()) {
      if (this.#tokens(key, now) >= this.#burst) this.#buckets.delete(key);
    }
    // Still full of buckets in use: drop the oldest.
    while (this.#buckets.size > MAX_KEYS) this.#buckets.delete(this.#buckets.keys().next().value!);
  }
}
