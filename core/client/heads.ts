/**
 * What the servers hold for a tag: the `head` of every server, grouped into
 * objects (identical header bytes) with the servers and indices holding them.
 * Objects that a believed deletion record removes (`deletions.ts`) are left
 * out, and the record is passed on to their holders.
 *
 * @module
 */

import { toHex } from "../bytes.ts";
import { decodeHeader, type ObjectHeader } from "../header.ts";
import type { Address } from "../net/envelope.ts";
import { arrayField, bytesField, mapValue, uintField } from "../net/fields.ts";
import { MAX_DELETION_RECORD } from "../deletion.ts";
import type { Client } from "./session.ts";
import {
  type Deletions,
  isDeleted,
  judgeDeletions,
  passOnDeletions,
  type ReportedRecord,
} from "./deletions.ts";

/** A server holding a share of an object. */
export interface Holder {
  readonly server: Address;
  /** Its share index. */
  readonly index: number;
  /** The object's public access key as this server stored it. */
  readonly access?: Uint8Array;
  /** The server's scrub found this share damaged. */
  readonly damaged?: boolean;
}

/** One object as seen across servers. */
export interface ObjectView {
  /** Header bytes (identical on every holder). */
  readonly headerBytes: Uint8Array;
  /** The decoded header. */
  readonly header: ObjectHeader;
  /** The servers holding a share of it, with their index. */
  readonly holders: Holder[];
  /** Servers whose newest object for the tag is this one. */
  readonly newestOn: Address[];
}

/** The heads of `tag` on `servers`. */
export interface TagView {
  /** Objects seen, newest first: highest tag version, then latest creation time. */
  readonly objects: ObjectView[];
  /** Servers that answered, and what they hold (possibly nothing). */
  readonly answered: Address[];
  /** Servers that did not answer, with the reason. */
  readonly failed: { server: Address; error: string }[];
  /** Servers that answered with a header that does not parse or is of another tag. */
  readonly invalid: { server: Address; error: string }[];
  /** Deletion records reported, and which of them are believed. */
  readonly deletions?: Deletions;
  /** Objects that believed deletion records removed (not in `objects`). */
  readonly deleted?: ObjectView[];
}

/** Reads one `head` or `list` entry's holder fields. */
export function holderFields(entry: Record<string, unknown>): {
  access?: Uint8Array;
  damaged?: boolean;
} {
  return {
    access: entry.access === undefined ? undefined : bytesField(entry, "access", 32).slice(),
    damaged: entry.damaged === true ? true : undefined,
  };
}

/** Asks every server in `servers` what it holds of `tag`. */
export async function viewTag(client: Client, servers: Address[], tag: string): Promise<TagView> {
  const objects = new Map<string, ObjectView>();
  const answered: Address[] = [];
  const failed: { server: Address; error: string }[] = [];
  const invalid: { server: Address; error: string }[] = [];
  const records: ReportedRecord[] = [];
  await Promise.all(servers.map(async (server) => {
    try {
      const reply = await client.request(server, "head", { tag });
      const entries = arrayField(reply, "objects", 16, (value) => {
        const entry = mapValue(value, "object");
        return {
          headerBytes: bytesField(entry, "header", undefined, 8192).slice(),
          index: uintField(entry, "index", 255),
          ...holderFields(entry),
        };
      });
      if (reply.deleted !== undefined && reply.deleted !== null) {
        records.push({
          server,
          bytes: bytesField(reply, "deleted", undefined, MAX_DELETION_RECORD).slice(),
        });
      }
      answered.push(server);
      entries.forEach(({ headerBytes, index, access, damaged }, position) => {
        const key = toHex(headerBytes);
        let view = objects.get(key);
        if (view === undefined) {
          let header: ObjectHeader;
          try {
            header = decodeHeader(headerBytes);
          } catch {
            invalid.push({ server, error: "answered head with a header that does not parse" });
            return;
          }
          if (header.tag !== tag) {
            invalid.push({ server, error: "answered head with an object of another tag" });
            return;
          }
          view = { headerBytes, header, holders: [], newestOn: [] };
          objects.set(key, view);
        }
        // A server counts once per object, however often it lists it.
        if (view.holders.some((h) => h.server === server)) return;
        view.holders.push({ server, index, access, damaged });
        if (position === 0) view.newestOn.push(server);
      });
    } catch (error) {
      failed.push({ server, error: (error as Error).message });
    }
  }));
  const sorted = [...objects.values()].sort(newestFirst);
  const deletions = await judgeDeletions(tag, records, sorted);
  const deleted = sorted.filter((o) => isDeleted(deletions, o.header.version));
  if (deleted.length > 0) await passOnDeletions(client, tag, deletions, deleted);
  return {
    objects: sorted.filter((o) => !deleted.includes(o)),
    answered,
    failed,
    invalid,
    deletions,
    deleted,
  };
}

/**
 * Orders objects of one tag newest first: by tag version, which a new object
 * takes as the highest seen plus one, then (between equal versions, e.g.
 * objects of format 1) by creation time.
 */
export function newestFirst(a: { header: ObjectHeader }, b: { header: ObjectHeader }): number {
  return b.header.version - a.header.version || b.header.created - a.header.created;
}
