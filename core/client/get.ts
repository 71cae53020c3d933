/**
 * `get`: find the newest object of a tag that at least k servers hold, derive
 * its keys from the password, download every holder's share with flow
 * control, and stream the plaintext through the opener, which checks each
 * fragment and names any server whose share is bad.
 *
 * @module
 */

import {
  NotEnoughSharesError,
  NotFoundError,
  type Rejection,
  WrongPasswordError,
} from "../errors.ts";
import type { ObjectHeader } from "../header.ts";
import type { Address } from "../net/envelope.ts";
import { bytesField, stringField, uintField } from "../net/fields.ts";
import { RemoteError } from "../net/host.ts";
import { openUnlocked, type ShareSource } from "../open.ts";
import { unlock } from "../unlock.ts";
import { viewTag } from "./heads.ts";
import type { Client } from "./session.ts";

/** What `get` needs. */
export interface GetOptions {
  tag: string;
  password: string;
  /** Highest scrypt work factor accepted. */
  maxLogN?: number;
  /** scrypt progress, 0..1. */
  onKdfProgress?: (fraction: number) => void;
}

/** A server that was not used, and why. */
export interface ServerRejection {
  server: Address;
  index?: number;
  reason: string;
}

/** An object being retrieved. */
export interface Retrieval {
  /** The header of the object chosen. */
  header: ObjectHeader;
  /** The plaintext; it fails with a typed error if fewer than k shares survive. */
  plaintext: ReadableStream<Uint8Array>;
  /** Servers used (as share sources). */
  sources: { server: Address; index: number }[];
  /** Servers not used and why; complete once `plaintext` has ended. */
  rejected(): ServerRejection[];
}

/** Starts retrieving `options.tag`; throws NotFoundError, NotEnoughSharesError or WrongPasswordError. */
export async function get(client: Client, options: GetOptions): Promise<Retrieval> {
  const online = await client.servers();
  const view = await viewTag(client, online, options.tag);
  if (view.objects.length === 0) {
    const unanswered = view.failed.length ? ` (${view.failed.length} did not answer)` : "";
    throw new NotFoundError(
      `tag ${
        JSON.stringify(options.tag)
      } not found on any of ${online.length} servers${unanswered}`,
    );
  }
  const object = view.objects.find((o) => o.holders.length >= o.header.k);
  if (object === undefined) {
    const newest = view.objects[0];
    const names = newest.holders.map((h) => h.server).join(", ");
    throw new NotEnoughSharesError(newest.header.k, newest.holders.length, [])
      .withDetail(`servers ${names}`);
  }
  const unlocked = await unlock(object.headerBytes, {
    tag: options.tag,
    password: options.password,
    maxLogN: options.maxLogN,
    onKdfProgress: options.onKdfProgress,
  });
  const rejected: ServerRejection[] = view.failed.map((f) => ({
    server: f.server,
    reason: f.error,
  }));
  const sources: (ShareSource & { server: Address })[] = [];
  let forbidden = 0;
  await Promise.all(object.holders.map(async ({ server, index }) => {
    try {
      const reply = await client.request(server, "get-begin", {
        tag: options.tag,
        objectId: object.header.objectId,
        token: unlocked.keys.retrievalToken,
      });
      const id = stringField(reply, "download", 16);
      const size = uintField(reply, "size");
      sources.push({
        server,
        index: uintField(reply, "index", 255),
        header: object.headerBytes,
        manifest: bytesField(reply, "manifest", undefined, 16384).slice(),
        shares: client.download(server, id, size),
      });
    } catch (error) {
      if (error instanceof RemoteError && error.code === "forbidden") forbidden++;
      rejected.push({ server, index, reason: (error as Error).message });
    }
  }));
  if (forbidden > 0 && sources.length < object.header.k) {
    await Promise.all(sources.map((s) => s.shares.cancel()));
    throw new WrongPasswordError();
  }
  sources.sort((a, b) => a.index - b.index);
  const serverOf = new Map(sources.map((s) => [s.index, s.server]));
  const toServer = (r: Rejection): ServerRejection => ({
    server: serverOf.get(r.index) ?? "server:unknown" as Address,
    index: r.index,
    reason: r.detail,
  });
  try {
    const opened = await openUnlocked(unlocked, sources);
    return {
      header: opened.header,
      plaintext: opened.plaintext,
      sources: sources.map(({ server, index }) => ({ server, index })),
      rejected: () => [...rejected, ...opened.rejections.map(toServer)],
    };
  } catch (error) {
    await Promise.all(sources.map((s) => s.shares.locked ? undefined : s.shares.cancel()));
    if (error instanceof NotEnoughSharesError) {
      throw error.withDetail(
        [...rejected, ...error.rejections.map(toServer)].map((r) => `${r.server}: ${r.reason}`)
          .join("; "),
      );
    }
    throw error;
  }
}
