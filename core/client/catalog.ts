/**
 * `ls` and `servers`: what the network holds and who is online. Neither needs
 * a password: headers are public.
 *
 * @module
 */

import { toHex } from "../bytes.ts";
import { decodeHeader, type ObjectHeader } from "../header.ts";
import type { Address } from "../net/envelope.ts";
import { arrayField, bytesField, mapValue, stringField, uintField } from "../net/fields.ts";
import type { Client } from "./session.ts";

/** One tag in a listing: its newest object and how many servers hold it. */
export interface TagEntry {
  tag: string;
  size: number;
  created: number;
  k: number;
  n: number;
  /** Servers holding a share of this object. */
  servers: Address[];
  /** Whether at least k servers hold it. */
  recoverable: boolean;
}

/** A listing of every tag on every online server. */
export interface Listing {
  tags: TagEntry[];
  /** Servers that did not answer. */
  failed: { server: Address; error: string }[];
}

/** Lists every tag on the online servers, sorted by tag. */
export async function listTags(client: Client): Promise<Listing> {
  const online = await client.servers();
  const objects = new Map<string, { header: ObjectHeader; servers: Address[] }>();
  const failed: Listing["failed"] = [];
  await Promise.all(online.map(async (server) => {
    try {
      let after: string | undefined;
      do {
        const reply = await client.request(server, "list", after ? { after } : {});
        const entries = arrayField(reply, "entries", 10_000, (value) => {
          return bytesField(mapValue(value, "entry"), "header", undefined, 8192).slice();
        });
        for (const headerBytes of entries) {
          let header: ObjectHeader;
          try {
            header = decodeHeader(headerBytes);
          } catch {
            continue;
          }
          const key = toHex(headerBytes);
          const entry = objects.get(key) ?? { header, servers: [] };
          entry.servers.push(server);
          objects.set(key, entry);
        }
        after = reply.next === undefined || reply.next === null
          ? undefined
          : stringField(reply, "next", 64);
      } while (after !== undefined);
    } catch (error) {
      failed.push({ server, error: (error as Error).message });
    }
  }));
  const newest = new Map<string, TagEntry>();
  for (const { header, servers } of objects.values()) {
    const current = newest.get(header.tag);
    const recoverable = servers.length >= header.k;
    // Prefer a recoverable object, then the newer one.
    if (
      current === undefined || (recoverable && !current.recoverable) ||
      (recoverable === current.recoverable && header.created > current.created)
    ) {
      newest.set(header.tag, {
        tag: header.tag,
        size: header.size,
        created: header.created,
        k: header.k,
        n: header.n,
        servers: servers.sort(),
        recoverable,
      });
    }
  }
  const tags = [...newest.values()].sort((a, b) => a.tag < b.tag ? -1 : a.tag > b.tag ? 1 : 0);
  return { tags, failed };
}

/** What a server says about itself. */
export interface ServerInfo {
  address: Address;
  id: string;
  hostname: string;
  os: string;
  version: string;
  objects: number;
  bytes: number;
  freeBytes?: number;
  /** Round trip of the `info` request, in milliseconds. */
  latencyMs: number;
}

/** Asks every online server for its `info`. */
export async function serverInfo(
  client: Client,
): Promise<{ servers: ServerInfo[]; failed: Listing["failed"] }> {
  const online = await client.servers();
  const servers: ServerInfo[] = [];
  const failed: Listing["failed"] = [];
  await Promise.all(online.map(async (address) => {
    const started = performance.now();
    try {
      const reply = await client.request(address, "info", {});
      servers.push({
        address,
        id: stringField(reply, "id", 64),
        hostname: stringField(reply, "hostname", 255),
        os: stringField(reply, "os", 64),
        version: stringField(reply, "version", 64),
        objects: uintField(reply, "objects"),
        bytes: uintField(reply, "bytes"),
        freeBytes: reply.freeBytes === undefined || reply.freeBytes === null
          ? undefined
          : uintField(reply, "freeBytes"),
        latencyMs: Math.round(performance.now() - started),
      });
    } catch (error) {
      failed.push({ server: address, error: (error as Error).message });
    }
  }));
  servers.sort((a, b) => a.address < b.address ? -1 : 1);
  return { servers, failed };
}
