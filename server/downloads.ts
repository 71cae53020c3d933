/**
 * The download half of the server protocol (docs/PROTOCOL.md, "Bulk
 * transfers"): `get-begin` releases an object's manifest and key share for a
 * valid access proof and pushes its share stream in chunks, within the
 * window the client asked for; `get-ack` moves the window, `get-cancel`
 * stops it. After a Redis reconnect every unacknowledged chunk is resent.
 *
 * @module
 */

import { toHex } from "../core/bytes.ts";
import { KEY_SHARE_LENGTH } from "../core/key_shares.ts";
import type { Address } from "../core/net/envelope.ts";
import { bytesField, stringField, uintField } from "../core/net/fields.ts";
import type { Host } from "../core/net/host.ts";
import type { ThrottledLog } from "../core/net/throttled_log.ts";
import { WindowedSender } from "../core/net/transfer.ts";
import type { ProofGate } from "./proofs.ts";
import { type Store, StoreError, vanished } from "./store.ts";

/** Largest download chunk, in bytes. */
export const DOWNLOAD_CHUNK = 512 * 1024;
/** Largest download window a client may ask for, in bytes. */
export const MAX_DOWNLOAD_WINDOW = 4 * 2 ** 20;

interface DownloadSession {
  readonly sender: WindowedSender;
  readonly owner: Address;
  cancelled: boolean;
}

/** What the download handlers share with the rest of the server. */
export interface DownloadContext {
  readonly host: Host;
  readonly store: Store;
  readonly proofs: ProofGate;
  /** Validates a body's `tag`. */
  readonly tagField: (body: Record<string, unknown>) => string;
  /** Throttled warnings for what clients cause. */
  readonly warnings: ThrottledLog;
}

/** Registers the download handlers on `context.host`; returns a function that stops them. */
export function serveDownloads(context: DownloadContext): () => void {
  const { host, store, proofs } = context;
  const downloads = new Map<string, DownloadSession>();

  host.handle("get-begin", async (request) => {
    const tag = context.tagField(request.body);
    const objectId = toHex(bytesField(request.body, "objectId", 16));
    const object = await proofs.guard(
      tag,
      request.from,
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
    let manifest: Uint8Array, file: Deno.FsFile;
    try {
      manifest = await Deno.readFile(`${object.dir}/manifest`);
      file = await Deno.open(`${object.dir}/share`, { read: true });
    } catch (error) {
      throw vanished(error);
    }
    const keyShare = new Uint8Array(KEY_SHARE_LENGTH);
    await file.read(keyShare);
    await file.seek(offset, Deno.SeekMode.Start);
    // The client sizes the window so that all its downloads together stay far
    // below Redis' pub/sub output buffer limit; the server clamps it.
    const chunkBytes = clamp(request.body.chunk, 16 * 1024, DOWNLOAD_CHUNK);
    const windowBytes = clamp(request.body.window, chunkBytes, MAX_DOWNLOAD_WINDOW);
    const client = request.from;
    // Chunk buffers come back once acknowledged and are read into again: a download makes
    // no garbage per chunk (host.send copies each into its message when it is pushed).
    const spareChunks: Uint8Array[] = [];
    const sender = new WindowedSender(
      (seq, data) => host.send(client, "get-data", { download: id, seq, data }),
      {
        windowBytes,
        windowChunks: Math.ceil(windowBytes / chunkBytes),
        isPeerOnline: () => host.isOnline(client),
        onAcked: (chunk) => spareChunks.push(new Uint8Array(chunk.buffer, 0, chunkBytes)),
      },
    );
    const session: DownloadSession = { sender, owner: client, cancelled: false };
    downloads.set(key, session);
    (async () => {
      try {
        while (!session.cancelled) {
          const buffer = spareChunks.pop() ?? new Uint8Array(chunkBytes);
          const read = await file.read(buffer);
          if (read === null) break;
          await sender.push(buffer.subarray(0, read));
        }
        if (!session.cancelled) await sender.drain();
      } catch (error) {
        context.warnings.line(`download ${id} to ${client} ended: ${(error as Error).message}`);
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

  const stopReconnect = host.onReconnect(() => {
    for (const session of downloads.values()) session.sender.resend();
  });
  return () => {
    stopReconnect();
    for (const session of downloads.values()) session.sender.fail(new Error("server stopping"));
  };
}

/** `value` if it is a number, clamped into `min..max`; `max` when absent. */
function clamp(value: unknown, min: number, max: number): number {
  if (typeof value !== "number" || !Number.isFinite(value)) return max;
  return Math.min(max, Math.max(min, Math.floor(value)));
}
