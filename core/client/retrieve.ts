/**
 * Retrieval of one object: derive its keys from the password, start k
 * holders' shares (the data indices first, so no decoding is needed when all
 * are sound), keep the others as spares, and stream the plaintext through the
 * opener, naming the server behind every rejected share.
 *
 * @module
 */

import { NotEnoughSharesError, type Rejection } from "../errors.ts";
import type { ObjectHeader } from "../header.ts";
import { frameOffset } from "../header.ts";
import { type Address, displayName } from "../net/envelope.ts";
import { bytesField, uintField } from "../net/fields.ts";
import { RemoteError } from "../net/host.ts";
import { openUnlocked, type ShareSource, type SpareSource, type VerifiedParts } from "../open.ts";
import { unlock, type UnlockedObject } from "../unlock.ts";
import { renamingErrors } from "../renaming.ts";
import { accessKeys } from "../access.ts";
import { rateLimited, wrongPassword } from "./refusals.ts";
import type { Holder, ObjectView } from "./heads.ts";
import type { Client } from "./session.ts";
import { MAX_DOWNLOAD_CHUNK } from "./incoming.ts";

/** Bytes all of one client's downloads may have in flight together. */
export const DOWNLOAD_BUDGET = 4 * 2 ** 20;

/** A server that was not used, and why. */
export interface ServerRejection {
  server: Address;
  index?: number;
  reason: string;
  /** The opener's reason code, when the share was rejected while reading. */
  code?: Rejection["reason"];
  /** The segment where it failed, when known. */
  segment?: number;
}

/** An object being retrieved. */
export interface Retrieval {
  /** The header of the object chosen. */
  header: ObjectHeader;
  /** The plaintext; it fails with a typed error if fewer than k shares survive. */
  plaintext: ReadableStream<Uint8Array>;
  /** Servers read from (k, plus any spare that had to step in). */
  sources: { server: Address; index: number }[];
  /** Servers not used and why; complete once `plaintext` has ended. */
  rejected(): ServerRejection[];
  /** The manifest and key shares verified before streaming. */
  verified?: VerifiedParts;
  /** The object's keys (for repair, which frames and proves with them). */
  unlocked: UnlockedObject;
}

/** How many Web Workers open an object's segments. */
export interface WorkersOption {
  /** 0 = on the calling thread; default one per core (core/open.ts OpenOptions.workers). */
  workers?: number;
}

/** What {@linkcode retrieveObject} needs besides the object. */
export interface RetrieveOptions extends WorkersOption {
  tag: string;
  password: string;
  /** Master keys derived so far, by KDF parameters (shared between candidates). */
  masterKeys?: Map<string, Promise<Uint8Array>>;
  /** Highest scrypt work factor accepted. */
  maxLogN?: number;
  /** Lowest scrypt work factor accepted. */
  minLogN?: number;
  /** scrypt progress, 0..1. */
  onKdfProgress?: (fraction: number) => void;
  /** How long a share may lag the others before it is given up; default 20 s. */
  stallMs?: number;
  /**
   * Read every holder's share in full, each checked frame by frame (verify
   * and repair), instead of k holders with the others as spares.
   */
  readAll?: boolean;
  /** See ReassembleInput.onLayer2 (core/reassemble.ts). */
  onLayer2?: (segment: number, last: boolean, layer2: Uint8Array) => Promise<void>;
  /**
   * Restates a shortage of shares given every server not used (default: the
   * servers and their reasons; get adds where the other shares are and what
   * to do, core/client/shortage.ts).
   */
  restate?: (
    error: NotEnoughSharesError,
    rejected: ServerRejection[],
  ) => NotEnoughSharesError;
}

/**
 * Starts retrieving `object`; throws WrongPasswordError (with the fewest
 * tries any server has left), RateLimitedError or NotEnoughSharesError
 * (naming servers).
 */
export async function retrieveObject(
  client: Client,
  object: ObjectView,
  options: RetrieveOptions,
): Promise<Retrieval> {
  const unlocked = await unlock(object.headerBytes, {
    tag: options.tag,
    password: options.password,
    masterKeys: options.masterKeys,
    maxLogN: options.maxLogN,
    minLogN: options.minLogN,
    onKdfProgress: options.onKdfProgress,
  });
  const rejected: ServerRejection[] = [];
  // Read from k holders, the data indices first (no decoding needed); the
  // others are spares, started only where a share in use fails. All downloads
  // together keep at most DOWNLOAD_BUDGET in flight toward this client, far
  // below Redis' limits for one subscriber (8 MB for 60 s, 32 MB).
  // Read k holders (or one per index), the rest are spares.
  const holders = options.readAll
    ? uniqueFirst(object.holders)
    : [...object.holders].sort((a, b) => a.index - b.index);
  const k = options.readAll ? new Set(holders.map((h) => h.index)).size : object.header.k;
  const window = Math.max(64 * 1024, Math.floor(DOWNLOAD_BUDGET / (k + 1)));
  // Two chunks per window: each chunk costs both ends a message and an ack, so fewer,
  // larger ones save CPU (means of 4 interleaved 256 MiB gets, 4 chunks of 256 KiB per
  // window against 2 of 512 KiB: servers 9.6 against 7.1 CPU-s per GiB, Redis 1.6 against 1.3).
  const chunk = Math.min(MAX_DOWNLOAD_CHUNK, Math.max(16 * 1024, Math.floor(window / 2)));
  const serverOf = new Map(object.holders.map(({ server, index }) => [index, server]));
  const used: { server: Address; index: number }[] = [];
  const access = await accessKeys(unlocked.keys.retrievalToken);
  const begin = async (server: Address, index: number, offset: number) => {
    const { objectId } = object.header;
    const { id, incoming } = client.download(server, window);
    try {
      const reply = await client.requestWithProof(
        server,
        "get-begin",
        { tag: options.tag, objectId, download: id, offset, window, chunk },
        { keys: access, op: "get", objectId, tag: options.tag },
      );
      if (uintField(reply, "index", 255) !== index) {
        throw new Error(`answered for index ${reply.index}, not ${index}`);
      }
      incoming.setSize(uintField(reply, "size"));
      used.push({ server, index });
      return {
        manifest: bytesField(reply, "manifest", undefined, 16384).slice(),
        keyShare: bytesField(reply, "keyShare", 33).slice(),
        frames: incoming.stream,
      };
    } catch (error) {
      incoming.abort();
      throw error;
    }
  };
  const sources: ShareSource[] = [];
  const forbidden: RemoteError[] = [];
  const limited: RemoteError[] = [];
  await Promise.all(
    holders.slice(0, k).map(async ({ server, index }) => {
      try {
        const started = await begin(server, index, 0);
        sources.push({
          index,
          header: object.headerBytes,
          manifest: started.manifest,
          shares: started.frames,
        });
      } catch (error) {
        if (error instanceof RemoteError && error.code === "forbidden") forbidden.push(error);
        if (error instanceof RemoteError && error.code === "rate-limited") limited.push(error);
        rejected.push({ server, index, reason: (error as Error).message });
      }
    }),
  );
  const refused = forbidden.length + limited.length;
  if (limited.length > 0 && refused === Math.min(k, holders.length)) throw rateLimited(limited);
  if (forbidden.length > 0 && forbidden.length === Math.min(k, holders.length)) {
    throw wrongPassword(forbidden);
  }
  const spares: SpareSource[] = holders.slice(k).map(({ server, index }) => ({
    index,
    start: (segment) => begin(server, index, frameOffset(object.header, segment)),
  }));
  sources.sort((a, b) => a.index - b.index);
  /** A NotEnoughSharesError restated with the servers behind each index. */
  const nameServers = (error: unknown) => {
    if (!(error instanceof NotEnoughSharesError)) return error;
    const all = [...rejected, ...error.rejections.map(toServer)];
    if (options.restate !== undefined) return options.restate(error, all);
    return error.withDetail(all.map((r) => `${displayName(r.server)}: ${r.reason}`).join("; "));
  };
  const toServer = (r: Rejection): ServerRejection => ({
    server: serverOf.get(r.index) ?? "server:unknown" as Address,
    index: r.index,
    reason: r.detail,
    code: r.reason,
    segment: r.segment,
  });
  try {
    const opened = await openUnlocked(unlocked, sources, [], spares, {
      stallMs: options.stallMs,
      onLayer2: options.onLayer2,
      workers: options.workers,
    });
    return {
      unlocked,
      verified: opened.verified,
      header: opened.header,
      plaintext: renamingErrors(opened.plaintext, nameServers),
      sources: used,
      rejected: () => [...rejected, ...opened.rejections.map(toServer)],
    };
  } catch (error) {
    await Promise.all(sources.map((s) => s.shares.locked ? undefined : s.shares.cancel()));
    throw nameServers(error);
  }
}

/**
 * Holders sorted by index with one per index first and the second holders of
 * an index after them (as spares), so no index is read twice at once.
 */
function uniqueFirst(holders: readonly Holder[]): Holder[] {
  const seen = new Set<number>();
  const sorted = [...holders].sort((a, b) => a.index - b.index);
  const first = sorted.filter(({ index }) => !seen.has(index) && seen.add(index));
  return [...first, ...sorted.filter((h) => !first.includes(h))];
}
