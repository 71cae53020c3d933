/**
 * The server's side of access proofs (docs/PROTOCOL.md, "Access"): single-use
 * nonces bound to the client they were given to, and a limit on failed proofs
 * per tag so that online password guessing is slow.
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

/** Nonces handed out and failed proofs counted, for one server. */
export class ProofGate {
  readonly #nonces = new Map<string, { owner: Address; expires: number }>();
  /** Outstanding nonces per client. */
  readonly #counts = new Counts<Address>();
  readonly #failures: FailureLimiter;
  readonly #onFailure: (tag: string) => void;

  constructor(limits: FailureLimits = {}, onFailure: (tag: string) => void = () => {}) {
    this.#failures = new FailureLimiter(limits);
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

  /** The access proof of a request body, its nonce spent; throws `forbidden` when the nonce is not valid. */
  proofOf(body: Record<string, unknown>, from: Address): AccessProof {
    const nonce = bytesField(body, "nonce", NONCE_LENGTH).slice();
    const proof = bytesField(body, "proof", PROOF_LENGTH).slice();
    const entry = this.#spend(toHex(nonce));
    if (entry === undefined || entry.owner !== from || entry.expires < Date.now()) {
      throw new StoreError("forbidden", "unknown or expired nonce; ask for a new challenge");
    }
    return { nonce, proof };
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
   * Runs `check`, which checks an access proof for `tag`, unless the tag's
   * failed proofs are used up (`rate-limited`, without checking); a
   * `forbidden` outcome spends one.
   */
  async guard<T>(tag: string, check: () => Promise<T>): Promise<T> {
    // Keyed by a hash: 100,000 remembered 4 KiB tags would hold 400 MiB.
    const key = toHex(
      new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(tag))),
    );
    const waitMs = this.#failures.waitMs(key);
    if (waitMs > 0) {
      throw new StoreError(
        "rate-limited",
        `too many failed access proofs for this tag; try again in ${Math.ceil(waitMs / 1000)} s`,
      );
    }
    try {
      return await check();
    } catch (error) {
      if (error instanceof StoreError && error.code === "forbidden") {
        this.#failures.failed(key);
        this.#onFailure(tag);
      }
      throw error;
    }
  }
}
