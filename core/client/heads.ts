/**
 * What the servers hold for a tag: the `head` of every server, grouped into
 * objects (identical header bytes) with the servers and indices holding them.
 *
 * @module
 */

import { toHex } from "../bytes.ts";
import { decodeHeader, type ObjectHeader } from "../header.ts";
import type { Address } from "../net/envelope.ts";
import { arrayField, bytesField, mapValue, uintField } from "../net/fields.ts";
import type { Client } from "./session.ts";

/** One object as seen across servers. */
export interface ObjectView {
  /** Header bytes (identical on every holder). */
  readonly headerBytes: Uint8Array;
  /** The decoded header. */
  readonly header: ObjectHeader;
  /** The servers holding a share of it, with their index. */
  readonly holders: { server: Address; index: number }[];
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
}

/** Asks every server in `servers` what it holds of `tag`. */
export async function viewTag(client: Client, servers: Address[], tag: string): Promise<TagView> {
  const objects = new Map<string, ObjectView>();
  const answered: Address[] = [];
  const failed: { server: Address; error: string }[] = [];
  const invalid: { server: Address; error: string }[] = [];
  await Promise.all(servers.map(async (server) => {
    try {
      const reply = await client.request(server, "head", { tag });
      const entries = arrayField(reply, "objects", 16, (value) => {
        const entry = mapValue(value, "object");
        return {
          headerBytes: bytesField(entry, "header", undefined, 8192).slice(),
          index: uintField(entry, "index", 255),
        };
      });
      answered.push(server);
      entries.forEach(({ headerBytes, index }, position) => {
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
        view.holders.push({ server, index });
        if (position === 0) view.newestOn.push(server);
      });
    } catch (error) {
      failed.push({ server, error: (error as Error).message });
    }
  }));
  const sorted = [...objects.values()].sort(newestFirst);
  return { objects: sorted, answered, failed, invalid };
}

/**
 * Orders objects of one tag newest first: by tag version, which a new object
 * takes as the highest seen plus one, then (between equal versions, e.g.
 * objects of format 1) by creation time.
 */
export function newestFirst(a: { header: ObjectHeader }, b: { header: ObjectHeader }): number {
  return b.header.version - a.header.version || b.header.created - a.header.created;
}
