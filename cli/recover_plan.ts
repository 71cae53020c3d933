/**
 * What `secshrnet recover` makes of the roots it reads: the objects of a tag
 * across every root given, one holder per share index, newest first (highest
 * tag version, then latest commit), and how to describe who holds what in a
 * one-line error.
 *
 * @module
 */

import { toHex } from "../core/bytes.ts";
import type { DeletionRecord } from "../core/deletion.ts";
import type { ObjectHeader } from "../core/header.ts";
import type { Rejection } from "../core/errors.ts";
import { type RootObject, type RootTag, tagHash } from "./root_reader.ts";

/** One object as the roots given hold it: every copy of one header. */
export interface FoundObject {
  readonly headerBytes: Uint8Array;
  readonly header: ObjectHeader;
  /** One copy per share index, in index order: the first root given wins. */
  readonly holders: RootObject[];
  /** Further copies of an index already held; not used. */
  readonly duplicates: { copy: RootObject; first: RootObject }[];
  /** The latest commit time of any copy (the tie-break between equal versions). */
  readonly commit: number;
}

/** An object directory that is not used, and why. */
export interface Unusable {
  /** The root it is in. */
  readonly root: string;
  /** The object directory. */
  readonly dir: string;
  /** The index it holds, when that was read. */
  readonly index?: number;
  /** Why it is not used. */
  readonly reason: string;
}

/** A deletion record found in a root. */
export interface FoundDeletion {
  readonly root: string;
  /** The record (signature not checked), when it parses. */
  readonly record?: DeletionRecord;
  /** Why it does not parse. */
  readonly error?: string;
}

/** Everything the roots hold of one tag. */
export interface FoundTag {
  /** Hex SHA-256 of the tag. */
  readonly hash: string;
  /** The objects, newest first. */
  readonly objects: FoundObject[];
  /** Object directories not used (unreadable, malformed, of another tag). */
  readonly unusable: Unusable[];
  /** Roots that hold a deletion record of the tag. */
  readonly deletions: FoundDeletion[];
}

/**
 * Gathers what `rootTags` (one per root, all of the tag whose hash is
 * `hash`, in the order the roots were given) hold. A header that does not
 * parse, or names a tag whose hash is not `hash`, makes its copy unusable.
 */
export async function gather(hash: string, rootTags: readonly RootTag[]): Promise<FoundTag> {
  const unusable: Unusable[] = [];
  const deletions: FoundDeletion[] = [];
  const groups = new Map<string, { -readonly [K in keyof FoundObject]: FoundObject[K] }>();
  const hashes = new Map<string, string>();
  for (const held of rootTags) {
    unusable.push(...held.unreadable.map((u) => ({ ...u, reason: `unreadable: ${u.reason}` })));
    if (held.deleted !== undefined) {
      deletions.push(
        "error" in held.deleted
          ? { root: held.root, error: held.deleted.error }
          : { root: held.root, record: held.deleted },
      );
    }
    for (const object of held.objects) {
      const { root, dir, index, header } = object;
      if (header === undefined) {
        unusable.push({ root, dir, index, reason: "header does not parse" });
        continue;
      }
      if (!hashes.has(header.tag)) hashes.set(header.tag, await tagHash(header.tag));
      if (hashes.get(header.tag) !== hash) {
        unusable.push({ root, dir, index, reason: "header names another tag" });
        continue;
      }
      if (index > header.n) {
        unusable.push({ root, dir, index, reason: `index ${index} above n=${header.n}` });
        continue;
      }
      const key = toHex(object.headerBytes);
      let group = groups.get(key);
      if (group === undefined) {
        group = { headerBytes: object.headerBytes, header, holders: [], duplicates: [], commit: 0 };
        groups.set(key, group);
      }
      const first = group.holders.find((h) => h.index === index);
      if (first !== undefined) group.duplicates.push({ copy: object, first });
      else group.holders.push(object);
      group.commit = Math.max(group.commit, object.commit);
    }
  }
  const objects = [...groups.values()]
    .map((g) => ({ ...g, holders: g.holders.sort((a, b) => a.index - b.index) }) as FoundObject)
    .sort((a, b) => b.header.version - a.header.version || b.commit - a.commit);
  return { hash, objects, unusable, deletions };
}

/** Whether the roots hold at least k distinct share indices of `object`. */
export function complete(object: FoundObject): boolean {
  return object.holders.length >= object.header.k;
}

/**
 * The object `recover` opens: the newest with k distinct indices, else the
 * newest (which is then not recoverable); undefined when there is none.
 */
export function chosen(found: FoundTag): FoundObject | undefined {
  return found.objects.find(complete) ?? found.objects[0];
}

/** "version 2, created 2026-11-26 21:40" for messages. */
export function describeObject(header: ObjectHeader): string {
  return `version ${header.version}, created ${
    new Date(header.created).toISOString().slice(0, 16).replace("T", " ")
  } UTC`;
}

/**
 * Who holds what of `object`, for a one-line error: each index used with
 * its root (and why it was rejected, from `rejections`), the copies skipped,
 * and what each other root holds instead.
 */
export function whoHolds(
  object: FoundObject,
  found: FoundTag,
  roots: readonly string[],
  rejections: readonly Rejection[] = [],
): string {
  const parts: string[] = [];
  for (const holder of object.holders) {
    const reasons = rejections.filter((r) => r.index === holder.index).map((r) => r.detail);
    parts.push(
      `${holder.root} holds #${holder.index}${reasons.length ? `: ${reasons.join(", ")}` : ""}`,
    );
  }
  for (const { copy, first } of object.duplicates) {
    parts.push(`${copy.root} holds #${copy.index} too (not used: ${first.root} has it)`);
  }
  const holding = new Set([...object.holders, ...object.duplicates.map((d) => d.copy)]
    .map((o) => o.root));
  for (const root of roots.filter((r) => !holding.has(r))) {
    const others = found.objects.filter((o) =>
      o !== object && o.holders.some((h) => h.root === root)
    );
    const bad = found.unusable.filter((u) => u.root === root);
    if (others.length > 0) {
      const versions = others.map((o) => o.header.version).join(", ");
      parts.push(`${root} holds only another object of the tag (version ${versions})`);
    } else if (bad.length > 0) {
      parts.push(`${root}: ${bad.map((u) => `${lastPart(u.dir)} ${u.reason}`).join(", ")}`);
    } else parts.push(`${root} holds no share of the tag`);
  }
  return parts.join("; ");
}

function lastPart(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}
