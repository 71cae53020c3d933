/**
 * The pub/sub a host needs from Redis, whichever topology carries it: classic
 * PUBLISH/SUBSCRIBE on one node or a Sentinel master (`pubsub_bus.ts`), or
 * sharded SPUBLISH/SSUBSCRIBE on a Redis Cluster (`sharded_bus.ts`), where a
 * channel lives on the master that owns its slot (docs/PROTOCOL.md, "Redis
 * Cluster").
 *
 * @module
 */

import type { Buffer } from "node:buffer";
import type { RedisTarget } from "./redis_target.ts";
import { DEFAULT_CONNECT_TIMEOUT_MS } from "./connection.ts";
import { openPubSubBus } from "./pubsub_bus.ts";
import { openShardedBus } from "./sharded_bus.ts";

/** Where a bus logs what goes wrong once it is open. */
export type BusLog = (level: "info" | "warn", message: string) => void;

/** A host's way to publish and to receive on its own channels. */
export interface Bus {
  /** Publishes `message` on `channel`; resolves to how many subscribers received it. */
  publish(channel: string, message: Buffer): Promise<number>;
  /**
   * The heartbeat's check of this host's own `channel`: that it is still
   * subscribed (made again when it is not) and the subscribed side answers.
   * Rejects when every connection should be dropped and made again.
   */
  keepAlive(channel: string): Promise<void>;
  /**
   * The channels matching `pattern` that have subscribers, each with the
   * Redis node it lives on ("host:port"; undefined when unknown). Under a
   * cluster, every master is asked and the answers merged.
   */
  channels(pattern: string): Promise<Map<string, string | undefined>>;
  /**
   * How many connections are subscribed to `channel` now; rejects when that
   * cannot be known (Redis unreachable, or a cluster still changing).
   */
  subscribers(channel: string): Promise<number>;
  /** Drops every connection so that they reconnect and resubscribe. */
  reconnect(): void;
  /** The Redis nodes this bus uses now ("host:port"): the node or master, or the cluster's masters. */
  nodes(): string[];
  /** Calls `listener` with each message received on a subscribed channel. */
  onMessage(listener: (message: Buffer) => void): void;
  /** Calls `listener` each time the subscriptions are back after a disconnect. */
  onReady(listener: () => void): void;
  /** Calls `listener` each time a subscribed connection is lost. */
  onLost(listener: () => void): void;
  /** Unsubscribes and closes every connection. */
  close(): Promise<void>;
}

/**
 * Opens a bus to `target` subscribed to `channels`, within `timeoutMs`.
 * Throws a NetworkError "cannot reach Redis at TARGET: REASON" that says
 * what to do (core/net/connect_failure.ts).
 */
export function openBus(
  target: RedisTarget,
  tls: { ca?: string; rejectUnauthorized?: boolean } | undefined,
  channels: string[],
  log: BusLog,
  timeoutMs: number = DEFAULT_CONNECT_TIMEOUT_MS,
): Promise<Bus> {
  if (target.cluster !== undefined) {
    return openShardedBus(target.cluster, tls, channels, log, timeoutMs);
  }
  return openPubSubBus(target, tls, channels, log, timeoutMs);
}
