/**
 * The server's store: per tag, up to two committed objects (the newest is
 * served; the one before stays as a fallback until a client prunes it or a
 * newer one arrives), each written to `uploads/`, fsynced, and made visible
 * by one atomic rename. Shares are released, replaced or deleted only against
 * a proof of access (core/access.ts) under the object's public access key,
 * or a deletion record (core/deletion.ts) signed by it: the record stays in
 * the tag's directory as `deleted`, so the tag's older versions never come
 * back (server/tag_dir.ts).
 *
 * @module
 */

import { equalBytes, toHex, utf8 } from "../core/bytes.ts";
import type { DeletionRecord } from "../core/deletion.ts";
import { type AccessProof, checkAccess, checkRecord, StoreError } from "./checks.ts";
import { Upload } from "./upload.ts";
import { makePrivateDir, RootPaths, syncDir, tagHash, writeDurable } from "./paths.ts";
import { readDeletion, readTag, sameObject, sortedNames, type StoredObject } from "./tag_dir.ts";

export type { AccessProof, StoredObject };
export { StoreError, vanished } from "./checks.ts";

/** Size limits of a store; undefined means none. */
export interface StoreLimits {
  maxObjectBytes?: number;
  maxTotalBytes?: number;
}

/** Objects kept per tag: the newest and the one before. */
const KEPT_PER_TAG = 2;

/** A server's objects on disk. */
export class Store {
  /** Paths under the root. */
  readonly paths: RootPaths;
  /** Limits enforced on uploads. */
  readonly limits: StoreLimits;
  #objects = 0;
  #bytes = 0;
  #reserved = 0;
  /** Directories of the objects whose share is marked damaged. */
  readonly #damaged = new Set<string>();
  readonly #locks = new Map<string, Promise<unknown>>();

  private constructor(paths: RootPaths, limits: StoreLimits) {
    this.paths = paths;
    this.limits = limits;
  }

  /**
   * Opens (creating) the store under `root`, drops unfinished uploads, finishes
   * what a crash interrupted (objects a deletion record covers, the replaced
   * copy of a repaired object), and counts what is stored.
   */
  static async open(root: string, limits: StoreLimits = {}): Promise<Store> {
    const store = new Store(new RootPaths(root), limits);
    await makePrivateDir(store.paths.root);
    await Deno.chmod(store.paths.root, 0o700);
    await Deno.remove(store.paths.uploads, { recursive: true }).catch(() => {});
    await makePrivateDir(store.paths.uploads);
    await makePrivateDir(store.paths.tags);
    for await (const { dir } of store.#tagDirs()) {
      const { objects, covered } = await readTag(dir);
      const leftovers = [...covered];
      // Two copies of one object: a repair renamed its copy in, then stopped; the older goes.
      if (objects.length > 1 && sameObject(objects[0], objects[1])) {
        leftovers.push(...objects.splice(1, 1));
      }
      for (const object of leftovers) await store.#discard(object.dir);
      if (leftovers.length > 0) await syncDir(dir);
      store.#objects += objects.length;
      for (const object of objects) {
        store.#bytes += object.shareBytes;
        if (object.damaged) store.#damaged.add(object.dir);
      }
    }
    return store;
  }

  /** Objects and share bytes stored, and how many of those shares are marked damaged. */
  get stats(): { objects: number; bytes: number; damaged: number } {
    return { objects: this.#objects, bytes: this.#bytes, damaged: this.#damaged.size };
  }

  /** Runs `task` with the tag's lock held, so commits, removals and prunes of one tag never interleave. */
  async withTag<T>(tag: string, task: (dir: string) => Promise<T>): Promise<T> {
    const hash = await tagHash(tag);
    const previous = this.#locks.get(hash) ?? Promise.resolve();
    const run = previous.catch(() => {}).then(() => task(this.paths.tagDir(hash)));
    this.#locks.set(hash, run);
    try {
      return await run;
    } finally {
      if (this.#locks.get(hash) === run) this.#locks.delete(hash);
    }
  }

  /** The committed objects of `tag`, newest first (none that its deletion record covers). */
  async objects(tag: string): Promise<StoredObject[]> {
    return (await this.state(tag)).objects;
  }

  /** The objects of `tag`, newest first, and its deletion record. */
  async state(tag: string): Promise<{ objects: StoredObject[]; deleted?: DeletionRecord }> {
    const { objects, deleted } = await readTag(this.paths.tagDir(await tagHash(tag)));
    return { objects, deleted };
  }

  /** The deletion record of `tag`, if it was removed. */
  async deletion(tag: string): Promise<DeletionRecord | undefined> {
    return await readDeletion(this.paths.tagDir(await tagHash(tag)));
  }

  /**
   * Starts an upload of share `index` of object `objectId` for `tag`. When the
   * tag already holds an object, `replace` must prove access to the newest one
   * (else `exists`, or `forbidden` when the proof is wrong).
   */
  async beginUpload(params: {
    tag: string;
    objectId: Uint8Array;
    index: number;
    accessKey: Uint8Array;
    replace?: AccessProof;
  }): Promise<Upload> {
    const newest = (await this.objects(params.tag))[0];
    if (newest !== undefined) await this.#checkReplace(newest, params.replace);
    const id = toHex(crypto.getRandomValues(new Uint8Array(8)));
    return await Upload.create(this, {
      ...params,
      id,
      dir: `${this.paths.uploads}/${id}`,
      replaces: newest?.dir,
    });
  }

  async #checkReplace(newest: StoredObject, replace: AccessProof | undefined) {
    if (replace === undefined) {
      throw new StoreError("exists", "tag already holds an object; replacing it needs --force");
    }
    await checkAccess(newest, "replace", replace);
  }

  /** Reserves `bytes` of the total-size limit for an upload; throws `full` when over. */
  reserve(bytes: number): void {
    const max = this.limits.maxTotalBytes;
    if (max !== undefined && this.#bytes + this.#reserved + bytes > max) {
      throw new StoreError("full", `server storage limit of ${max} bytes reached`);
    }
    this.#reserved += bytes;
  }

  /** Returns an upload's reservation. */
  release(bytes: number): void {
    this.#reserved -= bytes;
  }

  /**
   * Called by an upload once committed (with the tag's lock held): counts it,
   * deletes `repaired` (the copy of the same object it replaces), and drops
   * objects beyond the kept two.
   */
  async committed(tagDir: string, shareBytes: number, repaired?: StoredObject): Promise<void> {
    this.#objects++;
    this.#bytes += shareBytes;
    if (repaired !== undefined) await this.#delete(repaired);
    const { objects } = await readTag(tagDir);
    for (const old of objects.slice(KEPT_PER_TAG)) await this.#delete(old);
    await syncDir(tagDir);
  }

  /** The object `objectId` (hex) of `tag`, if `access` proves `get` on it; else `not-found` or `forbidden`. */
  async authorize(tag: string, objectId: string, access: AccessProof): Promise<StoredObject> {
    const object = (await this.objects(tag)).find((o) => toHex(o.info.objectId) === objectId);
    if (object === undefined) throw new StoreError("not-found", "no such object");
    await checkAccess(object, "get", access);
    return object;
  }

  /** Deletes the objects of `tag` older than `objectId`, for a proof of `prune` on that object. */
  async prune(tag: string, objectId: string, access: AccessProof): Promise<number> {
    return await this.withTag(tag, async () => {
      const objects = await this.objects(tag);
      const position = objects.findIndex((o) => toHex(o.info.objectId) === objectId);
      if (position < 0) throw new StoreError("not-found", "no such object");
      await checkAccess(objects[position], "prune", access);
      for (const old of objects.slice(position + 1)) await this.#delete(old);
      return objects.length - position - 1;
    });
  }

  /**
   * Deletes the object `objectId` (hex) of `tag`, for a proof of `withdraw`
   * on that object: a put that committed on fewer than k servers takes its
   * share back, and the object before it is the newest again.
   */
  async withdraw(tag: string, objectId: string, access: AccessProof): Promise<number> {
    return await this.withTag(tag, async (tagDir) => {
      const object = (await this.objects(tag)).find((o) => toHex(o.info.objectId) === objectId);
      if (object === undefined) throw new StoreError("not-found", "no such object");
      await checkAccess(object, "withdraw", access);
      await this.#delete(object);
      await syncDir(tagDir);
      return 1;
    });
  }

  /**
   * Deletes every object of `tag`, for a proof of `rm` on its newest one and
   * that object's deletion `record`, checked in this order: `not-found` when
   * the tag holds no object, `forbidden` for a wrong proof, `bad-request` when
   * the record is missing or for another object, `forbidden` when its
   * signature does not verify under the object's access key. The record is
   * stored, durably, first: from then on the objects are gone, whatever
   * happens to their directories. Returns how many objects there were.
   */
  async remove(
    tag: string,
    access: AccessProof,
    record: DeletionRecord | undefined,
  ): Promise<number> {
    return await this.withTag(tag, async (tagDir) => {
      const objects = await this.objects(tag);
      if (objects.length === 0) throw new StoreError("not-found", "tag not stored here");
      const [newest] = objects;
      // The proof first: without one, nothing about the record is answered.
      await checkAccess(newest, "rm", access);
      if (record === undefined) {
        throw new StoreError(
          "bad-request",
          "rm needs the deletion record of the newest object (field record)",
        );
      }
      if (!equalBytes(newest.header, record.headerBytes)) {
        throw new StoreError(
          "bad-request",
          "the deletion record is not for the newest object stored here",
        );
      }
      await checkRecord(newest, record);
      return await this.#deleteUpTo(tagDir, objects, record);
    });
  }

  /**
   * Applies a deletion `record` passed on by a client: the object it names
   * must be stored here (else `not-found`), and its signature must verify
   * under that object's stored access key (else `forbidden`). Deletes every
   * object of `tag` whose tag version is not above the record's, and keeps
   * the record unless the one stored is of a higher version. Returns how many
   * objects were deleted.
   */
  async forget(tag: string, record: DeletionRecord): Promise<number> {
    if (record.header.tag !== tag) {
      throw new StoreError("bad-request", "the deletion record is for another tag");
    }
    return await this.withTag(tag, async (tagDir) => {
      const objects = await this.objects(tag);
      const named = objects.find((o) => equalBytes(o.info.objectId, record.header.objectId));
      if (named === undefined) {
        throw new StoreError("not-found", "the object the deletion record names is not here");
      }
      if (!equalBytes(named.header, record.headerBytes)) {
        throw new StoreError("bad-request", "the deletion record's header is not the object's");
      }
      await checkRecord(named, record);
      return await this.#deleteUpTo(tagDir, objects, record);
    });
  }

  /** Stores `record` (unless a higher one is stored), then deletes the `objects` it covers. */
  async #deleteUpTo(
    tagDir: string,
    objects: StoredObject[],
    record: DeletionRecord,
  ): Promise<number> {
    const stored = await readDeletion(tagDir);
    if (stored === undefined || stored.header.version < record.header.version) {
      // Written aside and renamed: a crash leaves the old record or the new one, whole.
      await writeDurable(`${tagDir}/deleted.new`, record.bytes);
      await Deno.rename(`${tagDir}/deleted.new`, `${tagDir}/deleted`);
      await syncDir(tagDir);
    }
    const covered = objects.filter((o) => o.info.version <= record.header.version);
    // Already gone from the store; what a failure here leaves, the next start removes.
    for (const object of covered) await this.#delete(object).catch(() => {});
    await syncDir(tagDir).catch(() => {});
    return covered.length;
  }

  /**
   * Marks `object`'s share damaged (a scrub found it so at byte `offset`).
   * Returns false when the object was deleted or replaced meanwhile.
   */
  async markDamaged(object: StoredObject, offset: number): Promise<boolean> {
    const text = JSON.stringify({ offset, found: Date.now() });
    return await this.#writeBeside(object, "damaged", utf8(text), () => {
      this.#damaged.add(object.dir);
    });
  }

  /**
   * Stores `checksums` for `object`, which was committed without them (by an
   * older version). Returns false when the object was deleted or replaced meanwhile.
   */
  async addChecksums(object: StoredObject, checksums: Uint8Array): Promise<boolean> {
    return await this.#writeBeside(object, "checksums", checksums);
  }

  /** Writes `name` into `object`'s directory if the object is still stored (under its tag's lock). */
  async #writeBeside(
    object: StoredObject,
    name: string,
    bytes: Uint8Array,
    then: () => void = () => {},
  ): Promise<boolean> {
    return await this.withTag(object.info.tag, async () => {
      if (!(await this.objects(object.info.tag)).some((o) => o.dir === object.dir)) return false;
      await writeDurable(`${object.dir}/${name}.new`, bytes);
      await Deno.rename(`${object.dir}/${name}.new`, `${object.dir}/${name}`);
      await syncDir(object.dir);
      then();
      return true;
    });
  }

  async #delete(object: StoredObject): Promise<void> {
    await this.#discard(object.dir, () => {
      this.#objects--;
      this.#bytes -= object.shareBytes;
      this.#damaged.delete(object.dir);
    });
  }

  /**
   * Deletes the directory `dir`, calling `gone` once it is out of the store: renamed
   * first, so a crash never leaves a half-deleted object that looks committed.
   */
  async #discard(dir: string, gone: () => void = () => {}): Promise<void> {
    const doomed = `${this.paths.uploads}/deleted-${crypto.randomUUID()}`;
    await Deno.rename(dir, doomed);
    gone();
    await Deno.remove(doomed, { recursive: true });
  }

  /** Every tag (in order of its hash) after the hash `after` that holds objects, newest first. */
  async *tags(after = ""): AsyncGenerator<{ hash: string; tag: string; objects: StoredObject[] }> {
    for await (const { hash, dir } of this.#tagDirs(after)) {
      const { objects } = await readTag(dir);
      if (objects.length > 0) yield { hash, tag: objects[0].info.tag, objects };
    }
  }

  /**
   * Every tag (in order of its hash) after the hash `after` that holds objects
   * or a deletion record: what `list` lists.
   */
  async *listing(
    after = "",
  ): AsyncGenerator<{ hash: string; objects: StoredObject[]; deleted?: DeletionRecord }> {
    for await (const { hash, dir } of this.#tagDirs(after)) {
      const { objects, deleted } = await readTag(dir);
      if (objects.length > 0 || deleted !== undefined) yield { hash, objects, deleted };
    }
  }

  /** Tag directories in hash order, skipping (without reading) those up to `after`. */
  async *#tagDirs(after = ""): AsyncGenerator<{ hash: string; dir: string }> {
    for (const prefix of await sortedNames(this.paths.tags)) {
      if (prefix < after.slice(0, 2)) continue;
      for (const hash of await sortedNames(`${this.paths.tags}/${prefix}`)) {
        if (hash <= after) continue;
        yield { hash, dir: `${this.paths.tags}/${prefix}/${hash}` };
      }
    }
  }
}

/** Directory name of a committed object: commit time (ms, 15 digits) and object id. */
export function objectDirName(commitTime: number, objectId: Uint8Array): string {
  return `${String(commitTime).padStart(15, "0")}-${toHex(objectId)}`;
}
