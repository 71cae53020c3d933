/**
 * `ls` and `servers`: what the trusted servers hold and who is online.
 * Neither needs a password: headers are public. A listing reads only trusted
 * servers and keeps within fixed bounds per server (pages, entries, bytes,
 * and a cursor that must advance), so `ls` ends with bounded memory whatever
 * a server sends.
 *
 * @module
 */

import { toHex } from "../bytes.ts";
import { decodeHeader, type ObjectHeader } from "../header.ts";
import type { Address } from "../net/envelope.ts";
import { arrayField, bytesField, mapValue, stringField, uintField } from "../net/fields.ts";
import type { Client } from "./session.ts";
import { newestFirst } from "./heads.ts";

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

/** Most `list` pages read from one server. */
export const MAX_LIST_PAGES = 1000;
/** Most entries in one `list` page (servers send 200). */
export const MAX_LIST_PAGE_ENTRIES = 1000;
/** Most entries read from one server (tags it holds). */
export const MAX_LIST_ENTRIES = 100_000;
/** Most header bytes read from one server. */
export const MAX_LIST_BYTES = 32 * 2 ** 20;

/** A listing of every tag on every trusted server online. */
export interface Listing {
  tags: TagEntry[];
  /** Servers that did not answer. */
  failed: { server: Address; error: string }[];
}

/** Lists every tag on the trusted servers online, sorted by tag. */
export async function listTags(client: Client): Promise<Listing> {
  const online = await client.trustedServers();
  const objects = new Map<string, { header: ObjectHeader; servers: Address[] }>();
  const failed: Listing["failed"] = [];
  await Promise.all(online.map(async (server) => {
    try {
      for await (const headerBytes of listServer(client, server)) {
        let header: ObjectHeader;
        try {
          header = decodeHeader(headerBytes);
        } catch {
          continue;
        }
        const key = toHex(headerBytes);
        const entry = objects.get(key) ?? { header, servers: [] };
        if (!entry.servers.includes(server)) entry.servers.push(server);
        objects.set(key, entry);
      }
    } catch (error) {
      failed.push({ server, error: (error as Error).message });
    }
  }));
  const newest = new Map<string, { header: ObjectHeader; entry: TagEntry }>();
  for (const { header, servers } of objects.values()) {
    const current = newest.get(header.tag);
    const recoverable = servers.length >= header.k;
    // Prefer a recoverable object, then the newer one (tag version, then creation).
    if (
      current === undefined || (recoverable && !current.entry.recoverable) ||
      (recoverable === current.entry.recoverable && newestFirst({ header }, current) < 0)
    ) {
      newest.set(header.tag, {
        header,
        entry: {
          tag: header.tag,
          size: header.size,
          created: header.created,
          k: header.k,
          n: header.n,
          servers: servers.sort(),
          recoverable,
        },
      });
    }
  }
  const tags = [...newest.values()].map((n) => n.entry)
    .sort((a, b) => a.tag < b.tag ? -1 : a.tag > b.tag ? 1 : 0);
  return { tags, failed };
}

/**
 * The header of every entry `server` lists, page by page. Throws when the
 * server breaks a bound: a cursor that does not advance, or more pages,
 * entries or bytes than {@linkcode MAX_LIST_PAGES}, {@linkcode MAX_LIST_ENTRIES}
 * and {@linkcode MAX_LIST_BYTES} allow.
 */
async function* listServer(client: Client, server: Address): AsyncGenerator<Uint8Array> {
  let after: string | undefined;
  let entries = 0;
  let bytes = 0;
  for (let page = 1;; page++) {
    const reply = await client.request(server, "list", after === undefined ? {} : { after });
    const headers = arrayField(reply, "entries", MAX_LIST_PAGE_ENTRIES, (value) => {
      return bytesField(mapValue(value, "entry"), "header", undefined, 8192).slice();
    });
    entries += headers.length;
    bytes += headers.reduce((sum, header) => sum + header.length, 0);
    if (entries > MAX_LIST_ENTRIES || bytes > MAX_LIST_BYTES) {
      throw new Error(
        `listed more than ${MAX_LIST_ENTRIES} tags or ${MAX_LIST_BYTES / 2 ** 20} MiB of ` +
          `headers; the rest of its list was not read`,
      );
    }
    yield* headers;
    if (reply.next === undefined || reply.next === null) return;
    const next = stringField(reply, "next", 64);
    if (after !== undefined && next <= after) {
      throw new Error(
        "sent a list cursor that does not advance; the rest of its list was not read",
      );
    }
    if (page === MAX_LIST_PAGES) {
      throw new Error(`listed more than ${MAX_LIST_PAGES} pages; the rest was not read`);
    }
    after = next;
  }
}

/** What a server says about itself. */
export interface ServerInfo {
  address: Address;
  /** Whether this client trusts it (only trusted servers are used). */
  trusted: boolean;
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

/**
 * Asks every online server, trusted or not, for its `info`; also returns the
 * trusted servers that are offline.
 */
export async function serverInfo(
  client: Client,
): Promise<{ servers: ServerInfo[]; failed: Listing["failed"]; offline: string[] }> {
  const { trusted, untrusted, offline } = await client.membership();
  const online = [...trusted, ...untrusted];
  if (online.length === 0) throw client.noServersOnline();
  const servers: ServerInfo[] = [];
  const failed: Listing["failed"] = [];
  await Promise.all(online.map(async (address) => {
    const started = performance.now();
    try {
      const reply = await client.request(address, "info", {});
      servers.push({
        address,
        trusted: client.trusted.ids.has(address.slice("server:".length)),
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
  return { servers, failed, offline };
}
