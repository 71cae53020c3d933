/**
 * A host on a secshrnet network: two Redis connections (one subscribed to the
 * host's own channel, and for servers the broadcast channel; one to publish),
 * request/reply with ids, timeouts and retries, idempotent request handling,
 * server discovery by channel pattern, and a heartbeat that notices a dead or
 * unsubscribed connection. No host opens a port.
 *
 * @module
 */

import { Redis, type RedisOptions } from "ioredis";
import { Buffer } from "node:buffer";
import {
  type Address,
  decodeEnvelope,
  encodeEnvelope,
  type Envelope,
  isAddress,
  ProtocolError,
} from "./envelope.ts";
import { randomBytes, toHex } from "../bytes.ts";
import { GarbagePacer } from "../memory.ts";
import { redactUrl } from "./url.ts";
import { closeConnection, withTimeout } from "./connection.ts";

/** How to reach Redis and which network to join. */
export interface HostOptions {
  /** redis:// or rediss:// URL. */
  redisUrl: string;
  /** TLS extras for rediss:// URLs. */
  tls?: { ca?: string; rejectUnauthorized?: boolean };
  /** Network name: the channel prefix. */
  network: string;
  /** This host's role. */
  role: "server" | "client";
  /** This host's id (16 hex digits); random when absent. */
  id?: string;
  /** Where log lines go; default nowhere. */
  log?: (level: "info" | "warn" | "debug", message: string) => void;
  /** Seconds between heartbeats; default 5. */
  heartbeatSeconds?: number;
}

/** A reply of type `error` from a peer. */
export class RemoteError extends Error {
  /** The peer's error code, e.g. `forbidden`, `exists`, `not-found`. */
  readonly code: string;
  /** The peer that answered. */
  readonly peer: Address;
  constructor(peer: Address, code: string, message: string) {
    super(message);
    this.name = "RemoteError";
    this.code = code;
    this.peer = peer;
  }
}

/** No usable answer from a peer in time, or Redis unreachable. */
export class NetworkError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "NetworkError";
  }
}

/** A request handler: returns the reply body, or throws a RemoteError-like `{code}` error. */
export type Handler = (request: Envelope) => Promise<Record<string, unknown>>;
/** A listener for messages that are not requests (data, acks). */
export type Listener = (message: Envelope) => void;

interface Pending {
  resolve: (body: Record<string, unknown>) => void;
  reject: (error: Error) => void;
}

const REPLY_CACHE_LIMIT = 4096;
const REPLY_CACHE_MS = 120_000;

/** One host's presence on the network. */
export class Host {
  /** This host's address, `<role>:<id>`. */
  readonly address: Address;
  /** The network name. */
  readonly network: string;
  readonly #pub: Redis;
  readonly #sub: Redis;
  readonly #log: NonNullable<HostOptions["log"]>;
  readonly #handlers = new Map<string, Handler>();
  readonly #listeners = new Map<string, Listener>();
  readonly #pending = new Map<number, Pending>();
  readonly #replies = new Map<string, { at: number; reply?: Envelope }>();
  readonly #reconnectListeners = new Set<() => void>();
  readonly #pacer = new GarbagePacer();
  #nextId = 1;
  #heartbeat?: ReturnType<typeof setInterval>;
  #closed = false;

  private constructor(pub: Redis, sub: Redis, options: HostOptions, id: string) {
    this.address = `${options.role}:${id}`;
    this.network = options.network;
    this.#pub = pub;
    this.#sub = sub;
    this.#log = options.log ?? (() => {});
  }

  /** Connects to Redis and subscribes; throws a NetworkError naming the URL when it cannot. */
  static async connect(options: HostOptions): Promise<Host> {
    const id = options.id ?? toHex(randomBytes(8));
    let connected = false;
    let lastError = "";
    const redisOptions: RedisOptions = {
      lazyConnect: true,
      connectTimeout: 5000,
      keepAlive: 10_000,
      maxRetriesPerRequest: 2,
      retryStrategy: (times) => connected ? Math.min(100 * times, 2000) : null,
      tls: options.redisUrl.startsWith("rediss:") || options.tls?.ca
        ? { ca: options.tls?.ca, rejectUnauthorized: options.tls?.rejectUnauthorized ?? true }
        : undefined,
    };
    const pub = new Redis(options.redisUrl, { ...redisOptions, enableOfflineQueue: false });
    const sub = new Redis(options.redisUrl, redisOptions);
    const host = new Host(pub, sub, options, id);
    for (const [name, connection] of [["publisher", pub], ["subscriber", sub]] as const) {
      connection.on("error", (error: Error) => {
        lastError = error.message;
        if (connected) host.#log("warn", `redis ${name}: ${error.message}`);
      });
    }
    try {
      await Promise.all([pub.connect(), sub.connect()]);
      const channels = [host.channel(host.address)];
      if (options.role === "server") channels.push(`${options.network}:broadcast`);
      await sub.subscribe(...channels);
    } catch (error) {
      pub.disconnect();
      sub.disconnect();
      const reason = lastError || (error as Error).message;
      throw new NetworkError(`cannot reach Redis at ${redactUrl(options.redisUrl)}: ${reason}`);
    }
    connected = true;
    // A plain Uint8Array view: decoded byte fields are then plain views too, never Buffers.
    sub.on(
      "messageBuffer",
      (_channel: Buffer, message: Buffer) =>
        host.#receive(new Uint8Array(message.buffer, message.byteOffset, message.byteLength)),
    );
    sub.on(
      "close",
      () => host.#log("warn", "redis subscriber closed; messages may have been lost"),
    );
    sub.on("ready", () => {
      host.#log("info", "redis subscriber ready");
      for (const listener of host.#reconnectListeners) listener();
    });
    host.#startHeartbeat((options.heartbeatSeconds ?? 5) * 1000);
    return host;
  }

  /** The Redis channel of `address` on this network. */
  channel(address: Address | "broadcast"): string {
    return `${this.network}:${address}`;
  }

  /** Addresses of the servers currently subscribed on this network. */
  async servers(): Promise<Address[]> {
    const channels = await this.#pub.pubsub("CHANNELS", `${this.network}:server:*`) as string[];
    return channels.map((c) => c.slice(this.network.length + 1)).filter(isAddress).sort();
  }

  /** Whether `address` is subscribed to its channel now (false also when Redis is unreachable). */
  async isOnline(address: Address): Promise<boolean> {
    try {
      const [, count] = await withTimeout(
        this.#pub.pubsub("NUMSUB", this.channel(address)),
        3000,
      ) as [
        string,
        number,
      ];
      return Number(count) > 0;
    } catch {
      return false;
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

  /** Publishes one message to `to`; resolves to whether any subscriber received it. */
  async send(
    to: Address | "broadcast",
    type: string,
    body: Record<string, unknown>,
    replyTo?: number,
    id = this.#nextId++,
  ): Promise<boolean> {
    const bytes = encodeEnvelope({ type, from: this.address, id, replyTo, body });
    this.#pacer.processed(bytes.length);
    try {
      const receivers = await this.#pub.publish(
        this.channel(to),
        Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
      );
      return receivers > 0;
    } catch (error) {
      this.#log("debug", `publish to ${to} failed: ${(error as Error).message}`);
      return false;
    }
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
      this.#pending.set(id, { resolve, reject });
    });
    reply.catch(() => {});
    try {
      for (let attempt = 0; attempt < attempts; attempt++) {
        options.signal?.throwIfAborted();
        await this.send(to, type, body, undefined, id);
        let timer: ReturnType<typeof setTimeout> | undefined;
        const timeout = new Promise<"timeout">((resolve) => {
          timer = setTimeout(() => resolve("timeout"), timeoutMs);
        });
        const result = await Promise.race([reply, timeout]).finally(() => clearTimeout(timer));
        if (result !== "timeout") return result;
      }
      throw new NetworkError(`no reply from ${to} to ${type}`);
    } finally {
      this.#pending.delete(id);
    }
  }

  #receive(bytes: Uint8Array): void {
    this.#pacer.processed(bytes.length);
    let message: Envelope;
    try {
      message = decodeEnvelope(bytes);
    } catch (error) {
      this.#log("warn", `dropped a malformed message: ${(error as Error).message}`);
      return;
    }
    if (message.type === "reply" || message.type === "error") {
      const pending = message.replyTo === undefined
        ? undefined
        : this.#pending.get(message.replyTo);
      if (pending === undefined) return; // a late or duplicate reply
      if (message.type === "reply") pending.resolve(message.body);
      else {
        const code = typeof message.body.code === "string" ? message.body.code : "error";
        const text = typeof message.body.message === "string" ? message.body.message : code;
        pending.reject(new RemoteError(message.from, code, text));
      }
      return;
    }
    const handler = this.#handlers.get(message.type);
    if (handler !== undefined) {
      this.#serve(message, handler);
      return;
    }
    const listener = this.#listeners.get(message.type);
    if (listener !== undefined) {
      try {
        listener(message);
      } catch (error) {
        this.#log(
          "warn",
          `dropped ${message.type} from ${message.from}: ${(error as Error).message}`,
        );
      }
      return;
    }
    this.#log("debug", `dropped message of unknown type ${message.type} from ${message.from}`);
  }

  /** Runs a handler once per (sender, id); a retried request gets the same reply. */
  #serve(request: Envelope, handler: Handler): void {
    const key = `${request.from}/${request.id}`;
    const cached = this.#replies.get(key);
    if (cached !== undefined) {
      if (cached.reply) {
        this.send(request.from, cached.reply.type, cached.reply.body, request.id);
      }
      return;
    }
    this.#pruneReplies();
    const entry: { at: number; reply?: Envelope } = { at: Date.now() };
    this.#replies.set(key, entry);
    handler(request).then(
      (body) => ({ type: "reply", body }),
      (error) => {
        if (error instanceof ProtocolError) {
          this.#log("warn", `bad ${request.type} from ${request.from}: ${error.message}`);
          return { type: "error", body: { code: "bad-request", message: error.message } };
        }
        const code = typeof error?.code === "string" ? error.code : "internal";
        if (code === "internal") this.#log("warn", `${request.type} failed: ${error?.message}`);
        return { type: "error", body: { code, message: String(error?.message ?? error) } };
      },
    ).then(({ type, body }) => {
      entry.reply = { type, from: this.address, id: 0, body };
      return this.send(request.from, type, body, request.id);
    });
  }

  #pruneReplies(): void {
    const now = Date.now();
    for (const [key, entry] of this.#replies) {
      if (this.#replies.size <= REPLY_CACHE_LIMIT && now - entry.at < REPLY_CACHE_MS) break;
      this.#replies.delete(key);
    }
  }

  #startHeartbeat(intervalMs: number): void {
    const own = this.channel(this.address);
    let running = false;
    this.#heartbeat = setInterval(async () => {
      if (running || this.#closed) return;
      running = true;
      try {
        if (this.#pub.status !== "ready" || this.#sub.status !== "ready") return;
        const [, count] = await withTimeout(this.#pub.pubsub("NUMSUB", own), 3000) as [
          string,
          number,
        ];
        if (Number(count) === 0) {
          this.#log("warn", "own channel lost its subscription; resubscribing");
          await this.#sub.subscribe(own);
        }
        await withTimeout(this.#sub.ping(), 3000);
      } catch (error) {
        this.#log("warn", `heartbeat failed (${(error as Error).message}); reconnecting`);
        this.#pub.disconnect(true);
        this.#sub.disconnect(true);
      } finally {
        running = false;
      }
    }, intervalMs);
    Deno.unrefTimer(Number(this.#heartbeat));
  }

  /** Leaves the network: unsubscribes and closes both connections. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#heartbeat);
    for (const pending of this.#pending.values()) pending.reject(new NetworkError("host closed"));
    await Promise.all([this.#sub, this.#pub].map(closeConnection));
  }
}
