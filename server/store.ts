/**
 * The server's store: per tag, up to two committed objects (the newest is
 * served; the one before stays as a fallback until a client prunes it or a
 * newer one arrives), each written to `uploads/`, fsynced, and made visible
 * by one atomic rename. Shares are released, replaced or deleted only against
 * a proof of access (core/access.ts) under the object's public access key.
 *
 * @module
 */

import { toHex } from "../core/bytes.ts";
import { type AccessOp, verifyAccess } from "../core/access.ts";
import { decodeHeader, type ObjectHeader } from "../core/header.ts";
import { Upload } from "./upload.ts";
import { makePrivateDir, RootPaths, syncDir, tagHash } from "./paths.ts";

/** Why a store operation was refused; `code` travels to the client. */
export class StoreError extends Error {
  /** `exists`, `forbidden`, `not-found`, `full`, `conflict` or `bad-request`. */
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = "StoreError";
    this.code = code;
  }
}

/** Size limits of a store; undefined means none. */
export interface StoreLimits {
  maxObjectBytes?: number;
  maxTotalBytes?: number;
}

/** One committed object as the server holds it. */
export interface StoredObject {
  /** Its directory. */
  readonly dir: string;
  /** The header bytes. */
  readonly header: Uint8Array;
  /** The header, decoded. */
  readonly info: ObjectHeader;
  /** This server's share index. */
  readonly index: number;
  /** Bytes of its share stream. */
  readonly shareBytes: number;
}

/** A signed request for access (core/access.ts), its nonce already checked and spent. */
export interface AccessProof {
  readonly nonce: Uint8Array;
  readonly proof: Uint8Array;
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
  readonly #locks = new Map<string, Promise<unknown>>();

  private constructor(paths: RootPaths, limits: StoreLimits) {
    this.paths = paths;
    this.limits = limits;
  }

  /** Opens (creating) the store under `root`, drops unfinished uploads, counts what is stored. */
  static async open(root: string, limits: StoreLimits = {}): Promise<Store> {
    const store = new Store(new RootPaths(root), limits);
    await makePrivateDir(store.paths.root);
    await Deno.chmod(store.paths.root, 0o700);
    await Deno.remove(store.paths.uploads, { recursive: true }).catch(() => {});
    await makePrivateDir(store.paths.uploads);
    await makePrivateDir(store.paths.tags);
    for await (const { objects } of store.#tagDirs()) {
      store.#objects += objects.length;
      for (const object of objects) store.#bytes += object.shareBytes;
    }
    return store;
  }

  /** Objects and share bytes stored. */
  get stats(): { objects: number; bytes: number } {
    return { objects: this.#objects, bytes: this.#bytes };
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

  /** The committed objects of `tag`, newest first. */
  async objects(tag: string): Promise<StoredObject[]> {
    return await readObjects(this.paths.tagDir(await tagHash(tag)));
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

  /** Called by an upload once committed: counts it and drops objects beyond the kept two. */
  async committed(tagDir: string, shareBytes: number): Promise<void> {
    this.#objects++;
    this.#bytes += shareBytes;
    const objects = await readObjects(tagDir);
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
   * Deletes every object of `tag` for a proof of `rm` on its newest one. Returns how many.
   * The whole tag directory leaves in one rename: deleting object by object, a crash
   * after the newest went would leave the older one served as the tag's newest.
   */
  async remove(tag: string, access: AccessProof): Promise<number> {
    return await this.withTag(tag, async (tagDir) => {
      const objects = await this.objects(tag);
      if (objects.length === 0) throw new StoreError("not-found", "tag not stored here");
      await checkAccess(objects[0], "rm", access);
      const doomed = `${this.paths.uploads}/deleted-${crypto.randomUUID()}`;
      await Deno.rename(tagDir, doomed);
      await syncDir(tagDir.slice(0, tagDir.lastIndexOf("/")));
      for (const object of objects) {
        this.#objects--;
        this.#bytes -= object.shareBytes;
      }
      // Gone from the store already; what a failure here leaves, the next start removes.
      await Deno.remove(doomed, { recursive: true }).catch(() => {});
      return objects.length;
    });
  }

  async #delete(object: StoredObject): Promise<void> {
    // Rename first so a crash never leaves a half-deleted object that looks committed.
    const doomed = `${this.paths.uploads}/deleted-${crypto.randomUUID()}`;
    await Deno.rename(object.dir, doomed);
    await Deno.remove(doomed, { recursive: true });
    this.#objects--;
    this.#bytes -= object.shareBytes;
  }

  /** Every tag (in order of its hash) after the hash `after`, with its objects, newest first; for listing. */
  async *tags(after = ""): AsyncGenerator<{ hash: string; tag: string; objects: StoredObject[] }> {
    yield* this.#tagDirs(after);
  }

  /** Tag directories in hash order, skipping (without reading) those up to `after`. */
  async *#tagDirs(
    after = "",
  ): AsyncGenerator<{ hash: string; tag: string; objects: StoredObject[] }> {
    for (const prefix of await sortedNames(this.paths.tags)) {
      if (prefix < after.slice(0, 2)) continue;
      for (const hash of await sortedNames(`${this.paths.tags}/${prefix}`)) {
        if (hash <= after) continue;
        const dir = `${this.paths.tags}/${prefix}/${hash}`;
        const objects = await readObjects(dir);
        if (objects.length > 0) yield { hash, tag: objects[0].info.tag, objects };
      }
    }
  }
}

/** The committed objects in `tagDir`, newest (latest commit) first; unreadable ones are skipped. */
async function readObjects(tagDir: string): Promise<StoredObject[]> {
  const names = (await sortedNames(tagDir)).filter((name) => /^\d{15}-[0-9a-f]{32}$/.test(name));
  const objects: StoredObject[] = [];
  for (const name of names.reverse()) {
    const dir = `${tagDir}/${name}`;
    try {
      const header = await Deno.readFile(`${dir}/header`);
      const index = Number(await Deno.readTextFile(`${dir}/index`));
      const shareBytes = (await Deno.stat(`${dir}/share`)).size;
      objects.push({ dir, header, info: decodeHeader(header), index, shareBytes });
    } catch {
      // Not a complete object (never happens after an atomic commit); ignore it.
    }
  }
  return objects;
}

async function sortedNames(dir: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) names.push(entry.name);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return names.sort();
}

/**
 * `error` as a client should see it when it is a file of an object that an
 * `rm`, `prune` or `withdraw` removed meanwhile (objects are read without the
 * tag's lock): `not-found`. Anything else unchanged.
 */
export function vanished(error: unknown): unknown {
  return error instanceof Deno.errors.NotFound
    ? new StoreError("not-found", "no such object (it was removed meanwhile)")
    : error;
}

/** Throws `forbidden` unless `access` is a valid proof of `op` under the object's access key. */
async function checkAccess(object: StoredObject, op: AccessOp, access: AccessProof): Promise<void> {
  const accessKey = await Deno.readFile(`${object.dir}/access`).catch((error) => {
    throw vanished(error);
  });
  const { objectId, tag } = object.info;
  if (!await verifyAccess(accessKey, access.proof, op, access.nonce, objectId, tag)) {
    throw new StoreError("forbidden", "access proof does not verify: wrong password");
  }
}

/** Directory name of a committed object: commit time (ms, 15 digits) and object id. */
export function objectDirName(commitTime: number, objectId: Uint8Array): string {
  return `${String(commitTime).padStart(15, "0")}-${toHex(objectId)}`;
}
