/**
 * `secshrnet recover --list --root DIR...`: the tags that server roots hold,
 * read straight from disk, and whether the roots together can rebuild each.
 *
 * @module
 */

import { EXIT } from "../exit.ts";
import { formatSize, formatTime, printJson, table } from "../format.ts";
import { checkRoot, type RootTag, rootTags, tagHash } from "../root_reader.ts";
import { chosen, complete, gather } from "../recover_plan.ts";

/** One tag of `recover --list --json`. */
export interface RecoverListEntry {
  tag: string;
  size: number;
  /** Creation time, ms since the epoch. */
  created: number;
  k: number;
  n: number;
  /** The object's tag version. */
  version: number;
  /** Distinct share indices of the object that the roots hold. */
  shares: number;
  /** Those indices. */
  indices: number[];
  /** The roots holding one of them. */
  roots: string[];
  /** Whether `shares` reaches k (the password is not checked). */
  recoverable: boolean;
  /** Roots holding a deletion record of the tag ('rm' removed it there). */
  removedOn: string[];
  /** The highest tag version a deletion record names: it removed that object and older ones. */
  removedVersion?: number;
}

/**
 * Lists the tags of `roots`: for each, the newest object the roots hold k
 * shares of (else the newest), as {@linkcode RecoverListEntry}. A tag with
 * only a deletion record is listed from the record's header, with no share.
 */
export async function listRoots(roots: readonly string[], json: boolean): Promise<number> {
  for (const root of roots) await checkRoot(root);
  const byHash = new Map<string, RootTag[]>();
  for (const root of roots) {
    for await (const held of rootTags(root)) {
      byHash.set(held.hash, [...byHash.get(held.hash) ?? [], held]);
    }
  }
  const entries: RecoverListEntry[] = [];
  const problems: string[] = [];
  for (const [hash, held] of byHash) {
    const found = await gather(hash, held);
    problems.push(...found.unusable.map((u) => `${u.dir}: ${u.reason}`));
    const removedOn = found.deletions.map((d) => d.root);
    const versions = found.deletions.flatMap((d) => d.record ? [d.record.header.version] : []);
    const removedVersion = versions.length > 0 ? Math.max(...versions) : undefined;
    const object = chosen(found);
    if (object === undefined) {
      const record = found.deletions.find((d) => d.record !== undefined)?.record;
      if (record === undefined || await tagHash(record.header.tag) !== hash) continue;
      const { tag, size, created, k, n, version } = record.header;
      entries.push({
        tag,
        size,
        created,
        k,
        n,
        version,
        shares: 0,
        indices: [],
        roots: [],
        recoverable: false,
        removedOn,
        removedVersion,
      });
      continue;
    }
    const { tag, size, created, k, n, version } = object.header;
    const holders = [...object.holders, ...object.duplicates.map((d) => d.copy)];
    entries.push({
      tag,
      size,
      created,
      k,
      n,
      version,
      shares: object.holders.length,
      indices: object.holders.map((h) => h.index),
      roots: roots.filter((root) => holders.some((h) => h.root === root)),
      recoverable: complete(object),
      removedOn,
      removedVersion,
    });
  }
  entries.sort((a, b) => a.tag < b.tag ? -1 : a.tag > b.tag ? 1 : 0);
  for (const problem of problems) console.error(`secshrnet: warning: not used: ${problem}`);
  if (json) printJson(entries);
  else if (entries.length === 0) console.error("no tags found in the roots given");
  else {
    console.log(table(
      ["TAG", "SIZE", "CREATED (UTC)", "K/N", "SHARES", "RECOVERABLE"],
      entries.map((e) => [
        e.tag,
        formatSize(e.size),
        formatTime(e.created),
        `${e.k}/${e.n}`,
        String(e.shares),
        e.recoverable ? "yes" : "no",
      ]),
    ));
    for (const e of entries.filter((e) => e.removedOn.length > 0)) {
      console.error(
        `secshrnet: note: ${e.removedOn.join(", ")} say${e.removedOn.length === 1 ? "s" : ""} ` +
          `${JSON.stringify(e.tag)} was removed` +
          (e.removedVersion === undefined ? "" : ` (version ${e.removedVersion} and older)`),
      );
    }
  }
  return EXIT.ok;
}
