/**
 * How a host runs the requests it receives: each handler once per (sender,
 * request id), a retry answered with the cached reply, and at most a few
 * requests of one sender in progress at a time, so one noisy host cannot hold
 * every handler.
 *
 * @module
 */

import { Counts } from "../counts.ts";
import { type Address, type Envelope, ProtocolError } from "./envelope.ts";
import { ERROR_CODES, proofBudget } from "./errors.ts";

/** A request handler: returns the reply body, or throws a RemoteError-like `{code}` error. */
export type Handler = (request: Envelope) => Promise<Record<string, unknown>>;

/** Requests one sender may have in progress at a host; more get a `busy` error. */
export const MAX_REQUESTS_PER_SENDER = 16;
/** Replies kept for retries: at most this many, for at most this long. */
const REPLY_CACHE_LIMIT = 4096;
const REPLY_CACHE_MS = 120_000;

/** Sends a reply or error (`type`) with `body` to `to`, answering request `replyTo`. */
export type Reply = (
  to: Address,
  type: "reply" | "error",
  body: Record<string, unknown>,
  replyTo: number,
) => void;

/** A request's reply, kept to answer a retry the same way (none yet while it runs). */
interface CachedReply {
  at: number;
  reply?: { type: "reply" | "error"; body: Record<string, unknown> };
}

/** Runs requests for one host; see the module documentation. */
export class RequestRunner {
  readonly #reply: Reply;
  readonly #warn: (message: string) => void;
  readonly #replies = new Map<string, CachedReply>();
  readonly #inProgress = new Counts<Address>();

  /** `reply` sends answers; `warn` takes (throttled) warnings. */
  constructor(reply: Reply, warn: (message: string) => void) {
    this.#reply = reply;
    this.#warn = warn;
  }

  /** Runs `handler` for `request` unless it ran already or its sender is at its limit. */
  run(request: Envelope, handler: Handler): void {
    const key = `${request.from}/${request.id}`;
    const cached = this.#replies.get(key);
    if (cached !== undefined) {
      if (cached.reply) {
        this.#reply(request.from, cached.reply.type, cached.reply.body, request.id);
      }
      return;
    }
    if (this.#inProgress.get(request.from) >= MAX_REQUESTS_PER_SENDER) {
      this.#warn(`dropped ${request.type} from ${request.from}: too many requests in progress`);
      this.#reply(request.from, "error", {
        code: "busy",
        message: `more than ${MAX_REQUESTS_PER_SENDER} requests in progress; slow down`,
      }, request.id);
      return;
    }
    this.#inProgress.add(request.from);
    this.#pruneReplies();
    const entry: CachedReply = { at: Date.now() };
    this.#replies.set(key, entry);
    handler(request).finally(() => this.#inProgress.remove(request.from)).then(
      (body) => ({ type: "reply" as const, body }),
      (error) => ({ type: "error" as const, body: this.#errorBody(request, error) }),
    ).then((reply) => {
      entry.reply = reply;
      this.#reply(request.from, reply.type, reply.body, request.id);
    });
  }

  /**
   * The body of the `error` reply for `error`: its code when it is one of the
   * protocol's (with the error's `triesLeft` and `retryAfter`, when it has
   * them: core/net/errors.ts), `bad-request` for a body that failed validation, else
   * `internal` with no detail (a file system error's message names the
   * host's paths); that one is logged here instead.
   */
  #errorBody(request: Envelope, error: unknown): Record<string, unknown> {
    if (error instanceof ProtocolError) {
      this.#warn(`dropped bad ${request.type} from ${request.from}: ${error.message}`);
      return { code: "bad-request", message: error.message };
    }
    const { code, message } = error as { code?: unknown; message?: unknown };
    if (typeof code === "string" && ERROR_CODES.includes(code)) {
      return { code, message: String(message ?? code), ...proofBudget(error) };
    }
    this.#warn(`${request.type} failed: ${String(message ?? error)}`);
    return { code: "internal", message: `the ${request.type} failed on this host` };
  }

  #pruneReplies(): void {
    const now = Date.now();
    for (const [key, entry] of this.#replies) {
      if (this.#replies.size <= REPLY_CACHE_LIMIT && now - entry.at < REPLY_CACHE_MS) break;
      this.#replies.delete(key);
    }
  }
}
