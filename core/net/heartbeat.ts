/**
 * A host's heartbeat: every few seconds it checks that its own channel still
 * has a subscriber and that the subscribed connection answers PING; when
 * either fails it drops both connections so that ioredis reconnects and
 * resubscribes.
 *
 * @module
 */

import type { Redis } from "ioredis";
import { withTimeout } from "./connection.ts";

/** Starts the heartbeat of the host whose channel is `channel`; returns a function that stops it. */
export function startHeartbeat(
  connections: { pub: Redis; sub: Redis },
  channel: string,
  intervalMs: number,
  log: (level: "warn", message: string) => void,
): () => void {
  const { pub, sub } = connections;
  let running = false;
  let stopped = false;
  const timer = setInterval(async () => {
    if (running || stopped) return;
    running = true;
    try {
      if (pub.status !== "ready" || sub.status !== "ready") return;
      const [, count] = await withTimeout(pub.pubsub("NUMSUB", channel), 3000) as [
        string,
        number,
      ];
      if (Number(count) === 0) {
        log("warn", "own channel lost its subscription; resubscribing");
        await sub.subscribe(channel);
      }
      await withTimeout(sub.ping(), 3000);
    } catch (error) {
      log("warn", `heartbeat failed (${(error as Error).message}); reconnecting`);
      pub.disconnect(true);
      sub.disconnect(true);
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
