/**
 * The server's side of access proofs (docs/PROTOCOL.md, "Access"): single-use
 * nonces bound to the client they were given to, and limits on failed proofs
 * that slow online password guessing without ever locking the owner out.
 *
 * - A nonce this server does not know (never issued, spent, expired, or
 *   issued to another client) is `expired`: it says nothing about the
 *   password and is not a failed proof, so a bystander sending random nonces
 *   costs nobody anything.
 * - A proof on a valid nonce is always checked, so a correct one always gets
 *   through, however many failed before it.
 * - Failures are counted per client identity (beyond its burst that identity
 *   is refused unchecked for a while) and per tag: once a tag's burst is
 *   spent, every identity that fails on it is refused at once from then on.
 *   A guesser must then use a new identity for every guess, and each guess
 *   still costs it one scrypt at the object's own work factor.
 *
 * @module
 */

import { toHex } from "../core/bytes.ts";
import { Counts } from "../core/counts.ts";
import { NONCE_LENGTH, PROOF_LENGTH } from "../core/access.ts";
import type { Address } from "../core/net/envelope.ts";
import { bytesField } from "../core/net/fields.ts";
import { FailureLimiter, type FailureLimits } from "./limits.ts";
import { type AccessProof, StoreError } from "./store.ts";

/** How long a challenge nonce stays valid. */
export const NONCE_LIFETIME_MS = 60_000;
/** Most nonces outstanding at once (the oldest are dropped beyond it). */
export const MAX_NONCES = 10_000;
/** Most nonces outstanding for one client (its oldest is dropped beyond it). */
export const MAX_NONCES_PER_CLIENT = 64;

/** Limits on failed proofs: per tag, and per client identity. */
export interface ProofLimits {
  /** Failures of one tag; default a burst of 20, then one per 3 s. */
  tag?: FailureLimits;
  /** Failures of one client identity, whatever the tag; default a burst of 10, then one per 3 s. */
  client?: FailureLimits;
}

/**
 * A failed access proof (`forbidden`) with how many more the server will
 * check before it refuses them, or a refused one (`rate-limited`) with when
 * it checks one again: the error reply carries both (docs/PROTOCOL.md,
 * "Requests and replies"; core/net/errors.ts, ProofBudget).
 */
export class ProofLimitError extends StoreError {
  /** Failed proofs on this tag still checked (0 when this client is refused for a while). */
  readonly triesLeft?: number;
  /** Seconds until a proof is checked again, when none is now or after this one. */
  readonly retryAfter?: number;
  constructor(
    code: "forbidden" | "rate-limited",
    message: string,
    budget: { triesLeft?: number; retryAfter?: number },
  ) {
    super(code, message);
    if (budget.triesLeft !== undefined) this.triesLeft = budget.triesLeft;
    if (budget.retryAfter !== undefined) this.retryAfter = budget.retryAfter;
  }
}

/** Nonces handed out and failed proofs counted, for one server. */
export class ProofGate {
  readonly #nonces = new Map<string, { owner: Address; expires: number }>();
  /** Outstanding nonces per client. */
  readonly #counts = new Counts<Address>();
  readonly #tagFailures: FailureLimiter;
  readonly #clientFailures: FailureLimiter;
  readonly #onFailure: (tag: string) => void;

  constructor(limits: ProofLimits = {}, onFailure: (tag: string) => void = () => {}) {
    this.#tagFailures = new FailureLimiter(limits.tag);
    this.#clientFailures = new FailureLimiter({ burst: 10, ...limits.client });
    this.#onFailure = onFailure;
  }

  /** A fresh nonce for `owner`, valid once for {@linkcode NONCE_LIFETIME_MS}. */
  challenge(owner: Address): Uint8Array {
    const now = Date.now();
    // Oldest first: drop the expired ones, and beyond the total limit the oldest.
    for (const [key, entry] of this.#nonces) {
      if (entry.expires > now && this.#nonces.size < MAX_NONCES) break;
      this.#spend(key);
    }
    if (this.#counts.get(owner) >= MAX_NONCES_PER_CLIENT) {
      // Only a client at its limit pays for this search: its own oldest goes.
      for (const [key, entry] of this.#nonces) {
        if (entry.owner !== owner) continue;
        this.#spend(key);
        break;
      }
    }
    const nonce = crypto.getRandomValues(new Uint8Array(NONCE_LENGTH));
    this.#nonces.set(toHex(nonce), { owner, expires: now + NONCE_LIFETIME_MS });
    this.#counts.add(owner);
    return nonce;
  }

  /**
   * The access proof of a request body, its nonce spent; throws `expired`
   * (not a failed proof) when this server did not issue the nonce to `from`
   * within its lifetime.
   */
  proofOf(body: Record<string, unknown>, from: Address): AccessProof {
    const nonce = bytesField(body, "nonce", NONCE_LENGTH).slice();
    const proof = bytesField(body, "proof", PROOF_LENGTH).slice();
    const entry = this.#spend(toHex(nonce));
    if (entry === undefined || entry.owner !== from || entry.expires < Date.now()) {
      throw new StoreError("expired", "unknown or expired nonce; ask for a new challenge");
    }
    return { nonce, proof };
  }

  /**
   * `error` (a `forbidden`) with how many more failed proofs on the tag keyed
   * `key` will be checked before they are refused (the tag's count, which every
   * client shares: a command line is a new client each run), or 0 once `from`
   * itself is refused; when none will be, how many seconds until one is
   * (core/net/errors.ts, ProofBudget).
   */
  #withBudget(error: StoreError, key: string, from: Address, now: number): ProofLimitError {
    const clientWait = this.#clientFailures.waitMs(from, now);
    const triesLeft = clientWait > 0 ? 0 : this.#tagFailures.remaining(key, now);
    const waitMs = Math.max(clientWait, this.#tagFailures.waitMs(key, now));
    return new ProofLimitError("forbidden", error.message, {
      triesLeft,
      retryAfter: triesLeft === 0 ? seconds(waitMs) : undefined,
    });
  }

  /** Removes the nonce `key` (hex), returning what it was. */
  #spend(key: string): { owner: Address; expires: number } | undefined {
    const entry = this.#nonces.get(key);
    if (entry === undefined) return undefined;
    this.#nonces.delete(key);
    this.#counts.remove(entry.owner);
    return entry;
  }

  /**
   * Runs `check`, which checks `from`'s access proof for `tag`, unless `from`
   * has failed too often lately (`rate-limited`, unchecked). A `forbidden`
   * outcome counts against `from` and against the tag; once the tag's
   * failures are spent, each identity failing on it is refused from then on
   * (`rate-limited`). Nothing here ever refuses a proof unchecked for what
   * others did.
   */
  async guard<T>(tag: string, from: Address, check: () => Promise<T>): Promise<T> {
    const clientWait = this.#clientFailures.waitMs(from);
    if (clientWait > 0) {
      throw new ProofLimitError(
        "rate-limited",
        `too many failed access proofs from this client; try again in ${seconds(clientWait)} s`,
        { retryAfter: seconds(clientWait) },
      );
    }
    try {
      return await check();
    } catch (error) {
      if (!(error instanceof StoreError && error.code === "forbidden")) throw error;
      // Keyed by a hash: 100,000 remembered 4 KiB tags would hold 400 MiB.
      const key = toHex(
        new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(tag))),
      );
      this.#onFailure(tag);
      const now = Date.now();
      this.#clientFailures.failed(from, now);
      const tagWait = this.#tagFailures.waitMs(key, now);
      this.#tagFailures.failed(key, now);
      if (tagWait === 0) throw this.#withBudget(error, key, from, now);
      this.#clientFailures.exhaust(from);
      const wait = seconds(this.#clientFailures.waitMs(from));
      throw new ProofLimitError(
        "rate-limited",
        `too many failed access proofs for this tag lately; this client is refused for ${wait} s`,
        { retryAfter: wait },
      );
    }
  }
}

/** Milliseconds as whole seconds for people, at least 1. */
function seconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}
