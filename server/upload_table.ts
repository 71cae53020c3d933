/**
 * The uploads a server has in progress, and who may start one. A server runs
 * a bounded number of uploads, and one identity only a small share of them;
 * a tag has at most one upload in progress, so two puts of one tag cannot
 * split the servers between them. None of these places can be held by
 * trickling data: an upload whose recent rate is below a floor is evicted to
 * make room for a new one (its client gets `put-reset` with code `evicted`).
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
/** An upload this young is never evicted (its data may not have started). */
export const EVICTION_GRACE_MS = 2000;
/** An upload receiving less than this (bytes per second, recently) may be evicted. */
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
  /** The store's upload, once created. */
  upload?: Upload;
  /** Writes in order; each chunk's write is chained here. */
  queue: Promise<void> = Promise.resolve();
  /** Bytes received but not yet written. */
  pending = 0;
  /** Why it failed, if it did (reported to the client on its next chunk and at commit). */
  failed?: StoreError;
  #recent = 0;
  #recentAt: number;

  constructor(owner: Address, tag: string, now = Date.now()) {
    this.owner = owner;
    this.tag = tag;
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
  /** Sessions reserved whose upload is still being created (no id yet). */
  #starting = 0;

  /** Uploads in progress or starting. */
  get size(): number {
    return this.#byId.size + this.#starting;
  }

  /** The session of upload `id`, if `from` owns it. */
  get(id: string, from: Address): UploadSession | undefined {
    const session = this.#byId.get(id);
    return session?.owner === from ? session : undefined;
  }

  /** Every session with an id, for sweeping and stopping. */
  entries(): IterableIterator<[string, UploadSession]> {
    return this.#byId.entries();
  }

  /**
   * Reserves a place for `owner`'s upload of `tag`, synchronously, so two
   * begins cannot both take the last place or the tag. Throws `busy` or
   * `in-progress`; returns the new session and the sessions evicted for it
   * (the caller tells their clients and drops them).
   */
  reserve(owner: Address, tag: string, now = Date.now()) {
    const evicted: UploadSession[] = [];
    const other = this.#byTag.get(tag);
    if (other !== undefined) {
      if (!other.evictable(now) || other.upload === undefined) {
        throw new StoreError(
          "in-progress",
          "another upload of this tag is in progress here; try again once it has finished",
        );
      }
      evicted.push(this.#evict(other));
    }
    const own = this.#perClient.get(owner);
    if (own >= MAX_UPLOADS_PER_CLIENT) {
      throw new StoreError("busy", `this client already has ${own} uploads in progress here`);
    }
    if (this.size >= MAX_UPLOADS) {
      const slowest = [...this.#byId.values()].filter((s) => s.evictable(now))
        .sort((a, b) => a.rate(now) - b.rate(now))[0];
      if (slowest === undefined) {
        throw new StoreError("busy", `${this.size} uploads in progress here; try again later`);
      }
      evicted.push(this.#evict(slowest));
    }
    const session = new UploadSession(owner, tag, now);
    this.#byTag.set(tag, session);
    this.#perClient.add(owner);
    this.#starting++;
    return { session, evicted };
  }

  /** Records that `session`'s upload now exists under `id`. */
  started(session: UploadSession, id: string, upload: Upload): void {
    session.upload = upload;
    this.#starting--;
    this.#byId.set(id, session);
  }

  /** Gives up a reservation whose upload could not be created. */
  cancel(session: UploadSession): void {
    this.#starting--;
    this.#forget(session);
  }

  /** Removes upload `id` (committed, aborted, timed out); returns its session if it was there. */
  remove(id: string): UploadSession | undefined {
    const session = this.#byId.get(id);
    if (session === undefined) return undefined;
    this.#byId.delete(id);
    this.#forget(session);
    return session;
  }

  #evict(session: UploadSession): UploadSession {
    const id = session.upload!.params.id;
    this.remove(id);
    session.failed = new StoreError(
      "evicted",
      `upload dropped: it received ${Math.round(session.rate())} bytes/s lately, ` +
        `and its place was needed`,
    );
    return session;
  }

  #forget(session: UploadSession): void {
    if (this.#byTag.get(session.tag) === session) this.#byTag.delete(session.tag);
    this.#perClient.remove(session.owner);
  }
}
