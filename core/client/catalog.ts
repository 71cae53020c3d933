/**
 * `ls` and `servers`: what the trusted servers hold and who is online.
 * Neither needs a password: headers are public. A listing reads only trusted
 * servers and keeps within fixed bounds per server (pages, entries, bytes,
 * and a cursor that must advance), so `ls` ends with bounded memory whatever
 * a server sends.
 *
 * @module
 */

import { toHex, webBytes } from "../bytes.ts";
import { decodeHeader, type ObjectHeader } from "../header.ts";
import type { Address } from "../net/envelope.ts";
import { arrayField, bytesField, mapValue, stringField, uintField } from "../net/fields.ts";
import type { Client } from "./session.ts";
import { holderFields, newestFirst, type ObjectView } from "./heads.ts";
import { decodeDeletionRecord, MAX_DELETION_RECORD } from "../deletion.ts";
import { isDeleted, judgeDeletions, passOnDeletions, type ReportedRecord } from "./deletions.ts";
import { type HeaderPolicy, vet } from "./vetting.ts";

/** One tag in a listing: its newest object and how many servers hold it. */
export interface TagEntry {
  tag: string;
  size: number;
  created: number;
  k: number;
  n: number;
  /** Servers holding a share of this object. */
  servers: Address[];
  /** Whether at least k trusted servers vouch for it (core/client/vetting.ts), so get can read it. */
  recoverable: boolean;
}

/** Most `list` pages read from one server. */
export const MAX_LIST_PAGES = 1000;
/** Most entries in one `list` page (servers send 200). */
export const MAX_LIST_PAGE_ENTRIES = 1000;
/** Most entries read from one server (tags it holds). */
export const MAX_LIST_ENTRIES = 100_000;
/** Most header bytes read from one server (80,000 tags of 200 bytes; 4,000 of the longest). */
export const MAX_LIST_BYTES = 16 * 2 ** 20;

/** A listing of every tag on every trusted server online. */
export interface Listing {
  tags: TagEntry[];
  /** Servers that did not answer. */
  failed: { server: Address; error: string }[];
}

/**
 * Lists every tag on the trusted servers online, sorted by tag. Each tag
 * shows its newest object that the servers vouch for (`vetting.ts`, with
 * `policy`), else its newest object of all, as not recoverable: a lying
 * server's forged header never hides the real object.
 */
export async function listTags(client: Client, policy: HeaderPolicy = {}): Promise<Listing> {
  const online = await client.trustedServers();
  const objects = new Map<string, ObjectView>();
  const failed: Listing["failed"] = [];
  const records: ReportedRecord[] = [];
  await Promise.all(online.map(async (server) => {
    try {
      for await (
        const { headerBytes, index, access, damaged, deleted } of listServer(client, server)
      ) {
        if (deleted !== undefined) records.push({ server, bytes: deleted });
        if (headerBytes === undefined || index === undefined) continue;
        let header: ObjectHeader;
        try {
          header = decodeHeader(headerBytes);
        } catch {
          continue;
        }
        // Keyed by a digest: a hex key would hold twice each header (8 KiB for a 4 KiB tag).
        const key = toHex(
          new Uint8Array(await crypto.subtle.digest("SHA-256", webBytes(headerBytes))),
        );
        const view = objects.get(key) ?? { headerBytes, header, holders: [], newestOn: [] };
        if (!view.holders.some((h) => h.server === server)) {
          view.holders.push({ server, index, access, damaged });
          view.newestOn.push(server);
        }
        objects.set(key, view);
      }
    } catch (error) {
      failed.push({ server, error: (error as Error).message });
    }
  }));
  const byTag = new Map<string, ObjectView[]>();
  for (const view of objects.values()) {
    byTag.set(view.header.tag, [...byTag.get(view.header.tag) ?? [], view]);
  }
  const tags: TagEntry[] = [];
  for (const [tag, all] of byTag) {
    // A tag whose newest objects a believed deletion record removed is not listed.
    const reports = records.filter((r) => recordTag(r.bytes) === tag);
    const deletions = await judgeDeletions(tag, reports, all);
    const deleted = all.filter((o) => isDeleted(deletions, o.header.version));
    if (deleted.length > 0) await passOnDeletions(client, tag, deletions, deleted);
    const views = all.filter((o) => !deleted.includes(o));
    if (views.length === 0) continue;
    const vetted = vet(
      { objects: views.sort(newestFirst), answered: [], failed: [], invalid: [] },
      policy,
    );
    const shown = vetted.vouched[0] ?? vetted.doubted[0].object;
    const { header } = shown;
    tags.push({
      tag: header.tag,
      size: header.size,
      created: header.created,
      k: header.k,
      n: header.n,
      servers: shown.holders.map((h) => h.server).sort(),
      recoverable: vetted.vouched[0] === shown,
    });
  }
  tags.sort((a, b) => a.tag < b.tag ? -1 : a.tag > b.tag ? 1 : 0);
  return { tags, failed };
}

/**
 * The header of every entry `server` lists, page by page. Throws when the
 * server breaks a bound: a cursor that does not advance, or more pages,
 * entries or bytes than {@linkcode MAX_LIST_PAGES}, {@linkcode MAX_LIST_ENTRIES}
 * and {@linkcode MAX_LIST_BYTES} allow.
 */
async function* listServer(
  client: Client,
  server: Address,
): AsyncGenerator<ListedEntry> {
  let after: string | undefined;
  let entries = 0;
  let bytes = 0;
  for (let page = 1;; page++) {
    const reply = await client.request(server, "list", after === undefined ? {} : { after });
    const headers = arrayField(reply, "entries", MAX_LIST_PAGE_ENTRIES, (value): ListedEntry => {
      const entry = mapValue(value, "entry");
      const deleted = entry.deleted === undefined
        ? undefined
        : bytesField(entry, "deleted", undefined, MAX_DELETION_RECORD).slice();
      if (entry.header === undefined && deleted !== undefined) return { deleted };
      return {
        headerBytes: bytesField(entry, "header", undefined, 8192).slice(),
        index: uintField(entry, "index", 255),
        ...holderFields(entry),
        deleted,
      };
    });
    entries += headers.length;
    bytes += headers.reduce(
      (sum, entry) => sum + (entry.headerBytes?.length ?? 0) + (entry.deleted?.length ?? 0),
      0,
    );
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

/** One entry of a server's `list`: its newest object of a tag, the tag's deletion record, or both. */
interface ListedEntry {
  headerBytes?: Uint8Array;
  index?: number;
  access?: Uint8Array;
  damaged?: boolean;
  deleted?: Uint8Array;
}

/** The tag a deletion record is for, or undefined when it does not parse. */
function recordTag(bytes: Uint8Array): string | undefined {
  try {
    return decodeDeletionRecord(bytes).header.tag;
  } catch {
    return undefined;
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
