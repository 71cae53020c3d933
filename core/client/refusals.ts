/**
 * What a client says when servers refuse its access proofs: a wrong password,
 * with how many more tries the servers will check (the fewest any of them
 * said, so one lying server can only lower it), or a tag whose tries are
 * spent for now, with how long the servers refuse them.
 *
 * @module
 */

import { RateLimitedError, WrongPasswordError } from "../errors.ts";
import { MAX_RETRY_AFTER, type RemoteError } from "../net/errors.ts";

/** The WrongPasswordError for `forbidden` replies (each RemoteError's budget is already clamped). */
export function wrongPassword(forbidden: readonly RemoteError[]): WrongPasswordError {
  const counts = forbidden.flatMap((e) => e.triesLeft === undefined ? [] : [e.triesLeft]);
  if (counts.length === 0) return new WrongPasswordError();
  const triesLeft = Math.min(...counts);
  const waits = forbidden.flatMap((e) =>
    e.triesLeft === 0 && e.retryAfter !== undefined ? [e.retryAfter] : []
  );
  return new WrongPasswordError({
    triesLeft,
    retryAfter: waits.length > 0 ? Math.max(...waits) : undefined,
  });
}

/**
 * The RateLimitedError for `rate-limited` replies: the longest wait any of
 * them asks for (`retryAfter`, else the "N s" of older servers' messages),
 * at most {@linkcode MAX_RETRY_AFTER} seconds.
 */
export function rateLimited(limited: readonly RemoteError[]): RateLimitedError {
  const waits = limited.flatMap((e) => {
    const seconds = e.retryAfter ?? Number(/(\d+) s\b/.exec(e.message)?.[1] ?? NaN);
    return Number.isFinite(seconds) ? [Math.min(MAX_RETRY_AFTER, Math.max(1, seconds))] : [];
  });
  const wait = waits.length > 0 ? `${Math.max(...waits)} s` : "a few seconds";
  return new RateLimitedError(
    `too many failed password attempts for this tag lately; the servers refuse it for ${wait} ` +
      `more; wait that long, then try again with the right password`,
  );
}
