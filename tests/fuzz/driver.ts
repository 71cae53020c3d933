/**
 * The sending side of the wire fuzz tests: several client identities that
 * publish hand-made envelopes (MAC'd with their own keys, as a real client
 * would) on a server's channel through a plain Redis connection, one
 * subscriber on all their channels that tallies what comes back, and probes
 * of the server's Redis connection and process.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { Redis } from "ioredis";
import {
  type Address,
  decodeEnvelope,
  type Envelope,
  PROTOCOL_VERSION,
} from "../../core/net/envelope.ts";
import { Identity, PeerKeys } from "../../core/net/identity.ts";
import { concat } from "../../core/bytes.ts";
import { packed, type RawEntries, rawMap } from "./msgpack_raw.ts";

/** One identity the fuzzer sends as, with what it learnt from the server's replies. */
export interface FuzzSender {
  /** `client:<id>`. */
  readonly address: Address;
  /** The MAC key it shares with the server. */
  readonly key: CryptoKey;
  /** Its next message id. */
  nextId: number;
  /** Upload ids the server gave it. */
  readonly uploads: string[];
  /** Challenge nonces the server gave it (newest last). */
  readonly nonces: Uint8Array[];
  /** Download ids of downloads it started. */
  readonly downloads: string[];
}

/** What came back from the server, by kind (`reply`, `error:<code>`, `put-ack`, ...). */
export type Tally = Map<string, number>;

/** Adds one to `key` of `tally`. */
export function count(tally: Tally, key: string, by = 1): void {
  tally.set(key, (tally.get(key) ?? 0) + by);
}

/** The sender side of a fuzz run against one server. */
export class FuzzDriver {
  /** The server under test. */
  readonly server: Address;
  /** The identities messages are sent as. */
  readonly senders: FuzzSender[];
  /** Messages received from the server, by kind. */
  readonly received: Tally = new Map();
  /** Times the fuzzer's own subscriber lost its connection. */
  subscriberDrops = 0;
  /** Called for every envelope the server sends to a fuzz identity. */
  onMessage: (sender: FuzzSender, message: Envelope) => void = () => {};
  readonly #network: string;
  readonly #pub: Redis;
  readonly #sub: Redis;
  readonly #pending = new Map<string, (message: Envelope) => void>();

  private constructor(
    network: string,
    server: Address,
    senders: FuzzSender[],
    pub: Redis,
    sub: Redis,
  ) {
    this.#network = network;
    this.server = server;
    this.senders = senders;
    this.#pub = pub;
    this.#sub = sub;
  }

  /** Creates `count` identities, derives their keys with `server`, and subscribes to their channels. */
  static async start(
    redisUrl: string,
    server: Address,
    count: number,
    network = "secshrnet",
  ): Promise<FuzzDriver> {
    const serverId = server.slice("server:".length);
    if (count === 2) throw new RangeError("2 senders would look like a server to serverSubscriber");
    const senders: FuzzSender[] = [];
    for (let i = 0; i < count; i++) {
      const identity = await Identity.generate();
      senders.push({
        address: `client:${identity.id}`,
        key: await new PeerKeys(identity).macKey(serverId),
        nextId: 1,
        uploads: [],
        nonces: [],
        downloads: [],
      });
    }
    const pub = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: null });
    const sub = new Redis(redisUrl, { lazyConnect: true });
    const driver = new FuzzDriver(network, server, senders, pub, sub);
    await Promise.all([pub.connect(), sub.connect()]);
    sub.on("close", () => driver.subscriberDrops++);
    sub.on(
      "messageBuffer",
      (channel: Buffer, message: Buffer) => driver.#receive(channel, message),
    );
    await sub.subscribe(...senders.map((s) => `${network}:${s.address}`));
    return driver;
  }

  /** `map` (the msgpack bytes of an envelope) followed by its MAC under `sender`'s key. */
  async seal(sender: FuzzSender, map: Uint8Array): Promise<Uint8Array> {
    const mac = await crypto.subtle.sign("HMAC", sender.key, new Uint8Array(map));
    return concat(map, new Uint8Array(mac));
  }

  /** The msgpack map of a well-formed envelope from `sender` to the server (body entries encoded). */
  envelope(
    sender: FuzzSender,
    type: string,
    body: RawEntries,
    id = sender.nextId++,
  ): Uint8Array {
    return rawMap([
      ["v", packed(PROTOCOL_VERSION)],
      ["t", packed(type)],
      ["f", packed(sender.address)],
      ["d", packed(this.server)],
      ["i", packed(id)],
      ["b", rawMap(body)],
    ]);
  }

  /** Publishes `bytes` on the server's channel; resolves to the number of receivers. */
  publish(bytes: Uint8Array): Promise<number> {
    const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    return this.#pub.publish(`${this.#network}:${this.server}`, buffer);
  }

  /** Sends a well-formed request from `sender` and waits (up to `timeoutMs`) for its answer. */
  request(
    sender: FuzzSender,
    type: string,
    body: Record<string, unknown>,
    timeoutMs = 10_000,
  ): Promise<Envelope> {
    const entries = Object.entries(body).map(([k, v]): [string, Uint8Array] => [k, packed(v)]);
    return this.requestRaw(sender, type, entries, timeoutMs);
  }

  /** {@linkcode request} with a body of encoded entries (any bytes as values). */
  async requestRaw(
    sender: FuzzSender,
    type: string,
    body: RawEntries,
    timeoutMs = 10_000,
  ): Promise<Envelope> {
    const id = sender.nextId++;
    const key = `${sender.address}/${id}`;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const answer = new Promise<Envelope>((resolve, reject) => {
      this.#pending.set(key, resolve);
      timer = setTimeout(() => reject(new Error(`no answer to ${type} ${key}`)), timeoutMs);
    });
    try {
      await this.publish(await this.seal(sender, this.envelope(sender, type, body, id)));
      return await answer;
    } finally {
      clearTimeout(timer);
      this.#pending.delete(key);
    }
  }

  /**
   * Redis' view of the server's subscriber connection: the one connection on
   * exactly 2 channels (its own and broadcast; clients and this driver's
   * subscriber have another number). Undefined while it is not connected.
   */
  async serverSubscriber(): Promise<{ id: string; omem: number } | undefined> {
    const list = await this.#pub.call("CLIENT", "LIST", "TYPE", "pubsub") as string;
    const lines = list.split("\n").filter((line) => / sub=2 psub=0/.test(line));
    if (lines.length > 1) throw new Error(`several connections on 2 channels:\n${list}`);
    if (lines.length === 0) return undefined;
    return { id: /\bid=(\d+)/.exec(lines[0])![1], omem: Number(/ omem=(\d+)/.exec(lines[0])![1]) };
  }

  #receive(channel: Buffer, message: Buffer): void {
    const address = new TextDecoder().decode(channel).slice(this.#network.length + 1);
    const sender = this.senders.find((s) => s.address === address);
    let envelope: Envelope;
    try {
      envelope = decodeEnvelope(new Uint8Array(message));
    } catch {
      count(this.received, "undecodable");
      return;
    }
    if (sender === undefined) return;
    const code = envelope.type === "error" ? `:${String(envelope.body.code)}` : "";
    count(this.received, envelope.type + code);
    const { body } = envelope;
    if (envelope.type === "reply") {
      if (typeof body.upload === "string") sender.uploads.push(body.upload);
      if (body.nonce instanceof Uint8Array) sender.nonces.push(body.nonce.slice());
    }
    if (envelope.replyTo !== undefined) {
      this.#pending.get(`${sender.address}/${envelope.replyTo}`)?.(envelope);
    }
    this.onMessage(sender, envelope);
  }

  /** Closes both Redis connections. */
  async close(): Promise<void> {
    await Promise.allSettled([this.#sub.quit(), this.#pub.quit()]);
  }
}

/** The server process' memory figures from /proc (kB): peak (VmHWM) and current (VmRSS). */
export async function processMemory(pid: number): Promise<{ hwmKiB: number; rssKiB: number }> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  const field = (name: string) =>
    Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status)![1]);
  return { hwmKiB: field("VmHWM"), rssKiB: field("VmRSS") };
}
