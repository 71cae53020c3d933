/**
 * The classic bus: PUBLISH on one connection, SUBSCRIBE on another, to one
 * Redis node or to the master of a Sentinel group (docs/PROTOCOL.md).
 *
 * @module
 */

import type { Redis } from "ioredis";
import type { Buffer } from "node:buffer";
import type { Bus, BusLog } from "./bus.ts";
import { closeConnection, openConnections, withTimeout } from "./connection.ts";
import type { RedisTarget } from "./redis_target.ts";

/** Opens the two connections to `target` and subscribes to `channels` (see openBus). */
export async function openPubSubBus(
  target: RedisTarget,
  tls: { ca?: string; rejectUnauthorized?: boolean } | undefined,
  channels: string[],
  log: BusLog,
  timeoutMs: number,
): Promise<Bus> {
  const { pub, sub } = await openConnections(target, tls, channels, log, timeoutMs);
  return new PubSubBus(pub, sub, log);
}

/** A bus over a publishing and a subscribed ioredis connection. */
class PubSubBus implements Bus {
  readonly #pub: Redis;
  readonly #sub: Redis;
  readonly #log: BusLog;

  constructor(pub: Redis, sub: Redis, log: BusLog) {
    this.#pub = pub;
    this.#sub = sub;
    this.#log = log;
  }

  publish(channel: string, message: Buffer): Promise<number> {
    return this.#pub.publish(channel, message);
  }

  async keepAlive(channel: string): Promise<void> {
    if (this.#pub.status !== "ready" || this.#sub.status !== "ready") return;
    if (await this.subscribers(channel) === 0) {
      this.#log("warn", "own channel lost its subscription; resubscribing");
      await this.#sub.subscribe(channel);
    }
    await withTimeout(this.#sub.ping(), 3000);
  }

  async channels(pattern: string): Promise<Map<string, string | undefined>> {
    const names = await this.#pub.pubsub("CHANNELS", pattern) as string[];
    const node = this.nodes()[0];
    return new Map(names.map((name) => [String(name), node]));
  }

  async subscribers(channel: string): Promise<number> {
    const [, count] = await withTimeout(this.#pub.pubsub("NUMSUB", channel), 3000) as [
      string,
      number,
    ];
    return Number(count);
  }

  reconnect(): void {
    this.#pub.disconnect(true);
    this.#sub.disconnect(true);
  }

  nodes(): string[] {
    const stream =
      (this.#pub as unknown as { stream?: { remoteAddress?: string; remotePort?: number } })
        .stream;
    if (stream?.remoteAddress === undefined || stream.remotePort === undefined) return [];
    const host = stream.remoteAddress.includes(":")
      ? `[${stream.remoteAddress}]`
      : stream.remoteAddress;
    return [`${host}:${stream.remotePort}`];
  }

  onMessage(listener: (message: Buffer) => void): void {
    this.#sub.on("messageBuffer", (_channel: Buffer, message: Buffer) => listener(message));
  }

  onReady(listener: () => void): void {
    this.#sub.on("ready", listener);
  }

  onLost(listener: () => void): void {
    this.#sub.on("close", listener);
  }

  async close(): Promise<void> {
    await Promise.all([this.#sub, this.#pub].map(closeConnection));
  }
}
