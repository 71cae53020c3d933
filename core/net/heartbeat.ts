/**
 * A host's heartbeat: every few seconds the bus checks that the host's own
 * channel still has its subscription and that the subscribed side answers
 * (Bus.keepAlive); when that fails every connection is dropped so that
 * ioredis reconnects and resubscribes.
 *
 * @module
 */

import type { Bus } from "./bus.ts";

/** Starts the heartbeat of the host whose channel is `channel`; returns a function that stops it. */
export function startHeartbeat(
  bus: Bus,
  channel: string,
  intervalMs: number,
  log: (level: "warn", message: string) => void,
): () => void {
  let running = false;
  let stopped = false;
  const timer = setInterval(async () => {
    if (running || stopped) return;
    running = true;
    try {
      await bus.keepAlive(channel);
    } catch (error) {
      log("warn", `heartbeat failed (${(error as Error).message}); reconnecting`);
      bus.reconnect();
    } finally {
      running = false;
    }
  }, intervalMs);
  Deno.unrefTimer(Number(timer));
  return () => {
    stopped = true;
    clearInterval(timer);
  };
}
