/**
 * The uploads a server has in progress, and who may start one. A server runs
 * a bounded number of uploads, and one identity only a small share of them;
 * a tag has at most one upload in progress (until its commit ends), so two
 * puts of one tag cannot split the servers between them. None of these
 * places can be held without sending data: when all are taken, the upload
 * with the lowest recent rate (the oldest among equals) gives its place to
 * the new one, and a tag's upload does once it is past a short grace and
 * slow. An evicted upload's client gets `put-reset` with code `evicted`.
 *
 * @module
 */

import type { Address } from "../core/net/envelope.ts";
import { Counts } from "../core/counts.ts";
import { InOrderReceiver } from "../core/net/transfer.ts";
import { StoreError } from "./store.ts";
import type { Upload } from "./upload.ts";

/** Uploads one client identity may have in progress at a server. */
export const MAX_UPLOADS_PER_CLIENT = 8;
/** Uploads a server runs at once, from all clients. */
export const MAX_UPLOADS = 256;
/** A tag's upload this young does not give way to another of the tag (its data may not have started). */
export const EVICTION_GRACE_MS = 2000;
/** A tag's upload receiving less than this (bytes per second, recently) gives way to another. */
export const SLOW_UPLOAD_RATE = 64 * 1024;
/** Time constant of the recent-rate estimate, in milliseconds. */
const RATE_WINDOW_MS = 4000;

/** One upload in progress, from the moment its `put-begin` is accepted. */
export class UploadSession {
  /** The client identity that began it. */
  readonly owner: Address;
  /** Its tag. */
  readonly tag: string;
  /** When it was begun (ms since epoch). */
  readonly started: number;
  /** Which chunks arrived in order. */
  readonly receiver = new InOrderReceiver();
  /** The store's upload. */
  readonly upload: Upload;
  /** Writes in order; each chunk's write is chained here. */
  queue: Promise<void> = Promise.resolve();
  /** Bytes received but not yet written. */
  pending = 0;
  /** Why it failed, if it did (reported to the client on its next chunk and at commit). */
  failed?: StoreError;
  /** Set once its commit has begun: its data is complete, and it keeps its tag until the end. */
  committing = false;
  #recent = 0;
  #recentAt: number;

  constructor(owner: Address, upload: Upload, now = Date.now()) {
    this.owner = owner;
    this.upload = upload;
    this.tag = upload.params.tag;
    this.started = now;
    this.#recentAt = now;
  }

  /** Counts `bytes` that just arrived toward the recent rate. */
  arrived(bytes: number, now = Date.now()): void {
    this.#recent = this.#decayed(now) + bytes;
    this.#recentAt = now;
  }

  /** Bytes per second received lately (an exponentially decaying average). */
  rate(now = Date.now()): number {
    return this.#decayed(now) / (RATE_WINDOW_MS / 1000);
  }

  /** Whether it may give its place to a new upload: past its grace and slow. */
  evictable(now = Date.now()): boolean {
    return now - this.started >= EVICTION_GRACE_MS && this.rate(now) < SLOW_UPLOAD_RATE;
  }

  #decayed(now: number): number {
    return this.#recent * Math.exp(-(now - this.#recentAt) / RATE_WINDOW_MS);
  }
}

/** Upload sessions by id and by tag, with the limits of the module documentation. */
export class UploadTable {
  readonly #byId = new Map<string, UploadSession>();
  readonly #byTag = new Map<string, UploadSession>();
  readonly #perClient = new Counts<Address>();

  /** Uploads in progress. */
  get size(): number {
    return this.#byId.size;
  }

  /** The session of upload `id`, if `from` owns it. */
  get(id: string, from: Address): UploadSession | undefined {
    const session = this.#byId.get(id);
    return session?.owner === from ? session : undefined;
  }

  /** Every session, for sweeping and stopping. */
  entries(): IterableIterator<[string, UploadSession]> {
    return this.#byId.entries();
  }

  /**
   * Admits `upload` (already authorised by the store) as `owner`'s, in one
   * synchronous step, so two begins cannot both take the last place or the
   * tag. Throws `busy` or `in-progress` (the caller then aborts the upload);
   * returns the new session and the sessions evicted for it (the caller tells
   * their clients and drops them).
   */
  admit(owner: Address, upload: Upload, now = Date.now()) {
    const { id, tag } = upload.params;
    const evicted: UploadSession[] = [];
    const other = this.#byTag.get(tag);
    if (other !== undefined) {
      if (other.committing || !other.evictable(now)) {
        throw new StoreError(
          "in-progress",
          "another upload of this tag is in progress here; try again once it has finished",
        );
      }
      evicted.push(this.#evict(other, now));
    }
    const own = this.#perClient.get(owner);
    if (own >= MAX_UPLOADS_PER_CLIENT) {
      throw new StoreError("busy", `this client already has ${own} uploads in progress here`);
    }
    if (this.size >= MAX_UPLOADS) {
      // The slowest lately, the oldest among equals: a place is kept only by sending data.
      const slowest = [...this.#byId.values()].filter((s) => !s.committing)
        .sort((a, b) => a.rate(now) - b.rate(now) || a.started - b.started)[0];
      if (slowest === undefined || slowest.rate(now) >= SLOW_UPLOAD_RATE) {
        throw new StoreError("busy", `${this.size} uploads in progress here; try again later`);
      }
      evicted.push(this.#evict(slowest, now));
    }
    const session = new UploadSession(owner, upload, now);
    this.#byId.set(id, session);
    this.#byTag.set(tag, session);
    this.#perClient.add(owner);
    return { session, evicted };
  }

  /** Removes upload `id` (committed, aborted, timed out); returns its session if it was there. */
  remove(id: string): UploadSession | undefined {
    const session = this.#byId.get(id);
    if (session === undefined) return undefined;
    this.#byId.delete(id);
    if (this.#byTag.get(session.tag) === session) this.#byTag.delete(session.tag);
    this.#perClient.remove(session.owner);
    return session;
  }

  #evict(session: UploadSession, now: number): UploadSession {
    this.remove(session.upload.params.id);
    session.failed = new StoreError(
      "evicted",
      `upload dropped: it received ${Math.round(session.rate(now))} bytes/s lately, ` +
        `and its place was needed`,
    );
    return session;
  }
}
