/**
 * Reads server roots straight from disk, for `secshrnet recover`: no Redis,
 * no server process, and never a write (the disks may be salvaged and
 * mounted read-only; the root's lock is not taken either). It follows the
 * layout of docs/FORMAT.md, "Server root", on its own, without the server's
 * code:
 *
 * ```text
 * ROOT/tags/<h:2>/<h>/deleted                 the tag's deletion record, if it was removed
 * ROOT/tags/<h:2>/<h>/<commit>-<oid>/         one committed object (commit: 15 digits, ms)
 *    header, manifest, share, index           what recover reads
 *    damaged                                  JSON {"offset", "found"} once scrub found a bad block
 * ```
 *
 * with h the lowercase hex SHA-256 of the tag's UTF-8 bytes.
 *
 * @module
 */

import { SecshrnetError } from "../core/errors.ts";
import { toHex, utf8 } from "../core/bytes.ts";
import {
  decodeDeletionRecord,
  type DeletionRecord,
  MAX_DELETION_RECORD,
} from "../core/deletion.ts";
import { decodeHeader, type ObjectHeader } from "../core/header.ts";

/** Largest header file read (a header is at most 88 + 4096 bytes). */
const MAX_HEADER = 8192;
/** Largest manifest file read (servers accept at most this much). */
const MAX_MANIFEST = 16384;
/** Bytes read from a share file at a time. */
const CHUNK = 256 * 1024;
const OBJECT_NAME = /^(\d{15})-([0-9a-f]{32})$/;
const HASH_NAME = /^[0-9a-f]{64}$/;

/** A root that cannot be read at all; the message is one line. */
export class RootError extends SecshrnetError {
  constructor(message: string) {
    super("root", message);
  }
}

/** One committed object found in a root. */
export interface RootObject {
  /** The root it was found in, as given. */
  readonly root: string;
  /** Its directory. */
  readonly dir: string;
  /** Commit time (ms since the epoch), from the directory name. */
  readonly commit: number;
  /** The header bytes as stored. */
  readonly headerBytes: Uint8Array;
  /** The header decoded, or undefined when it does not parse. */
  readonly header: ObjectHeader | undefined;
  /** The share index this root holds, 1..255. */
  readonly index: number;
  /** The manifest bytes as stored. */
  readonly manifest: Uint8Array;
  /** Set when the server's scrub marked the share damaged (first bad byte, when recorded). */
  readonly damaged?: { offset?: number };
}

/** An object directory that could not be used, and why. */
export interface UnreadableObject {
  /** The root it is in. */
  readonly root: string;
  /** The object directory. */
  readonly dir: string;
  /** What is missing or malformed. */
  readonly reason: string;
}

/** What one root holds of one tag. */
export interface RootTag {
  readonly root: string;
  /** Hex SHA-256 of the tag: its directory name. */
  readonly hash: string;
  /** Its committed objects, the latest commit first. */
  readonly objects: RootObject[];
  /** Object directories that are incomplete or malformed. */
  readonly unreadable: UnreadableObject[];
  /** The tag's deletion record (its signature not checked), or why it could not be read. */
  readonly deleted?: DeletionRecord | { error: string };
}

/** Lowercase hex SHA-256 of the tag's UTF-8 bytes: the name of its directory in a root. */
export async function tagHash(tag: string): Promise<string> {
  return toHex(new Uint8Array(await crypto.subtle.digest("SHA-256", utf8(tag))));
}

/**
 * Checks that `root` is a readable directory that looks like a server root
 * (it has a `tags` directory, or a `server-id` of a server that never stored
 * anything); throws a {@linkcode RootError} otherwise.
 */
export async function checkRoot(root: string): Promise<void> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(root);
  } catch (error) {
    throw new RootError(`cannot read root ${root}: ${osReason(error)}`);
  }
  if (!info.isDirectory) throw new RootError(`root ${root} is not a directory`);
  const tags = await Deno.stat(`${root}/tags`).catch((error) => error as Error);
  if (!(tags instanceof Error)) {
    if (!tags.isDirectory) throw new RootError(`root ${root}: tags is not a directory`);
    try {
      for await (const _ of Deno.readDir(`${root}/tags`)) break;
    } catch (error) {
      throw new RootError(`cannot read root ${root}: tags: ${osReason(error)}`);
    }
    return;
  }
  if (!(tags instanceof Deno.errors.NotFound)) {
    throw new RootError(`cannot read root ${root}: tags: ${osReason(tags)}`);
  }
  const id = await Deno.stat(`${root}/server-id`).then(() => true, () => false);
  if (!id) {
    throw new RootError(`${root} is not a secshrnet server root (no tags directory or server-id)`);
  }
}

/** What `root` holds of `tag` (nothing, when it has no directory for it). */
export async function readRootTag(root: string, tag: string): Promise<RootTag> {
  return await readTagDir(root, await tagHash(tag));
}

/** Every tag directory of `root`, in hash order, with what it holds. */
export async function* rootTags(root: string): AsyncGenerator<RootTag> {
  for (const prefix of await names(`${root}/tags`)) {
    if (!/^[0-9a-f]{2}$/.test(prefix)) continue;
    for (const hash of await names(`${root}/tags/${prefix}`)) {
      if (HASH_NAME.test(hash) && hash.startsWith(prefix)) yield await readTagDir(root, hash);
    }
  }
}

/** Reads the tag directory `hash` of `root`. */
async function readTagDir(root: string, hash: string): Promise<RootTag> {
  const tagDir = `${root}/tags/${hash.slice(0, 2)}/${hash}`;
  const objects: RootObject[] = [];
  const unreadable: UnreadableObject[] = [];
  const entries = await names(tagDir);
  for (const name of entries.filter((n) => OBJECT_NAME.test(n)).reverse()) {
    const dir = `${tagDir}/${name}`;
    try {
      objects.push(await readObject(root, dir, Number(OBJECT_NAME.exec(name)![1])));
    } catch (error) {
      unreadable.push({ root, dir, reason: osReason(error) });
    }
  }
  let deleted: RootTag["deleted"];
  if (entries.includes("deleted")) {
    try {
      deleted = decodeDeletionRecord(
        await readBounded(`${tagDir}/deleted`, MAX_DELETION_RECORD),
      );
    } catch (error) {
      deleted = { error: osReason(error) };
    }
  }
  return { root, hash, objects, unreadable, deleted };
}

async function readObject(root: string, dir: string, commit: number): Promise<RootObject> {
  const headerBytes = await readBounded(`${dir}/header`, MAX_HEADER);
  const manifest = await readBounded(`${dir}/manifest`, MAX_MANIFEST);
  const indexText = new TextDecoder().decode(await readBounded(`${dir}/index`, 16)).trim();
  const index = Number(indexText);
  if (!/^\d{1,3}$/.test(indexText) || index < 1 || index > 255) {
    throw new Error(`index file holds ${JSON.stringify(indexText.slice(0, 8))}, not 1..255`);
  }
  const share = await Deno.stat(`${dir}/share`).catch((error) => {
    throw new Error(`share: ${osReason(error)}`);
  });
  if (!share.isFile) throw new Error("share is not a file");
  let header: ObjectHeader | undefined;
  try {
    header = decodeHeader(headerBytes);
  } catch {
    header = undefined;
  }
  return { root, dir, commit, headerBytes, header, index, manifest, damaged: await damage(dir) };
}

/** The `damaged` mark of an object directory, if it has one. */
async function damage(dir: string): Promise<{ offset?: number } | undefined> {
  let bytes: Uint8Array;
  try {
    bytes = await readBounded(`${dir}/damaged`, 4096);
  } catch {
    return undefined;
  }
  try {
    const offset = JSON.parse(new TextDecoder().decode(bytes)).offset;
    return Number.isSafeInteger(offset) ? { offset } : {};
  } catch {
    return {};
  }
}

/**
 * The share file of `object` as a stream, opened read-only on the first
 * read (so a share never used is never opened) and closed at its end or on
 * cancel.
 */
export function shareStream(object: RootObject): ReadableStream<Uint8Array> {
  let file: Deno.FsFile | undefined;
  let closed = false;
  const close = () => {
    if (file !== undefined && !closed) file.close();
    closed = true;
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        if (closed) return;
        file ??= await Deno.open(`${object.dir}/share`, { read: true });
        const buffer = new Uint8Array(CHUNK);
        const count = await file.read(buffer);
        if (count === null) {
          close();
          controller.close();
        } else {
          controller.enqueue(buffer.subarray(0, count));
        }
      } catch (error) {
        close();
        controller.error(new Error(`${object.dir}/share: ${osReason(error)}`));
      }
    },
    cancel() {
      close();
    },
  }, { highWaterMark: 0 });
}

/** Reads `path` whole; refuses a file larger than `max` bytes. */
async function readBounded(path: string, max: number): Promise<Uint8Array> {
  const name = path.slice(path.lastIndexOf("/") + 1);
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (error) {
    throw new Error(`${name}: ${osReason(error)}`);
  }
  try {
    const size = (await file.stat()).size;
    if (size > max) throw new Error(`${name} is ${size} bytes, more than ${max}`);
    const bytes = new Uint8Array(size);
    let filled = 0;
    while (filled < size) {
      const count = await file.read(bytes.subarray(filled));
      if (count === null) break;
      filled += count;
    }
    return bytes.subarray(0, filled);
  } finally {
    file.close();
  }
}

/** Names in `dir`, sorted; none when it does not exist. */
async function names(dir: string): Promise<string[]> {
  const list: string[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) list.push(entry.name);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) {
      throw new RootError(`cannot read ${dir}: ${osReason(error)}`);
    }
  }
  return list.sort();
}

/** The one-line reason of an I/O error ("No such file or directory (os error 2)"). */
export function osReason(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  const match = /^(.*?\(os error \d+\))/s.exec(text);
  return (match ? match[1] : text).split(/\r?\n/)[0];
}
