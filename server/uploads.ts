/**
 * The upload half of the server protocol (docs/PROTOCOL.md, "Bulk
 * transfers"): `put-begin`, `put-data`, `put-commit` and `put-abort`, with
 * places allotted by the {@linkcode UploadTable}, chunks written in order and
 * acknowledged cumulatively, a client that ignores its window cut off, and a
 * sweeper that drops uploads whose client went quiet.
 *
 * @module
 */

import type { Address } from "../core/net/envelope.ts";
import { bytesField, stringField, uintField } from "../core/net/fields.ts";
import type { Host } from "../core/net/host.ts";
import { ACCESS_KEY_LENGTH } from "../core/access.ts";
import type { ThrottledLog } from "../core/net/throttled_log.ts";
import type { ProofGate } from "./proofs.ts";
import { type Store, StoreError } from "./store.ts";
import { UploadSession, UploadTable } from "./upload_table.ts";

export { MAX_UPLOADS, MAX_UPLOADS_PER_CLIENT } from "./upload_table.ts";

/** Largest upload chunk accepted (a fragment frame of a 1 MiB segment with k = 1). */
export const MAX_UPLOAD_CHUNK = 2 ** 20 + 64;
/**
 * Bytes of one upload received but not yet written beyond which the upload
 * fails: a client keeps at most 2 MiB and one chunk unacknowledged, so only
 * one that ignores its window gets here.
 */
export const MAX_UPLOAD_PENDING = 4 * 2 ** 20;

/** What the upload handlers share with the rest of the server. */
export interface UploadContext {
  readonly host: Host;
  readonly store: Store;
  readonly proofs: ProofGate;
  /** Validates a body's `tag`. */
  readonly tagField: (body: Record<string, unknown>) => string;
  /** Throttled lines for what clients cause. */
  readonly notes: ThrottledLog;
  /** Unthrottled log (sweeper). */
  readonly log: (level: "info" | "warn", message: string) => void;
  /** Drop uploads that received nothing this long. */
  readonly idleTimeoutMs: number;
  /** A tag as log lines show it. */
  readonly tagLabel: (tag: string) => string;
}

/** Registers the upload handlers on `context.host`; returns a function that stops them. */
export function serveUploads(context: UploadContext): () => Promise<void> {
  const { host, store, proofs, notes } = context;
  const table = new UploadTable();

  /** Fails `session` (once), tells its client, and drops what it received. */
  const drop = async (session: UploadSession, error: StoreError) => {
    session.failed ??= error;
    reset(session.owner, session.upload.params.id, session.failed);
    await session.queue;
    await session.upload.abort();
  };
  const reset = (to: Address, upload: string, error: StoreError) =>
    host.send(to, "put-reset", { upload, code: error.code, message: error.message });

  host.handle("put-begin", async (request) => {
    const { body } = request;
    const tag = context.tagField(body);
    const objectId = bytesField(body, "objectId", 16).slice();
    const index = uintField(body, "index", 255);
    const accessKey = bytesField(body, "accessKey", ACCESS_KEY_LENGTH).slice();
    if (index < 1) throw new StoreError("bad-request", "index must be 1..255");
    // The store decides first (exists, forbidden): only an authorised upload takes a place,
    // so begins that cannot proceed never hold the tag or a place, however many there are.
    const begin = () =>
      store.beginUpload({
        tag,
        objectId,
        index,
        accessKey,
        replace: body.proof === undefined ? undefined : proofs.proofOf(body, request.from),
      });
    const upload = body.proof === undefined
      ? await begin()
      : await proofs.guard(tag, request.from, begin);
    let admitted;
    try {
      admitted = table.admit(request.from, upload);
    } catch (error) {
      await upload.abort();
      throw error;
    }
    for (const old of admitted.evicted) {
      notes.line(`evicted upload of ${context.tagLabel(old.tag)} from ${old.owner}: too slow`);
      drop(old, old.failed!);
    }
    notes.line(`upload ${upload.params.id} of ${context.tagLabel(tag)} from ${request.from}`);
    return { upload: upload.params.id };
  });

  host.listen("put-data", (message) => {
    const id = stringField(message.body, "upload", 16);
    const seq = uintField(message.body, "seq");
    const data = bytesField(message.body, "data", undefined, MAX_UPLOAD_CHUNK);
    const session = table.get(id, message.from);
    if (session === undefined) {
      reset(
        message.from,
        id,
        new StoreError("not-found", "no such upload here (it may have timed out)"),
      );
      return;
    }
    if (session.failed) {
      reset(message.from, id, session.failed);
      return;
    }
    if (session.committing) return; // its data is complete: a late resend changes nothing
    if (session.receiver.accept(seq)) {
      session.arrived(data.length);
      session.pending += data.length;
      if (session.pending > MAX_UPLOAD_PENDING) {
        table.remove(id);
        drop(session, new StoreError("bad-request", "upload data sent beyond the window"));
        return;
      }
      const chunk = data; // a view of its own message buffer, which nothing reuses
      session.queue = session.queue.then(() => session.upload.write(chunk)).catch((error) => {
        session.failed = error instanceof StoreError
          ? error
          : new StoreError("internal", String(error));
        reset(message.from, id, session.failed);
      }).finally(() => session.pending -= chunk.length);
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
    const session = table.get(id, request.from);
    if (session === undefined) {
      throw new StoreError("not-found", "no such upload (it may have timed out)");
    }
    if (session.committing) throw new StoreError("conflict", "this upload is being committed");
    await session.queue;
    if (session.failed) throw session.failed;
    if (session.receiver.expected !== chunks) {
      throw new StoreError(
        "bad-request",
        `received ${session.receiver.expected} of ${chunks} chunks`,
      );
    }
    // The tag stays taken until the commit ends, so no other put of it can begin meanwhile
    // only to find the tag changed at its own commit.
    session.committing = true;
    const { upload } = session;
    try {
      await upload.commit(header, manifest);
    } catch (error) {
      await upload.abort();
      throw error;
    } finally {
      table.remove(id);
    }
    notes.line(
      `committed ${
        context.tagLabel(upload.params.tag)
      } index ${upload.params.index} (${upload.bytes} bytes)`,
    );
    return {};
  });

  host.handle("put-abort", async (request) => {
    const id = stringField(request.body, "upload", 16);
    const session = table.get(id, request.from);
    if (session !== undefined && !session.committing) {
      table.remove(id);
      await session.queue;
      await session.upload.abort();
    }
    return {};
  });

  const { idleTimeoutMs } = context;
  const sweeper = setInterval(async () => {
    const now = Date.now();
    for (const [id, session] of [...table.entries()]) {
      if (!session.committing && now - session.upload.lastActivity > idleTimeoutMs) {
        table.remove(id);
        context.log("warn", `dropped upload ${id}: no data for ${idleTimeoutMs / 1000} s`);
        await session.queue;
        await session.upload.abort();
      }
    }
  }, Math.min(5000, idleTimeoutMs / 2));

  return async () => {
    clearInterval(sweeper);
    for (const [id, session] of [...table.entries()]) {
      if (session.committing) continue; // its commit ends (or fails) by itself
      table.remove(id);
      await session.queue;
      await session.upload.abort();
    }
  };
}
