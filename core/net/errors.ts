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

/** A reply of type `error` from a peer. */
export class RemoteError extends Error {
  /** The peer's error code, e.g. `forbidden`, `exists`, `not-found`. */
  readonly code: string;
  /** The peer that answered. */
  readonly peer: Address;
  constructor(peer: Address, code: string, message: string) {
    super(message);
    this.name = "RemoteError";
    this.code = code;
    this.peer = peer;
  }
}

/** No usable answer from a peer in time, or Redis unreachable. */
export class NetworkError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "NetworkError";
  }
}
