/**
 * The server side of the protocol (docs/PROTOCOL.md): request handlers over a
 * {@linkcode Store}. Uploads are in `uploads.ts`, downloads in
 * `downloads.ts`; this file has the rest (info, challenge, head, list, prune,
 * rm, forget, withdraw) and puts them together.
 *
 * @module
 */

import { hostname } from "node:os";
import { statfs } from "node:fs/promises";
import { toHex } from "../core/bytes.ts";
import { encodeTag } from "../core/tag.ts";
import { VERSION } from "../core/version.ts";
import { PROTOCOL_VERSION, ProtocolError } from "../core/net/envelope.ts";
import { bytesField, stringField } from "../core/net/fields.ts";
import type { Host } from "../core/net/host.ts";
import {
  decodeDeletionRecord,
  type DeletionRecord,
  MAX_DELETION_RECORD,
} from "../core/deletion.ts";
import { type Store, type StoredObject, StoreError } from "./store.ts";
import type { ScrubStatus } from "./scrub.ts";
import { ThrottledLog } from "../core/net/throttled_log.ts";
import { ProofGate, type ProofLimits } from "./proofs.ts";
import { serveUploads } from "./uploads.ts";
import { serveDownloads } from "./downloads.ts";

export { MAX_UPLOAD_CHUNK, MAX_UPLOADS, MAX_UPLOADS_PER_CLIENT } from "./uploads.ts";
export { DOWNLOAD_CHUNK } from "./downloads.ts";

/** Entries per `list` reply. */
export const LIST_PAGE = 200;
/**
 * Bytes of headers and deletion records per `list` reply, beyond which the
 * page ends early: 200 entries of the longest tags would pass the 2 MiB a
 * message may have.
 */
export const LIST_PAGE_BYTES = 2 ** 20;

/** Options of {@linkcode serveProtocol}. */
export interface ProtocolOptions {
  /** This server's id. */
  serverId: string;
  /** Drop sessions idle this long; default 60 s. */
  sessionTimeoutMs?: number;
  /** How often access proofs may fail, per tag and per client (server/proofs.ts). */
  proofFailures?: ProofLimits;
  /** Where to log. */
  log: (level: "info" | "warn" | "debug", message: string) => void;
  /** What the scrub has done, for `info` (server/scrub.ts); absent when it is off. */
  scrub?: () => ScrubStatus;
}

/** Registers every handler on `host`; returns a function that stops the sweeper and open sessions. */
export function serveProtocol(
  host: Host,
  store: Store,
  options: ProtocolOptions,
): () => Promise<void> {
  const timeoutMs = options.sessionTimeoutMs ?? 60_000;
  // What clients make a server log is throttled: a flood of requests is not a flood of lines.
  const notes = new ThrottledLog(options.log, "info", 120);
  const warnings = new ThrottledLog(options.log, "warn");
  const tagField = (body: Record<string, unknown>) => {
    const tag = stringField(body, "tag", 8192);
    try {
      encodeTag(tag);
    } catch (error) {
      throw new StoreError("bad-request", (error as Error).message);
    }
    return tag;
  };

  host.handle("info", async () => {
    let freeBytes: number | undefined;
    try {
      const fs = await statfs(store.paths.root);
      freeBytes = fs.bavail * fs.bsize;
    } catch {
      freeBytes = undefined;
    }
    return {
      id: options.serverId,
      hostname: hostname(),
      os: `${Deno.build.os} ${Deno.build.arch}`,
      version: VERSION,
      protocol: PROTOCOL_VERSION,
      freeBytes,
      ...store.stats,
      scrub: options.scrub?.(),
    };
  });

  const proofs = new ProofGate(
    options.proofFailures,
    (tag) => warnings.line(`failed access proof for ${tagLabel(tag)}`),
  );
  host.handle("challenge", (request) => Promise.resolve({ nonce: proofs.challenge(request.from) }));

  host.handle("head", async (request) => {
    const { objects, deleted } = await store.state(tagField(request.body));
    return { objects: objects.map(describe), deleted: deleted?.bytes };
  });

  host.handle("list", async (request) => {
    const after = request.body.after === undefined ? "" : stringField(request.body, "after", 64);
    const entries: Record<string, unknown>[] = [];
    let last = "";
    let more = false;
    let bytes = 0;
    for await (const { hash, objects, deleted } of store.listing(after)) {
      if (entries.length === LIST_PAGE || bytes > LIST_PAGE_BYTES) {
        more = true;
        break;
      }
      const newest = objects.length > 0 ? describe(objects[0]) : {};
      entries.push(deleted === undefined ? newest : { ...newest, deleted: deleted.bytes });
      bytes += (objects[0]?.header.length ?? 0) + (deleted?.bytes.length ?? 0);
      last = hash;
    }
    return { entries, next: more ? last : undefined };
  });

  host.handle("prune", async (request) => {
    const { body } = request;
    const tag = tagField(body);
    const objectId = toHex(bytesField(body, "objectId", 16));
    const removed = await proofs.guard(
      tag,
      request.from,
      () => store.prune(tag, objectId, proofs.proofOf(body, request.from)),
    );
    return { removed };
  });

  host.handle("withdraw", async (request) => {
    const { body } = request;
    const tag = tagField(body);
    const objectId = toHex(bytesField(body, "objectId", 16));
    const removed = await proofs.guard(
      tag,
      request.from,
      () => store.withdraw(tag, objectId, proofs.proofOf(body, request.from)),
    );
    notes.line(`withdrew an object of ${tagLabel(tag)} for ${request.from}`);
    return { removed };
  });

  host.handle("rm", async (request) => {
    const tag = tagField(request.body);
    const removed = await proofs.guard(tag, request.from, () => {
      // The nonce first: a made-up one is `expired` whatever else the body holds.
      const access = proofs.proofOf(request.body, request.from);
      const record = request.body.record === undefined ? undefined : recordField(request.body);
      return store.remove(tag, access, record);
    });
    notes.line(`removed ${tagLabel(tag)} (${removed} objects) for ${request.from}`);
    return { removed };
  });

  host.handle("forget", async (request) => {
    const tag = tagField(request.body);
    const record = recordField(request.body);
    const removed = await proofs.guard(tag, request.from, () => store.forget(tag, record));
    notes.line(
      `removed ${tagLabel(tag)} up to version ${record.header.version} (${removed} objects) ` +
        `for a deletion record from ${request.from}`,
    );
    return { removed };
  });

  const context = { host, store, proofs, tagField };
  const stopUploads = serveUploads({
    ...context,
    notes,
    log: options.log,
    idleTimeoutMs: timeoutMs,
    tagLabel,
  });
  const stopDownloads = serveDownloads({ ...context, warnings });
  return async () => {
    stopDownloads();
    await stopUploads();
  };
}

/** An object as `head` and `list` describe it. */
function describe(object: StoredObject): Record<string, unknown> {
  const entry = { header: object.header, index: object.index, access: object.access };
  return object.damaged ? { ...entry, damaged: true } : entry;
}

/** The body's `record`, a deletion record (core/deletion.ts), parsed; `bad-request` when malformed. */
function recordField(body: Record<string, unknown>): DeletionRecord {
  const bytes = bytesField(body, "record", undefined, MAX_DELETION_RECORD);
  try {
    return decodeDeletionRecord(bytes);
  } catch (error) {
    throw new StoreError("bad-request", `invalid deletion record: ${(error as Error).message}`);
  }
}

/** A tag for a log line: JSON-quoted, cut after 64 characters. */
function tagLabel(tag: string): string {
  return tag.length <= 64 ? JSON.stringify(tag) : `${JSON.stringify(tag.slice(0, 64))}…`;
}

/** Raised by handlers for a body that fails validation (re-exported for tests). */
export { ProtocolError };
