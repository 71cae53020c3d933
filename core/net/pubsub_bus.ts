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

/**
 * How long after this host's own connection to Redis came back a channel
 * without subscribers counts as unknown rather than absent: after a restart
 * of Redis or a Sentinel failover every host reconnects on its own schedule,
 * and a peer may be a second or two behind (the same rule as a cluster's
 * SETTLE_MS).
 */
export const RECONNECT_SETTLE_MS = 10_000;

/** How long a Redis command of the heartbeat or of a check may take before the connection counts as dead. */
const CHECK_TIMEOUT_MS = 3000;

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
  #unsettledUntil = 0;

  constructor(pub: Redis, sub: Redis, log: BusLog) {
    this.#pub = pub;
    this.#sub = sub;
    this.#log = log;
    for (const connection of [pub, sub]) {
      connection.on("ready", () => this.#unsettledUntil = Date.now() + RECONNECT_SETTLE_MS);
    }
    pub.on("ready", () => void this.#checkSubscriber());
  }

  /**
   * After the publisher came back: makes the subscriber reconnect too when it
   * is on another node (a Sentinel failover moved the master) or does not
   * answer. A subscriber only reads, so under Deno a TLS connection to a
   * killed master may see no error for tens of seconds (measured: 20 s), and
   * every message to this host would be lost meanwhile.
   */
  async #checkSubscriber(): Promise<void> {
    if (this.#sub.status !== "ready") return; // reconnecting already
    const [pubNode, subNode] = [remoteNode(this.#pub), remoteNode(this.#sub)];
    let reason = pubNode !== subNode ? `is still on ${subNode}, not ${pubNode}` : undefined;
    if (reason === undefined) {
      reason = await withTimeout(this.#sub.ping(), CHECK_TIMEOUT_MS).then(
        () => undefined,
        (error: Error) => `did not answer (${error.message})`,
      );
    }
    if (reason === undefined || this.#sub.status !== "ready") return;
    this.#log(
      "warn",
      `redis subscriber ${reason} after the publisher reconnected; reconnecting it`,
    );
    this.#sub.disconnect(true);
  }

  publish(channel: string, message: Buffer): Promise<number> {
    return this.#pub.publish(channel, message);
  }

  async keepAlive(channel: string): Promise<void> {
    if (this.#pub.status !== "ready" || this.#sub.status !== "ready") return;
    if (await this.#count(channel) === 0) {
      // Subscribed on another node than the one published to (an old master), a
      // resubscribe would never make the channel count there: reconnect instead.
      const [pubNode, subNode] = [remoteNode(this.#pub), remoteNode(this.#sub)];
      if (pubNode !== subNode) {
        this.#log("warn", `redis subscriber is on ${subNode}, not ${pubNode}; reconnecting it`);
        this.#sub.disconnect(true);
        return;
      }
      this.#log("warn", "own channel lost its subscription; resubscribing");
      await withTimeout(this.#sub.subscribe(channel), CHECK_TIMEOUT_MS);
    }
    await withTimeout(this.#sub.ping(), CHECK_TIMEOUT_MS);
  }

  async channels(pattern: string): Promise<Map<string, string | undefined>> {
    const names = await this.#pub.pubsub("CHANNELS", pattern) as string[];
    const node = this.nodes()[0];
    return new Map(names.map((name) => [String(name), node]));
  }

  /**
   * None is an answer only once this host's connections have been back for
   * RECONNECT_SETTLE_MS; before that this rejects (unknown), since the
   * channel's host may still be reconnecting.
   */
  async subscribers(channel: string): Promise<number> {
    const count = await this.#count(channel);
    if (count === 0 && Date.now() < this.#unsettledUntil) {
      throw new Error("Redis came back only now: no subscriber found yet");
    }
    return count;
  }

  async #count(channel: string): Promise<number> {
    const [, count] = await withTimeout(
      this.#pub.pubsub("NUMSUB", channel),
      CHECK_TIMEOUT_MS,
    ) as [
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
    const node = remoteNode(this.#pub);
    return node === undefined ? [] : [node];
  }

  onMessage(listener: (message: Buffer) => void): void {
    this.#sub.on("messageBuffer", (_channel: Buffer, message: Buffer) => listener(message));
  }

  onReady(listener: () => void): void {
    this.#sub.on("ready", listener);
  }

  /** Once per outage: the subscriber's retries while Redis is away close it again and again. */
  onLost(listener: () => void): void {
    let up = true;
    this.#sub.on("ready", () => up = true);
    this.#sub.on("close", () => {
      if (!up) return;
      up = false;
      listener();
    });
  }

  async close(): Promise<void> {
    await Promise.all([this.#sub, this.#pub].map(closeConnection));
  }
}

/** The "host:port" `connection` is connected to now, or undefined when it is not. */
function remoteNode(connection: Redis): string | undefined {
  const stream =
    (connection as unknown as { stream?: { remoteAddress?: string; remotePort?: number } }).stream;
  if (stream?.remoteAddress === undefined || stream.remotePort === undefined) return undefined;
  const host = stream.remoteAddress.includes(":")
    ? `[${stream.remoteAddress}]`
    : stream.remoteAddress;
  return `${host}:${stream.remotePort}`;
}
