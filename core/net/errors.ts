/**
 * The errors a host's requests end with: an error reply from the peer, or no
 * usable reply at all.
 *
 * @module
 */

import type { Address } from "./envelope.ts";

/** The error codes of docs/PROTOCOL.md ("Requests and replies"): all a host ever sends. */
export const ERROR_CODES: readonly string[] = [
  "bad-request",
  "not-found",
  "exists",
  "forbidden",
  "expired",
  "conflict",
  "in-progress",
  "full",
  "busy",
  "rate-limited",
  "internal",
];

/** Highest `triesLeft` believed: a server's own limits are far below it. */
export const MAX_TRIES_LEFT = 1000;
/** Highest `retryAfter` believed, in seconds: a server earns back a try every 3 s. */
export const MAX_RETRY_AFTER = 60;

/**
 * What an error reply may say about failed access proofs (docs/PROTOCOL.md,
 * "Requests and replies"): optional, and ignored by hosts that predate it.
 */
export interface ProofBudget {
  /**
   * On `forbidden`: failed proofs the server will still check (per client
   * and per tag, whichever is lower) before it refuses them for a while.
   */
  triesLeft?: number;
  /** On `forbidden` with no tries left, and on `rate-limited`: seconds until it checks one again. */
  retryAfter?: number;
}

/**
 * The {@linkcode ProofBudget} fields of `source` (an error reply's body, or
 * an error about to become one), each dropped unless it is a finite number,
 * then made a whole number within 0..{@linkcode MAX_TRIES_LEFT} and
 * 1..{@linkcode MAX_RETRY_AFTER}: a peer is untrusted input.
 */
export function proofBudget(source: unknown): ProofBudget {
  if (typeof source !== "object" || source === null) return {};
  const { triesLeft, retryAfter } = source as Record<string, unknown>;
  const budget: ProofBudget = {};
  if (typeof triesLeft === "number" && Number.isFinite(triesLeft)) {
    budget.triesLeft = Math.min(MAX_TRIES_LEFT, Math.max(0, Math.floor(triesLeft)));
  }
  if (typeof retryAfter === "number" && Number.isFinite(retryAfter)) {
    budget.retryAfter = Math.min(MAX_RETRY_AFTER, Math.max(1, Math.ceil(retryAfter)));
  }
  return budget;
}

/** A reply of type `error` from a peer. */
export class RemoteError extends Error {
  /** The peer's error code, e.g. `forbidden`, `exists`, `not-found`. */
  readonly code: string;
  /** The peer that answered. */
  readonly peer: Address;
  /** Failed proofs the peer says it will still check (`forbidden`), when it says. */
  readonly triesLeft?: number;
  /** Seconds until the peer says it checks a proof again, when it says. */
  readonly retryAfter?: number;
  constructor(peer: Address, code: string, message: string, budget: ProofBudget = {}) {
    super(message);
    this.name = "RemoteError";
    this.code = code;
    this.peer = peer;
    const { triesLeft, retryAfter } = proofBudget(budget);
    if (triesLeft !== undefined) this.triesLeft = triesLeft;
    if (retryAfter !== undefined) this.retryAfter = retryAfter;
  }
}

/** The RemoteError an `error` reply's `body` from `peer` stands for; any body is accepted. */
export function remoteErrorFrom(peer: Address, body: Record<string, unknown>): RemoteError {
  const code = typeof body.code === "string" ? body.code : "error";
  const message = typeof body.message === "string" ? body.message : code;
  return new RemoteError(peer, code, message, proofBudget(body));
}

/** No usable answer from a peer in time, or Redis unreachable. */
export class NetworkError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "NetworkError";
  }
}
