/**
 * The server's side of access proofs (docs/PROTOCOL.md, "Access"): single-use
 * nonces bound to the client they were given to, and a limit on failed proofs
 * per tag so that online password guessing is slow.
 *
 * @module
 */

import { toHex } from "../core/bytes.ts";
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
  readonly #byOwner = new Map<Address, string[]>();
  readonly #failures: FailureLimiter;
  readonly #onFailure: (tag: string) => void;

  constructor(limits: FailureLimits = {}, onFailure: (tag: string) => void = () => {}) {
    this.#failures = new FailureLimiter(limits);
    this.#onFailure = onFailure;
  }

  /** A fresh nonce for `owner`, valid once for {@linkcode NONCE_LIFETIME_MS}. */
  challenge(owner: Address): Uint8Array {
    const now = Date.now();
    for (const [key, entry] of this.#nonces) {
      if (entry.expires > now && this.#nonces.size < MAX_NONCES) break;
      this.#nonces.delete(key);
    }
    // The client's own nonces, oldest first (some may be spent or dropped already).
    const own = (this.#byOwner.get(owner) ?? []).filter((key) => this.#nonces.has(key));
    if (own.length >= MAX_NONCES_PER_CLIENT) this.#nonces.delete(own.shift()!);
    const nonce = crypto.getRandomValues(new Uint8Array(NONCE_LENGTH));
    const key = toHex(nonce);
    this.#nonces.set(key, { owner, expires: now + NONCE_LIFETIME_MS });
    own.push(key);
    this.#byOwner.set(owner, own);
    for (const [client, keys] of this.#byOwner) {
      if (this.#byOwner.size <= MAX_NONCES) break;
      if (!keys.some((k) => this.#nonces.has(k))) this.#byOwner.delete(client);
    }
    return nonce;
  }

  /** The access proof of a request body, its nonce spent; throws `forbidden` when the nonce is not valid. */
  proofOf(body: Record<string, unknown>, from: Address): AccessProof {
    const nonce = bytesField(body, "nonce", NONCE_LENGTH).slice();
    const proof = bytesField(body, "proof", PROOF_LENGTH).slice();
    const key = toHex(nonce);
    const entry = this.#nonces.get(key);
    this.#nonces.delete(key);
    if (entry === undefined || entry.owner !== from || entry.expires < Date.now()) {
      throw new StoreError("forbidden", "unknown or expired nonce; ask for a new challenge");
    }
    return { nonce, proof };
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
