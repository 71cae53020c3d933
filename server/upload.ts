/**
 * One share upload in progress: appended to `uploads/<id>/share` (and hashed
 * block by block for its `checksums`, server/checksums.ts), then on commit
 * checked against its header, fsynced with its metadata and renamed into the
 * tag's directory in one step. Until that rename nothing of it is visible; a
 * crash leaves only a directory under `uploads/`, removed at start.
 *
 * A commit whose header bytes equal those of the tag's newest object is a
 * repair of that object: its directory replaces the newest one's (the
 * version check is skipped in that case only). A commit at a tag version the
 * tag's deletion record covers is refused (`conflict`).
 *
 * @module
 */

import { decodeHeader, shareStreamLength } from "../core/header.ts";
import { equalBytes } from "../core/bytes.ts";
import { BlockHasher } from "./checksums.ts";
import { makePrivateDir, syncDir, writeDurable } from "./paths.ts";
import { objectDirName, type Store, StoreError } from "./store.ts";

/** What an upload is for. */
export interface UploadParams {
  /** Upload id (16 hex digits). */
  id: string;
  /** Its staging directory. */
  dir: string;
  /** The tag. */
  tag: string;
  /** The object id the header must carry. */
  objectId: Uint8Array;
  /** This server's share index. */
  index: number;
  /** The new object's public access key (core/access.ts). */
  accessKey: Uint8Array;
  /** Directory of the object this one replaces (checked again at commit), if any. */
  replaces?: string;
}

let lastCommitTime = 0;

/** A share being received. */
export class Upload {
  /** The parameters it was started with. */
  readonly params: UploadParams;
  /** Bytes received so far. */
  bytes = 0;
  /** When data last arrived (ms since epoch). */
  lastActivity = Date.now();
  readonly #store: Store;
  readonly #file: Deno.FsFile;
  readonly #hasher = new BlockHasher();
  #finished = false;

  private constructor(store: Store, params: UploadParams, file: Deno.FsFile) {
    this.#store = store;
    this.params = params;
    this.#file = file;
  }

  /** Creates the staging directory and share file. */
  static async create(store: Store, params: UploadParams): Promise<Upload> {
    await makePrivateDir(params.dir);
    const file = await Deno.open(`${params.dir}/share`, {
      write: true,
      createNew: true,
      mode: 0o600,
    });
    return new Upload(store, params, file);
  }

  /** Appends `chunk`; throws `full` past the object or total size limit. */
  async write(chunk: Uint8Array): Promise<void> {
    const max = this.#store.limits.maxObjectBytes;
    if (max !== undefined && this.bytes + chunk.length > max) {
      throw new StoreError("full", `object exceeds this server's limit of ${max} bytes`);
    }
    this.#store.reserve(chunk.length);
    this.bytes += chunk.length;
    this.lastActivity = Date.now();
    let offset = 0;
    try {
      while (offset < chunk.length) offset += await this.#file.write(chunk.subarray(offset));
    } catch (error) {
      throw diskError(error);
    }
    await this.#hasher.update(chunk);
  }

  /** Validates, makes durable and publishes the upload under its tag. */
  async commit(headerBytes: Uint8Array, manifest: Uint8Array): Promise<void> {
    const { params } = this;
    let header;
    try {
      header = decodeHeader(headerBytes);
    } catch (error) {
      throw new StoreError("bad-request", `invalid header: ${(error as Error).message}`);
    }
    if (header.tag !== params.tag || !equalBytes(header.objectId, params.objectId)) {
      throw new StoreError("bad-request", "header does not belong to this upload");
    }
    if (params.index > header.n) throw new StoreError("bad-request", "index above n");
    if (this.bytes !== shareStreamLength(header)) {
      throw new StoreError(
        "bad-request",
        `share has ${this.bytes} bytes, the header implies ${shareStreamLength(header)}`,
      );
    }
    if (manifest.length !== 102 + 32 * header.n) {
      throw new StoreError("bad-request", "manifest length does not match n");
    }
    try {
      await this.#file.sync();
    } catch (error) {
      throw diskError(error);
    }
    this.#file.close();
    this.#finished = true;
    try {
      // From here on the reservation is returned below, whatever fails (abort no longer does).
      await writeDurable(`${params.dir}/header`, headerBytes);
      await writeDurable(`${params.dir}/manifest`, manifest);
      await writeDurable(`${params.dir}/access`, params.accessKey);
      await writeDurable(`${params.dir}/index`, new TextEncoder().encode(String(params.index)));
      await writeDurable(`${params.dir}/checksums`, await this.#hasher.digest());
      await syncDir(params.dir);
      await this.#store.withTag(params.tag, async (tagDir) => {
        const newest = (await this.#store.objects(params.tag))[0];
        if (newest?.dir !== params.replaces) {
          throw new StoreError("conflict", "the tag changed while uploading; try again");
        }
        const removed = await this.#store.deletion(params.tag);
        if (removed !== undefined && header.version <= removed.header.version) {
          throw new StoreError(
            "conflict",
            `tag was removed at version ${removed.header.version}; a new object needs a higher one`,
          );
        }
        // The same object again (a repair): it takes the newest one's place.
        const repaired = newest !== undefined && equalBytes(newest.header, headerBytes)
          ? newest
          : undefined;
        if (
          repaired === undefined && newest !== undefined && header.version <= newest.info.version
        ) {
          throw new StoreError(
            "conflict",
            `tag version ${header.version} is not above the ${newest.info.version} held here`,
          );
        }
        await makePrivateDir(tagDir);
        // Both may have just been created: tags/<h:2>/<h>, and tags/<h:2> itself.
        await syncDir(`${tagDir}/..`);
        await syncDir(`${tagDir}/../..`);
        lastCommitTime = Math.max(Date.now(), lastCommitTime + 1);
        await Deno.rename(
          params.dir,
          `${tagDir}/${objectDirName(lastCommitTime, header.objectId)}`,
        );
        await syncDir(tagDir);
        await this.#store.committed(tagDir, this.bytes, repaired);
      });
    } catch (error) {
      await Deno.remove(params.dir, { recursive: true }).catch(() => {});
      throw diskError(error);
    } finally {
      this.#store.release(this.bytes);
    }
  }

  /** Drops the upload and its staging directory. Safe to call twice. */
  async abort(): Promise<void> {
    if (!this.#finished) {
      this.#finished = true;
      this.#file.close();
      this.#store.release(this.bytes);
    }
    await Deno.remove(this.params.dir, { recursive: true }).catch(() => {});
  }
}

/** A file system error as the client should see it: a full disk (or quota) is `full`. */
function diskError(error: unknown): unknown {
  const code = (error as { code?: unknown } | undefined)?.code;
  return code === "ENOSPC" || code === "EDQUOT"
    ? new StoreError("full", `no space left on this server's disk (${(error as Error).message})`)
    : error;
}
