/**
 * A host on a secshrnet network: a bus over Redis (`bus.ts`: subscribed to the
 * host's own channel, and for servers the broadcast channel, and publishing),
 * authenticated envelopes (a MAC under a key shared with each peer, see
 * `identity.ts`), request/reply with ids, timeouts and retries, idempotent
 * request handling with a cap per sender, server discovery by channel
 * pattern, and a heartbeat that notices a dead or unsubscribed connection.
 * No host opens a port.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import {
  type Address,
  decodeEnvelope,
  displayName,
  encodeEnvelope,
  type Envelope,
  isAddress,
  macedPart,
  macOf,
} from "./envelope.ts";
import { Identity, PeerKeys } from "./identity.ts";
import { MessageBuffers } from "./message_buffers.ts";
import { GarbagePacer } from "../memory.ts";
import { type Bus, openBus } from "./bus.ts";
import type { ClusterTarget, RedisTarget, SentinelTarget } from "./redis_target.ts";
import { ThrottledLog } from "./throttled_log.ts";
import { type Handler, MAX_REQUESTS_PER_SENDER, RequestRunner } from "./requests.ts";
import { NetworkError, RemoteError, remoteErrorFrom } from "./errors.ts";
import { startHeartbeat } from "./heartbeat.ts";

/** How to reach Redis and which network to join. */
export interface HostOptions {
  /** One Redis node: its redis:// or rediss:// URL (or give `sentinel`). */
  redisUrl?: string;
  /** A Sentinel master group instead of `redisUrl`. */
  sentinel?: SentinelTarget;
  /** A Redis Cluster instead of `redisUrl` (sharded pub/sub). */
  cluster?: ClusterTarget;
  /** TLS extras for rediss:// URLs. */
  tls?: { ca?: string; rejectUnauthorized?: boolean };
  /** Network name: the channel prefix. */
  network: string;
  /** This host's role. */
  role: "server" | "client";
  /** This host's key pair (its id is the public key); a new random one when absent. */
  identity?: Identity;
  /** Where log lines go; default nowhere. */
  log?: (level: "info" | "warn" | "debug", message: string) => void;
  /** Seconds between heartbeats; default 5. */
  heartbeatSeconds?: number;
  /** How long connecting to Redis may take; default 10 s (core/net/connection.ts). */
  connectTimeoutMs?: number;
}

export { NetworkError, RemoteError };

/** The Redis `options` name: `redisUrl`, `sentinel` or `cluster`, exactly one. */
function redisTargetOf(options: HostOptions): RedisTarget {
  const { redisUrl, sentinel, cluster } = options;
  const given = [redisUrl, sentinel, cluster].filter((value) => value !== undefined).length;
  if (given === 1) {
    if (redisUrl !== undefined) return { url: redisUrl };
    return sentinel !== undefined ? { sentinel } : { cluster: cluster! };
  }
  throw new TypeError("HostOptions: give exactly one of redisUrl, sentinel and cluster");
}

/** A listener for messages that are not requests (data, acks). */
export type Listener = (message: Envelope) => void;

interface Pending {
  to: Address;
  resolve: (body: Record<string, unknown>) => void;
  reject: (error: Error) => void;
}

export { type Handler, MAX_REQUESTS_PER_SENDER };
/**
 * Bytes of received messages waiting for their MAC check beyond which new
 * ones are dropped (pub/sub is at-most-once anyway; transfers resend), so a
 * flood cannot grow a host's memory without bound.
 */
export const MAX_INBOUND_BACKLOG = 32 * 2 ** 20;

/** One host's presence on the network. */
export class Host {
  /** This host's address, `<role>:<id>`. */
  readonly address: Address;
  /** The network name. */
  readonly network: string;
  readonly #bus: Bus;
  readonly #log: NonNullable<HostOptions["log"]>;
  readonly #handlers = new Map<string, Handler>();
  readonly #listeners = new Map<string, Listener>();
  readonly #pending = new Map<number, Pending>();
  readonly #reconnectListeners = new Set<() => void>();
  readonly #pacer = new GarbagePacer();
  readonly #buffers = new MessageBuffers();
  readonly #keys: PeerKeys;
  readonly #requests: RequestRunner;
  // Signing and checking MACs is asynchronous; these chains keep messages in order.
  #outbound: Promise<unknown> = Promise.resolve();
  #inbound: Promise<unknown> = Promise.resolve();
  #inboundBytes = 0;
  readonly #drops: ThrottledLog;
  #nextId = 1;
  #stopHeartbeat = () => {};
  #closed = false;

  private constructor(bus: Bus, options: HostOptions, identity: Identity) {
    this.address = `${options.role}:${identity.id}`;
    this.#keys = new PeerKeys(identity);
    this.network = options.network;
    this.#bus = bus;
    this.#log = options.log ?? (() => {});
    this.#drops = new ThrottledLog(this.#log);
    this.#requests = new RequestRunner(
      (to, type, body, replyTo) => void this.send(to, type, body, replyTo),
      (message) => this.#drops.line(message),
    );
  }

  /** Connects to Redis and subscribes; throws a NetworkError naming the URL when it cannot. */
  static async connect(options: HostOptions): Promise<Host> {
    const identity = options.identity ?? await Identity.generate();
    const channels = [`${options.network}:${options.role}:${identity.id}`];
    if (options.role === "server") channels.push(`${options.network}:broadcast`);
    const log = options.log ?? (() => {});
    const bus = await openBus(
      redisTargetOf(options),
      options.tls,
      channels,
      log,
      options.connectTimeoutMs,
    );
    const host = new Host(bus, options, identity);
    // A plain Uint8Array view: decoded byte fields are then plain views too, never Buffers.
    bus.onMessage((message: Buffer) =>
      host.#receive(
        new Uint8Array(message.buffer as ArrayBuffer, message.byteOffset, message.byteLength),
      )
    );
    // Redis dropped the connection (it reconnects by itself); not when the host is being closed.
    bus.onLost(() => {
      if (!host.#closed) host.#log("warn", "redis subscriber closed; messages may have been lost");
    });
    bus.onReady(() => {
      host.#log("info", "redis subscriber ready");
      for (const listener of host.#reconnectListeners) listener();
    });
    host.#stopHeartbeat = startHeartbeat(
      bus,
      host.channel(host.address),
      (options.heartbeatSeconds ?? 5) * 1000,
      host.#log,
    );
    return host;
  }

  /** The Redis channel of `address` on this network. */
  channel(address: Address | "broadcast"): string {
    return `${this.network}:${address}`;
  }

  /**
   * The Redis nodes this host uses now ("host:port"): the one node (under
   * Sentinel, the current master), or a cluster's masters.
   */
  redisNodes(): string[] {
    return this.#bus.nodes();
  }

  /** Addresses of the servers currently subscribed on this network. */
  async servers(): Promise<Address[]> {
    return [...(await this.serverNodes()).keys()];
  }

  /**
   * The servers currently subscribed on this network, each with the Redis
   * node its channel lives on ("host:port", undefined when unknown); in
   * address order.
   */
  async serverNodes(): Promise<Map<Address, string | undefined>> {
    const channels = await this.#bus.channels(`${this.network}:server:*`);
    const servers = [...channels].map(([channel, node]) =>
      [channel.slice(this.network.length + 1), node] as const
    ).filter(([address]) => isAddress(address)) as [Address, string | undefined][];
    return new Map(servers.sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0));
  }

  /**
   * Whether `address` is subscribed to its channel now; `undefined` when
   * Redis cannot be asked (an outage says nothing about the peer).
   */
  async isOnline(address: Address): Promise<boolean | undefined> {
    try {
      return await this.#bus.subscribers(this.channel(address)) > 0;
    } catch {
      return undefined;
    }
  }

  /** Registers the handler of request type `type`; its result is sent back as a reply. */
  handle(type: string, handler: Handler): void {
    this.#handlers.set(type, handler);
  }

  /** Registers the listener of message type `type` (no reply). */
  listen(type: string, listener: Listener): void {
    this.#listeners.set(type, listener);
  }

  /** Calls `listener` each time the subscription is back after a Redis disconnect. */
  onReconnect(listener: () => void): () => void {
    this.#reconnectListeners.add(listener);
    return () => this.#reconnectListeners.delete(listener);
  }

  /**
   * Publishes one message to `to`, MAC'd under the key shared with it;
   * resolves to whether any subscriber received it (false also when Redis
   * could not take it). Messages are published in the order of the calls.
   */
  async send(
    to: Address,
    type: string,
    body: Record<string, unknown>,
    replyTo?: number,
  ): Promise<boolean> {
    try {
      return await this.#publish(to, type, body, replyTo, this.#nextId++) > 0;
    } catch (error) {
      this.#log("debug", `send to ${to} failed: ${(error as Error).message}`);
      return false;
    }
  }

  /** Seals and publishes one message; resolves to the number of receivers, rejects with Redis' error. */
  #publish(
    to: Address,
    type: string,
    body: Record<string, unknown>,
    replyTo: number | undefined,
    id: number,
  ): Promise<number> {
    const allocated = this.#buffers.allocatedBytes;
    const envelope = { type, from: this.address, to, id, replyTo, body };
    const bytes = encodeEnvelope(envelope, (length) => this.#buffers.take(length));
    // A fresh buffer is garbage once published, and ioredis copies every message into
    // a buffer of its own (Command.toWritable), garbage once written: both count.
    this.#pacer.processed(this.#buffers.allocatedBytes - allocated + bytes.length);
    // Each link seals its message and starts its publish before the next link
    // seals: ioredis then writes the messages in call order.
    const link = this.#outbound.then(async () => {
      const key = await this.#keys.macKey(idOf(to));
      macOf(bytes).set(new Uint8Array(await crypto.subtle.sign("HMAC", key, macedPart(bytes))));
      const receivers = this.#bus.publish(
        this.channel(to),
        Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
      );
      // Once Redis has answered, ioredis holds the bytes no more: the buffer can serve again.
      const reuse = () => this.#buffers.give(bytes);
      receivers.then(reuse, reuse);
      return { receivers };
    });
    this.#outbound = link.catch(() => {});
    return link.then(({ receivers }) => receivers);
  }

  /**
   * Sends request `type` to `to` and resolves to the reply body. The same
   * message (same id) is resent every `timeoutMs` up to `attempts` times;
   * handlers are idempotent per id. Rejects with a RemoteError for an error
   * reply, a NetworkError when no reply comes.
   */
  async request(
    to: Address,
    type: string,
    body: Record<string, unknown>,
    options: { timeoutMs?: number; attempts?: number; signal?: AbortSignal } = {},
  ): Promise<Record<string, unknown>> {
    const id = this.#nextId++;
    const timeoutMs = options.timeoutMs ?? 3000;
    const attempts = options.attempts ?? 3;
    const reply = new Promise<Record<string, unknown>>((resolve, reject) => {
      this.#pending.set(id, { to, resolve, reject });
    });
    reply.catch(() => {});
    try {
      for (let attempt = 0; attempt < attempts; attempt++) {
        options.signal?.throwIfAborted();
        await this.#publish(to, type, body, undefined, id).catch((error: Error) => {
          // An ACL refusal will not change on retry; anything else is a lost attempt.
          if (/NOPERM/.test(error.message)) {
            throw new NetworkError(
              `Redis refused to publish: ${error.message} (the Redis user's ACL must allow it)`,
            );
          }
        });
        let timer: ReturnType<typeof setTimeout> | undefined;
        const timeout = new Promise<"timeout">((resolve) => {
          timer = setTimeout(() => resolve("timeout"), timeoutMs);
        });
        const result = await Promise.race([reply, timeout]).finally(() => clearTimeout(timer));
        if (result !== "timeout") return result;
      }
      throw new NetworkError(`no reply from ${displayName(to)} to ${type}`);
    } finally {
      this.#pending.delete(id);
    }
  }

  /** Decodes a message, checks it is for us, then checks its MAC in arrival order. */
  #receive(bytes: Uint8Array<ArrayBuffer>): void {
    this.#pacer.processed(bytes.length);
    let message: Envelope;
    try {
      message = decodeEnvelope(bytes);
    } catch (error) {
      this.#dropped(`a malformed message: ${(error as Error).message}`);
      return;
    }
    if (message.to !== this.address) {
      this.#dropped(`a ${message.type} message addressed to ${message.to}`);
      return;
    }
    if (this.#inboundBytes + bytes.length > MAX_INBOUND_BACKLOG) {
      this.#dropped(`${message.type} from ${message.from}: backlog of messages to check is full`);
      return;
    }
    this.#inboundBytes += bytes.length;
    const checked = this.#inbound.then(async () => {
      const key = await this.#keys.macKey(idOf(message.from));
      return await crypto.subtle.verify("HMAC", key, macOf(bytes), macedPart(bytes));
    }).finally(() => this.#inboundBytes -= bytes.length);
    this.#inbound = checked.catch(() => {});
    checked.then(
      (authentic) => authentic ? this.#dispatch(message) : Promise.reject(new Error("bad MAC")),
    ).catch((error) =>
      this.#dropped(`${message.type} from ${message.from}: ${(error as Error).message}`)
    );
  }

  /** Logs a dropped message, at most a few a minute (the rest are counted). */
  #dropped(what: string): void {
    this.#drops.line(`dropped ${what}`);
  }

  #dispatch(message: Envelope): void {
    if (message.type === "reply" || message.type === "error") {
      const pending = message.replyTo === undefined
        ? undefined
        : this.#pending.get(message.replyTo);
      // A late or duplicate reply, or one from a host the request did not go to.
      if (pending === undefined || pending.to !== message.from) return;
      if (message.type === "reply") pending.resolve(message.body);
      else pending.reject(remoteErrorFrom(message.from, message.body));
      return;
    }
    const handler = this.#handlers.get(message.type);
    if (handler !== undefined) {
      this.#requests.run(message, handler);
      return;
    }
    const listener = this.#listeners.get(message.type);
    if (listener !== undefined) {
      try {
        listener(message);
      } catch (error) {
        this.#dropped(`${message.type} from ${message.from}: ${(error as Error).message}`);
      }
      return;
    }
    this.#dropped(`a message of unknown type ${message.type} from ${message.from}`);
  }

  /** Leaves the network: unsubscribes and closes both connections. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#stopHeartbeat();
    for (const pending of this.#pending.values()) pending.reject(new NetworkError("host closed"));
    await this.#bus.close();
  }
}

/** The id part of an address: the peer's public key in hex. */
function idOf(address: Address): string {
  return address.slice(address.indexOf(":") + 1);
}
