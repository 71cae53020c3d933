/**
 * Reading one tag's directory (server/paths.ts): its committed objects and
 * its deletion record. An object whose tag version the record covers (not
 * above the record's) is gone from the moment the record is durable, even if
 * a crash left its directory behind (the next start deletes it), so storing
 * the record is the one step that deletes.
 *
 * @module
 */

import { equalBytes } from "../core/bytes.ts";
import { decodeDeletionRecord, type DeletionRecord } from "../core/deletion.ts";
import { decodeHeader, type ObjectHeader } from "../core/header.ts";

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
  /** Bytes of its share stream (0 when the file is missing). */
  readonly shareBytes: number;
  /** Its 32-byte public access key (core/access.ts). */
  readonly access: Uint8Array;
  /** Whether the scrub marked its share damaged (a `damaged` file exists). */
  readonly damaged: boolean;
}

/** What a tag directory holds. */
export interface TagState {
  /** Its objects not covered by the deletion record, newest first. */
  readonly objects: StoredObject[];
  /** Its deletion record, if it has one. */
  readonly deleted?: DeletionRecord;
  /** Object directories the record covers, still on disk after a crash. */
  readonly covered: StoredObject[];
}

/** The name of an object directory: commit time (15 digits) and object id. */
const OBJECT_NAME = /^\d{15}-[0-9a-f]{32}$/;

/** Newest first: the highest tag version, then the later commit. */
export function newestFirst(a: StoredObject, b: StoredObject): number {
  return b.info.version - a.info.version || (a.dir < b.dir ? 1 : a.dir > b.dir ? -1 : 0);
}

/** Reads the tag directory `tagDir` (absent: nothing). */
export async function readTag(tagDir: string): Promise<TagState> {
  const deleted = await readDeletion(tagDir);
  const names = (await sortedNames(tagDir)).filter((name) => OBJECT_NAME.test(name));
  const all: StoredObject[] = [];
  for (const name of names) {
    const object = await readObject(`${tagDir}/${name}`);
    if (object !== undefined) all.push(object);
  }
  all.sort(newestFirst);
  const limit = deleted?.header.version ?? -1;
  return {
    objects: all.filter((o) => o.info.version > limit),
    deleted,
    covered: all.filter((o) => o.info.version <= limit),
  };
}

/** The deletion record stored in `tagDir`, if any (an unreadable one counts as none). */
export async function readDeletion(tagDir: string): Promise<DeletionRecord | undefined> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(`${tagDir}/deleted`);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
  try {
    return decodeDeletionRecord(bytes);
  } catch {
    // Written only after it was decoded and verified: a torn or rotten one deletes nothing.
    return undefined;
  }
}

/** The object in `dir`, or undefined when it is not complete (never after an atomic commit). */
async function readObject(dir: string): Promise<StoredObject | undefined> {
  try {
    const header = await Deno.readFile(`${dir}/header`);
    const index = Number(await Deno.readTextFile(`${dir}/index`));
    // A share lost after the commit (never by the store) still shows the object: damaged, at 0.
    const shareBytes = await Deno.stat(`${dir}/share`).then((info) => info.size, () => 0);
    const access = await Deno.readFile(`${dir}/access`);
    const damaged = await Deno.stat(`${dir}/damaged`).then(() => true, () => false);
    return { dir, header, info: decodeHeader(header), index, shareBytes, access, damaged };
  } catch {
    return undefined;
  }
}

/** Whether two objects are the same object (byte-identical headers). */
export function sameObject(a: StoredObject, b: StoredObject): boolean {
  return equalBytes(a.header, b.header);
}

/** The entries of `dir`, sorted; none when it does not exist. */
export async function sortedNames(dir: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) names.push(entry.name);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return names.sort();
}
