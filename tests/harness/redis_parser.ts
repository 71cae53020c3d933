/**
 * ioredis' RESP parser (redis-parser) joins a reply that spans several socket
 * reads in a module-wide buffer pool. When it grows that pool it starts a
 * module-wide 50 ms interval that shrinks the pool and clears itself once the
 * pool is small again: about a second after the last such reply, whatever
 * the test has closed. Deno's sanitizers count that interval against the
 * test that started it (not closed) or the next one (closed there). A test
 * that keeps the sanitizers on and moves messages through ioredis waits here
 * before it ends.
 *
 * @module
 */

/** Longer than redis-parser takes to shrink its pool and end its interval in these tests. */
export const PARSER_SETTLE_MS = 3000;

/** Resolves once redis-parser's pool interval has ended (see the module doc). */
export function parserSettled(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, PARSER_SETTLE_MS));
}
