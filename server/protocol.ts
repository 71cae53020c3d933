/**
 * The server side of the protocol (docs/PROTOCOL.md): request handlers over a
 * {@linkcode Store}, upload and download sessions with flow control, and a
 * sweeper that drops sessions whose client went quiet.
 *
 * @module
 */

import { hostname } from "node:os";
import { statfs } from "node:fs/promises";
import { toHex } from "../core/bytes.ts";
import { encodeTag } from "../core/tag.ts";
import { KEY_SHARE_LENGTH } from "../core/key_shares.ts";
import { VERSION } from "../core/version.ts";
import { type Address, PROTOCOL_VERSION, ProtocolError } from "../core/net/envelope.ts";
import { bytesField, stringField, uintField } from "../core/net/fields.ts";
import type { Host } from "../core/net/host.ts";
import { InOrderReceiver, WindowedSender } from "../core/net/transfer.ts";
import { type Store, StoreError } from "./store.ts";
import { ACCESS_KEY_LENGTH } from "../core/access.ts";
import type { Upload } from "./upload.ts";
import type { FailureLimits } from "./limits.ts";
import { ThrottledLog } from "../core/net/throttled_log.ts";
import { ProofGate } from "./proofs.ts";

/** Largest download chunk, in bytes. */
export const DOWNLOAD_CHUNK = 256 * 1024;
/** Largest upload chunk accepted (a fragment frame of a 1 MiB segment with k = 1). */
export const MAX_UPLOAD_CHUNK = 2 ** 20 + 64;

/** Uploads one client may have in progress at a server. */
export const MAX_UPLOADS_PER_CLIENT = 16;
/** Uploads a server runs at once, from all clients. */
export const MAX_UPLOADS = 256;

/** Entries per `list` reply. */
export const LIST_PAGE = 200;

interface UploadSession {
  readonly upload: Upload;
  readonly owner: Address;
  readonly receiver: InOrderReceiver;
  queue: Promise<void>;
  failed?: StoreError;
}

interface DownloadSession {
  readonly sender: WindowedSender;
  readonly owner: Address;
  cancelled: boolean;
}

/** Options of {@linkcode serveProtocol}. */
export interface ProtocolOptions {
  /** This server's id. */
  serverId: string;
  /** Drop sessions idle this long; default 60 s. */
  sessionTimeoutMs?: number;
  /** How often a tag's access proofs may fail; default 20 at once, then 20 a minute. */
  proofFailures?: FailureLimits;
  /** Where to log. */
  log: (level: "info" | "warn" | "debug", message: string) => void;
}

/** Registers every handler on `host`; returns a function that stops the sweeper and open sessions. */
export function serveProtocol(
  host: Host,
  store: Store,
  options: ProtocolOptions,
): () => Promise<void> {
  const uploads = new Map<string, UploadSession>();
  const downloads = new Map<string, DownloadSession>();
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
    };
  });

  const proofs = new ProofGate(
    options.proofFailures,
    (tag) => warnings.line(`failed access proof for ${tagLabel(tag)}`),
  );
  host.handle("challenge", (request) => Promise.resolve({ nonce: proofs.challenge(request.from) }));

  host.handle("head", async (request) => {
    const objects = await store.objects(tagField(request.body));
    return { objects: objects.map((o) => ({ header: o.header, index: o.index })) };
  });

  host.handle("list", async (request) => {
    const after = request.body.after === undefined ? "" : stringField(request.body, "after", 64);
    const entries: { header: Uint8Array; index: number }[] = [];
    let last = "";
    let more = false;
    for await (const { hash, objects } of store.tags(after)) {
      if (entries.length === LIST_PAGE) {
        more = true;
        break;
      }
      entries.push({ header: objects[0].header, index: objects[0].index });
      last = hash;
    }
    return { entries, next: more ? last : undefined };
  });

  host.handle("put-begin", async (request) => {
    const { body } = request;
    const tag = tagField(body);
    const begin = () =>
      store.beginUpload({
        tag,
        objectId: bytesField(body, "objectId", 16).slice(),
        index: uintField(body, "index", 255),
        accessKey: bytesField(body, "accessKey", ACCESS_KEY_LENGTH).slice(),
        replace: body.proof === undefined ? undefined : proofs.proofOf(body, request.from),
      });
    const upload = body.proof === undefined ? await begin() : await proofs.guard(tag, begin);
    if (upload.params.index < 1) {
      await upload.abort();
      throw new StoreError("bad-request", "index must be 1..255");
    }
    const ownUploads = [...uploads.values()].filter((u) => u.owner === request.from).length;
    if (ownUploads >= MAX_UPLOADS_PER_CLIENT || uploads.size >= MAX_UPLOADS) {
      await upload.abort();
      throw new StoreError(
        "busy",
        ownUploads >= MAX_UPLOADS_PER_CLIENT
          ? `this client already has ${ownUploads} uploads in progress here`
          : `${uploads.size} uploads in progress here; try again later`,
      );
    }
    uploads.set(upload.params.id, {
      upload,
      owner: request.from,
      receiver: new InOrderReceiver(),
      queue: Promise.resolve(),
    });
    notes.line(`upload ${upload.params.id} of ${tagLabel(upload.params.tag)} from ${request.from}`);
    return { upload: upload.params.id };
  });

  host.listen("put-data", (message) => {
    const id = stringField(message.body, "upload", 16);
    const seq = uintField(message.body, "seq");
    const data = bytesField(message.body, "data", undefined, MAX_UPLOAD_CHUNK);
    const session = uploads.get(id);
    if (session === undefined || session.owner !== message.from) {
      host.send(message.from, "put-reset", {
        upload: id,
        code: "not-found",
        message: "no such upload here (it may have timed out)",
      });
      return;
    }
    if (session.failed) {
      host.send(message.from, "put-reset", {
        upload: id,
        code: session.failed.code,
        message: session.failed.message,
      });
      return;
    }
    if (session.receiver.accept(seq)) {
      const chunk = data; // a view of its own message buffer, which nothing reuses
      session.queue = session.queue.then(() => session.upload.write(chunk)).catch((error) => {
        session.failed = error instanceof StoreError
          ? error
          : new StoreError("internal", String(error));
        host.send(message.from, "put-reset", {
          upload: id,
          code: session.failed.code,
          message: session.failed.message,
        });
      });
    }
    const acked = session.receiver.expected - 1;
    session.queue.then(() => {
      if (!session.failed && acked >= 0) {
        host.send(message.from, "put-ack", { upload: id, seq: acked });
      }
    });
  });

  host.handle("put-commit", async (request) => {
    const id = stringField(request.body, "upload", 16);
    const chunks = uintField(request.body, "chunks");
    const header = bytesField(request.body, "header", undefined, 8192).slice();
    const manifest = bytesField(request.body, "manifest", undefined, 16384).slice();
    const session = uploads.get(id);
    if (session === undefined || session.owner !== request.from) {
      throw new StoreError("not-found", "no such upload (it may have timed out)");
    }
    await session.queue;
    if (session.failed) throw session.failed;
    if (session.receiver.expected !== chunks) {
      throw new StoreError(
        "bad-request",
        `received ${session.receiver.expected} of ${chunks} chunks`,
      );
    }
    uploads.delete(id);
    try {
      await session.upload.commit(header, manifest);
    } catch (error) {
      await session.upload.abort();
      throw error;
    }
    notes.line(
      `committed ${
        tagLabel(session.upload.params.tag)
      } index ${session.upload.params.index} (${session.upload.bytes} bytes)`,
    );
    return {};
  });

  host.handle("put-abort", async (request) => {
    const id = stringField(request.body, "upload", 16);
    const session = uploads.get(id);
    if (session !== undefined && session.owner === request.from) {
      uploads.delete(id);
      await session.queue;
      await session.upload.abort();
    }
    return {};
  });

  host.handle("get-begin", async (request) => {
    const tag = tagField(request.body);
    const objectId = toHex(bytesField(request.body, "objectId", 16));
    const object = await proofs.guard(
      tag,
      () => store.authorize(tag, objectId, proofs.proofOf(request.body, request.from)),
    );
    const id = stringField(request.body, "download", 16);
    const key = `${request.from}/${id}`;
    if (!/^[0-9a-f]{16}$/.test(id) || downloads.has(key)) {
      throw new StoreError("bad-request", "download id must be 16 hex digits, new for this client");
    }
    const offset = request.body.offset === undefined
      ? 0
      : uintField(request.body, "offset", object.shareBytes);
    const manifest = await Deno.readFile(`${object.dir}/manifest`);
    const file = await Deno.open(`${object.dir}/share`, { read: true });
    const keyShare = new Uint8Array(KEY_SHARE_LENGTH);
    await file.read(keyShare);
    await file.seek(offset, Deno.SeekMode.Start);
    // The client sizes the window so that all its downloads together stay far
    // below Redis' pub/sub output buffer limit; the server clamps it.
    const chunkBytes = clamp(request.body.chunk, 16 * 1024, DOWNLOAD_CHUNK);
    const windowBytes = clamp(request.body.window, chunkBytes, 4 * 2 ** 20);
    const client = request.from;
    const sender = new WindowedSender(
      (seq, data) => host.send(client, "get-data", { download: id, seq, data }),
      {
        windowBytes,
        windowChunks: Math.ceil(windowBytes / chunkBytes),
        isPeerOnline: () => host.isOnline(client),
      },
    );
    const session: DownloadSession = { sender, owner: client, cancelled: false };
    downloads.set(key, session);
    (async () => {
      try {
        const buffer = new Uint8Array(chunkBytes);
        while (!session.cancelled) {
          const read = await file.read(buffer);
          if (read === null) break;
          await sender.push(buffer.slice(0, read));
        }
        if (!session.cancelled) await sender.drain();
      } catch (error) {
        warnings.line(`download ${id} to ${client} ended: ${(error as Error).message}`);
      } finally {
        file.close();
        sender.close();
        downloads.delete(key);
      }
    })();
    return {
      index: object.index,
      manifest,
      keyShare,
      size: object.shareBytes - offset,
    };
  });

  host.listen("get-ack", (message) => {
    const session = downloads.get(`${message.from}/${stringField(message.body, "download", 16)}`);
    if (session === undefined || session.owner !== message.from) return;
    session.sender.ack(uintField(message.body, "seq"));
  });

  host.listen("get-cancel", (message) => {
    const session = downloads.get(`${message.from}/${stringField(message.body, "download", 16)}`);
    if (session === undefined || session.owner !== message.from) return;
    session.cancelled = true;
    session.sender.fail(new Error("cancelled by the client"));
  });

  host.handle("prune", async (request) => {
    const { body } = request;
    const tag = tagField(body);
    const objectId = toHex(bytesField(body, "objectId", 16));
    const removed = await proofs.guard(
      tag,
      () => store.prune(tag, objectId, proofs.proofOf(body, request.from)),
    );
    return { removed };
  });

  host.handle("rm", async (request) => {
    const tag = tagField(request.body);
    const removed = await proofs.guard(
      tag,
      () => store.remove(tag, proofs.proofOf(request.body, request.from)),
    );
    notes.line(`removed ${tagLabel(tag)} (${removed} objects) for ${request.from}`);
    return { removed };
  });

  const stopReconnect = host.onReconnect(() => {
    for (const session of downloads.values()) session.sender.resend();
  });
  const sweeper = setInterval(async () => {
    const now = Date.now();
    for (const [id, session] of uploads) {
      if (now - session.upload.lastActivity > timeoutMs) {
        uploads.delete(id);
        options.log("warn", `dropped upload ${id}: no data for ${timeoutMs / 1000} s`);
        await session.queue;
        await session.upload.abort();
      }
    }
  }, Math.min(5000, timeoutMs / 2));

  return async () => {
    clearInterval(sweeper);
    stopReconnect();
    for (const session of downloads.values()) session.sender.fail(new Error("server stopping"));
    for (const session of uploads.values()) {
      await session.queue;
      await session.upload.abort();
    }
    uploads.clear();
  };
}

/** A tag for a log line: JSON-quoted, cut after 64 characters. */
function tagLabel(tag: string): string {
  return tag.length <= 64 ? JSON.stringify(tag) : `${JSON.stringify(tag.slice(0, 64))}…`;
}

/** `value` if it is a number, clamped into `min..max`; `max` when absent. */
function clamp(value: unknown, min: number, max: number): number {
  if (typeof value !== "number" || !Number.isFinite(value)) return max;
  return Math.min(max, Math.max(min, Math.floor(value)));
}

/** Raised by handlers for a body that fails validation (re-exported for tests). */
export { ProtocolError };
