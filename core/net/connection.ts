/**
 * Small helpers for ioredis connections: a bounded wait, and a clean close.
 *
 * @module
 */

import type { Redis } from "ioredis";

/**
 * QUITs `connection` and waits for it to end. `disconnect()` only when it
 * did not end by itself: called on a socket already closed, ioredis leaves a
 * timer running.
 */
export async function closeConnection(connection: Redis): Promise<void> {
  if (connection.status === "end") return;
  const ended = new Promise<void>((resolve) => connection.once("end", () => resolve()));
  try {
    await withTimeout(connection.quit(), 2000);
    await withTimeout(ended, 2000);
  } catch {
    // The status changes under us while awaiting; read it afresh.
    if ((connection.status as string) !== "end") connection.disconnect();
  }
}

/** `promise`, or a rejection after `ms` milliseconds, whichever comes first. */
export async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
