/**
 * The messages of the wire fuzz test, drawn from a seeded PRNG:
 *
 * - `random`: random bytes of random lengths;
 * - `mutated`: envelopes MAC'd by a real identity (so they reach the
 *   handlers) of every message type, with body fields given wrong types,
 *   removed, added or duplicated, hostile tags, ids that exist and that do
 *   not, and now and then a broken envelope field;
 * - `corrupted`: valid messages truncated, bit-flipped or extended, with
 *   the MAC left as it was (so it fails) or made again;
 * - `bomb`: msgpack claiming 2^32 entries or 4 GiB, deep nesting, and
 *   near-limit messages of nested or empty containers.
 *
 * Ids the server hands out (uploads, nonces) come back through the driver
 * and are reused, so a run also depends on the server's answers.
 *
 * @module
 */

import type { Prng } from "../prng.ts";
import { MAC_LENGTH, MAX_MESSAGE_BYTES } from "../../core/net/envelope.ts";
import { type AccessKeys, proveAccess } from "../../core/access.ts";
import type { FuzzDriver, FuzzSender } from "./driver.ts";
import { nested, packed, rawArray, type RawEntries, rawMap, wide } from "./msgpack_raw.ts";
import { chance, hex, HOSTILE_TAGS, pick } from "./values.ts";
import { corrupt, hostileOrInt, mutateBody, mutateEnvelope } from "./mutations.ts";
import { bombBody, lightBomb } from "./bombs.ts";

/** The four kinds of message sent. */
export type Category = "random" | "mutated" | "corrupted" | "bomb";

/** An object the network holds, known to the fuzzer with its access keys. */
export interface SeededObject {
  readonly tag: string;
  readonly objectId: Uint8Array;
  readonly header: Uint8Array;
  readonly shareBytes: number;
  readonly access: AccessKeys;
}

/** One message to publish. */
export interface FuzzMessage {
  readonly category: Category;
  /** What it is, e.g. `mutated:put-begin` or `bomb:deep arrays`. */
  readonly kind: string;
  readonly bytes: Uint8Array;
}

/** Request types a server handles. */
export const REQUEST_TYPES = [
  "info",
  "head",
  "list",
  "challenge",
  "put-begin",
  "put-commit",
  "put-abort",
  "get-begin",
  "prune",
  "rm",
] as const;
/** Messages a server listens to without answering. */
export const LISTENED_TYPES = ["put-data", "get-ack", "get-cancel"] as const;
/** Types a server neither handles nor listens to. */
const OTHER_TYPES = ["reply", "error", "put-ack", "put-reset", "get-data", "zz-top", "a"];

type Entries = RawEntries;

/** Draws fuzz messages for one server. */
export class FuzzGenerator {
  readonly #random: Prng;
  readonly #driver: FuzzDriver;
  readonly #seeded: SeededObject[];
  /** Valid get proofs made (the downloads they start are real). */
  validProofs = 0;
  #proven = false;

  constructor(random: Prng, driver: FuzzDriver, seeded: SeededObject[]) {
    this.#random = random;
    this.#driver = driver;
    this.#seeded = seeded;
  }

  /** The next message: `category` if given, else drawn 20 / 55 / 22 / 3 %. */
  async next(category?: Category): Promise<FuzzMessage> {
    const r = this.#random;
    const roll = r.int(0, 99);
    const chosen = category ??
      (roll < 20 ? "random" : roll < 75 ? "mutated" : roll < 97 ? "corrupted" : "bomb");
    switch (chosen) {
      case "random":
        return this.#randomBytes();
      case "mutated":
        return await this.#mutated();
      case "corrupted":
        return await this.#corrupted();
      case "bomb":
        return await this.#lightBomb();
    }
  }

  /** One of the near-limit (about 2 MiB) messages, `which` = 0, 1, ... in turn. */
  async heavy(which: number): Promise<FuzzMessage> {
    const r = this.#random;
    const sender = pick(r, this.#driver.senders);
    const room = MAX_MESSAGE_BYTES - MAC_LENGTH - 400;
    const sizes = [MAX_MESSAGE_BYTES - 1, MAX_MESSAGE_BYTES, MAX_MESSAGE_BYTES + 1, 3 * 2 ** 20];
    switch (which % 6) {
      case 0:
        return {
          category: "random",
          kind: "random:near 2 MiB",
          bytes: r.bytes(sizes[(which / 6 | 0) % sizes.length]),
        };
      case 1:
        return await this.#sealedBomb(sender, "deep arrays", nested(room, "array"));
      case 2:
        return await this.#sealedBomb(sender, "deep maps", nested(Math.floor(room / 3), "map"));
      case 3:
        return await this.#sealedBomb(sender, "2M empty containers", wide(room));
      case 4: {
        const strings = Array.from({ length: 31 }, () => packed("s".repeat(65536)));
        return await this.#sealedBomb(sender, "31 strings of 64 KiB", rawArray(strings));
      }
      default: {
        const upload = sender.uploads.at(-1) ?? hex(r, 8);
        const body: Entries = [
          ["upload", packed(upload)],
          ["seq", packed(0)],
          ["data", packed(r.bytes(room))],
        ];
        const map = this.#driver.envelope(sender, "put-data", body);
        return { category: "bomb", kind: "bomb:2 MiB chunk", bytes: await this.#seal(sender, map) };
      }
    }
  }

  #randomBytes(): FuzzMessage {
    const r = this.#random;
    const roll = r.int(0, 99);
    const length = roll < 50 ? r.int(0, 64) : roll < 85 ? r.int(0, 1024) : r.int(0, 4096);
    return { category: "random", kind: "random:bytes", bytes: r.bytes(length) };
  }

  async #sealedBomb(sender: FuzzSender, what: string, value: Uint8Array): Promise<FuzzMessage> {
    const body = bombBody(this.#random, value);
    const map = this.#driver.envelope(sender, pick(this.#random, REQUEST_TYPES), body);
    return { category: "bomb", kind: `bomb:${what}`, bytes: await this.#seal(sender, map) };
  }

  async #lightBomb(): Promise<FuzzMessage> {
    const r = this.#random;
    const sender = pick(r, this.#driver.senders);
    const { kind, value, whole } = lightBomb(r);
    if (whole) return { category: "bomb", kind: `bomb:${kind} (whole)`, bytes: value };
    return await this.#sealedBomb(sender, kind, value);
  }

  #seal(sender: FuzzSender, map: Uint8Array): Promise<Uint8Array> {
    return this.#driver.seal(sender, map);
  }

  /** A tag: hostile (encoded as is), one the server holds, or an ordinary new one. */
  #tag(): Uint8Array {
    const r = this.#random;
    const roll = r.int(0, 9);
    if (roll < 4) return pick(r, HOSTILE_TAGS).bytes;
    if (roll < 7 && this.#seeded.length > 0) return packed(pick(r, this.#seeded).tag);
    return packed(`fuzz/${r.int(0, 50)}`);
  }

  /** An upload or download id: one of the sender's, another sender's, or made up. */
  #id(own: string[], sender: FuzzSender): string {
    const r = this.#random;
    const roll = r.int(0, 9);
    if (roll < 5 && own.length > 0) return pick(r, own);
    if (roll < 7) {
      const other = pick(r, this.#driver.senders);
      const ids = own === sender.uploads ? other.uploads : other.downloads;
      if (ids.length > 0) return pick(r, ids);
    }
    return hex(r, 8);
  }

  /** A valid-looking body for `type`, as encoded entries. */
  async #body(sender: FuzzSender, type: string): Promise<Entries> {
    const r = this.#random;
    const seeded = this.#seeded.length > 0 ? pick(r, this.#seeded) : undefined;
    const objectId = () => packed(seeded && chance(r, 0.5) ? seeded.objectId : r.bytes(16));
    const nonce = () => packed(sender.nonces.pop() ?? r.bytes(32));
    switch (type) {
      case "head":
        return [["tag", this.#tag()]];
      case "list":
        return chance(r, 0.5) ? [] : [["after", packed(hex(r, 32))]];
      case "put-begin":
        return [
          ["tag", this.#tag()],
          ["objectId", objectId()],
          ["index", packed(r.int(0, 256))],
          ["accessKey", packed(r.bytes(32))],
          ...(chance(r, 0.3)
            ? [["nonce", nonce()], ["proof", packed(r.bytes(64))]] as Entries
            : []),
        ];
      case "put-data":
        return [
          ["upload", packed(this.#id(sender.uploads, sender))],
          ["seq", packed(r.int(0, 3))],
          ["data", packed(r.bytes(r.int(0, 4096)))],
        ];
      case "put-commit":
        return [
          ["upload", packed(this.#id(sender.uploads, sender))],
          ["chunks", packed(r.int(0, 4))],
          ["header", packed(seeded && chance(r, 0.5) ? seeded.header : r.bytes(r.int(0, 300)))],
          ["manifest", packed(r.bytes(pick(r, [0, 134, 166, 300])))],
        ];
      case "put-abort":
        return [["upload", packed(this.#id(sender.uploads, sender))]];
      case "get-begin":
        return await this.#getBegin(sender, seeded, objectId, nonce);
      case "get-ack":
        return [
          ["download", packed(this.#id(sender.downloads, sender))],
          ["seq", packed(r.int(0, 10))],
        ];
      case "get-cancel":
        return [["download", packed(this.#id(sender.downloads, sender))]];
      case "prune":
        return [
          ["tag", this.#tag()],
          ["objectId", objectId()],
          ["nonce", nonce()],
          ["proof", packed(r.bytes(64))],
        ];
      case "rm":
        return [["tag", this.#tag()], ["nonce", nonce()], ["proof", packed(r.bytes(64))]];
      default:
        return chance(r, 0.5) ? [] : [["code", packed("busy")], ["upload", packed(hex(r, 8))]];
    }
  }

  /** A get-begin; now and then with a valid proof, so a real download starts. */
  async #getBegin(
    sender: FuzzSender,
    seeded: SeededObject | undefined,
    objectId: () => Uint8Array,
    nonce: () => Uint8Array,
  ): Promise<Entries> {
    const r = this.#random;
    const download = hex(r, 8);
    const extra: Entries = [];
    if (chance(r, 0.5)) extra.push(["offset", packed(r.int(0, (seeded?.shareBytes ?? 0) + 2))]);
    if (chance(r, 0.3)) extra.push(["window", hostileOrInt(r)]);
    if (chance(r, 0.3)) extra.push(["chunk", hostileOrInt(r)]);
    const proven = seeded !== undefined && sender.nonces.length > 0 && chance(r, 0.4);
    if (proven) {
      const n = sender.nonces.pop()!;
      const proof = await proveAccess(seeded.access, "get", n, seeded.objectId, seeded.tag);
      this.validProofs++;
      this.#proven = true;
      sender.downloads.push(download);
      return [
        ["tag", packed(seeded.tag)],
        ["objectId", packed(seeded.objectId)],
        ["download", packed(download)],
        ["nonce", packed(n)],
        ["proof", packed(proof)],
        ...extra,
      ];
    }
    return [
      ["tag", this.#tag()],
      ["objectId", objectId()],
      ["download", packed(chance(r, 0.8) ? download : hex(r, r.int(0, 9)))],
      ["nonce", nonce()],
      ["proof", packed(r.bytes(64))],
      ...extra,
    ];
  }

  async #mutated(): Promise<FuzzMessage> {
    const r = this.#random;
    const sender = pick(r, this.#driver.senders);
    const roll = r.int(0, 99);
    const type = roll < 70
      ? pick(r, REQUEST_TYPES)
      : roll < 90
      ? pick(r, LISTENED_TYPES)
      : pick(r, OTHER_TYPES);
    this.#proven = false;
    const body = await this.#body(sender, type);
    // A message with a valid proof is left whole: a download must really start.
    const mutations = this.#proven ? 0 : r.int(0, 3);
    for (let i = 0; i < mutations; i++) mutateBody(r, body);
    const envelope: Entries = [
      ["v", packed(2)],
      ["t", packed(type)],
      ["f", packed(sender.address)],
      ["d", packed(this.#driver.server)],
      ["i", packed(chance(r, 0.05) ? r.int(1, sender.nextId) : sender.nextId++)],
      ["b", rawMap(body)],
    ];
    let kind = `mutated:${type}`;
    if (chance(r, 0.05)) envelope.push(["r", packed(r.int(0, 10))]);
    if (chance(r, 0.15)) kind = `mutated:envelope ${mutateEnvelope(r, envelope, this.#driver)}`;
    const map = rawMap(envelope);
    return { category: "mutated", kind, bytes: await this.#seal(sender, map) };
  }

  async #corrupted(): Promise<FuzzMessage> {
    const r = this.#random;
    const sender = pick(r, this.#driver.senders);
    const type = pick(r, [...REQUEST_TYPES, ...LISTENED_TYPES]);
    const map = this.#driver.envelope(sender, type, await this.#body(sender, type));
    const sealed = await this.#seal(sender, map);
    const { kind, bytes } = await corrupt(r, map, sealed, (m) => this.#seal(sender, m));
    return { category: "corrupted", kind: `corrupted:${kind}`, bytes };
  }
}
