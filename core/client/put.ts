/**
 * `put`: seal a stream and store share i on the i-th chosen server, each
 * upload with flow control; commit on every server that received its share
 * in full; report full, reduced or failed storage.
 *
 * @module
 */

import { toHex } from "../bytes.ts";
import {
  ExistsError,
  NetworkUnavailableError,
  NotStoredError,
  UsageError,
  WrongPasswordError,
} from "../errors.ts";
import { type Address, displayName } from "../net/envelope.ts";
import { RemoteError } from "../net/host.ts";
import { seal } from "../seal.ts";
import { unlock } from "../unlock.ts";
import { type AccessKeys, accessKeys } from "../access.ts";
import { encodeTag } from "../tag.ts";
import { viewTag } from "./heads.ts";
import { type Client, type PasswordInput, resolvePassword } from "./session.ts";
import { stringField } from "../net/fields.ts";

/** What `put` needs. */
export interface PutOptions {
  tag: string;
  password: PasswordInput;
  /** Shares needed; default ⌊n/2⌋ + 1. */
  k?: number;
  /** Shares made; default every online server. */
  n?: number;
  /** Replace an existing object (its password must be the one given). */
  force?: boolean;
  /** scrypt work factor for the new object. */
  logN?: number;
  /** Highest work factor accepted when unlocking the object being replaced. */
  maxLogN?: number;
  /** Needed for k = 1. */
  allowSingleShare?: boolean;
  /** scrypt progress, 0..1. */
  onKdfProgress?: (fraction: number) => void;
  /** Called as servers confirm durable storage: how many so far, of n. */
  onStored?: (stored: number, n: number) => void;
}

/** How one server fared. */
export interface ServerOutcome {
  server: Address;
  index: number;
  stored: boolean;
  error?: string;
}

/** The result of a put that stored at least k shares. */
export interface PutResult {
  tag: string;
  objectId: string;
  size: number;
  k: number;
  n: number;
  /** `stored`: every server; `reduced`: at least k but not all. */
  status: "stored" | "reduced";
  servers: ServerOutcome[];
}

/** Seals `input` and stores it under `options.tag` on the online servers. */
export async function put(
  client: Client,
  input: ReadableStream<Uint8Array>,
  options: PutOptions,
): Promise<PutResult> {
  encodeTag(options.tag);
  const online = await client.servers();
  if (options.k !== undefined && options.k > online.length) {
    throw new NetworkUnavailableError(
      `k=${options.k} needs at least ${options.k} servers but only ${online.length} are online`,
    );
  }
  const n = options.n ?? online.length;
  if (n > online.length) {
    throw new NetworkUnavailableError(
      `asked for n=${n} but only ${online.length} servers are online`,
    );
  }
  const k = options.k ?? Math.floor(n / 2) + 1;
  if (k > n) throw new UsageError(`k=${k} is more than n=${n}`);
  const view = await viewTag(client, online, options.tag);
  // Servers that answered come first; one online but silent (hung) still
  // takes its place among the n and counts as a server that did not store.
  const silent = new Map(view.failed.map((f) => [f.server, f.error]));
  const chosen = [...online.filter((s) => !silent.has(s)), ...online.filter((s) => silent.has(s))]
    .slice(0, n);
  const answering = chosen.filter((s) => !silent.has(s)).length;
  if (answering < k) {
    const lost = view.failed.map((f) => `${displayName(f.server)} (${f.error})`).join(", ");
    throw new NetworkUnavailableError(
      `k=${k} servers are needed but only ${answering} answered; ${lost}`,
    );
  }
  const holders = [...new Set(view.objects.flatMap((o) => o.newestOn))];
  if (holders.length > 0 && !options.force) {
    throw new ExistsError(
      `tag ${
        JSON.stringify(options.tag)
      } exists on ${holders.length} servers; use --force (with its password) to replace it`,
    );
  }
  const password = await resolvePassword(options.password);
  // The access key of the object each chosen server holds as newest proves we may replace it.
  const replaceKeys = new Map<Address, { keys: AccessKeys; objectId: Uint8Array }>();
  const masterKeys = new Map<string, Promise<Uint8Array>>();
  for (const object of view.objects.filter((o) => o.newestOn.length > 0)) {
    const unlocked = await unlock(object.headerBytes, {
      tag: options.tag,
      password,
      maxLogN: options.maxLogN,
      masterKeys,
    });
    const keys = await accessKeys(unlocked.keys.retrievalToken);
    for (const server of object.newestOn) {
      replaceKeys.set(server, { keys, objectId: object.header.objectId });
    }
  }

  const sealed = await seal(input, {
    tag: options.tag,
    password,
    k,
    n,
    logN: options.logN,
    allowSingleShare: options.allowSingleShare,
    onKdfProgress: options.onKdfProgress,
  });
  const access = await accessKeys(sealed.retrievalToken);
  const outcomes: ServerOutcome[] = chosen.map((server, i) => ({
    server,
    index: i + 1,
    stored: false,
  }));
  const uploads = await Promise.all(chosen.map(async (server, i) => {
    if (silent.has(server)) {
      outcomes[i].error = `did not answer: ${silent.get(server)}`;
      await sealed.shares[i].cancel();
      return undefined;
    }
    try {
      const replace = replaceKeys.get(server);
      const reply = await client.request(server, "put-begin", {
        tag: options.tag,
        objectId: sealed.objectId,
        index: i + 1,
        accessKey: access.publicKey,
        ...(replace === undefined
          ? {}
          : await client.prove(server, replace.keys, "replace", replace.objectId, options.tag)),
      });
      return stringField(reply, "upload", 16);
    } catch (error) {
      outcomes[i].error = describe(error);
      await sealed.shares[i].cancel();
      return undefined;
    }
  }));
  const begun = uploads.filter((u) => u !== undefined).length;
  if (outcomes.some((o) => o.error?.startsWith("forbidden"))) {
    // A server holding the tag refused our token: the password is not the tag's.
    await abortAll(client, chosen, uploads, sealed.shares);
    throw new WrongPasswordError();
  }
  if (begun < k) {
    await abortAll(client, chosen, uploads, sealed.shares);
    throw failure(outcomes, k, "accepted the upload");
  }

  const pumps = chosen.map(async (server, i) => {
    const id = uploads[i];
    if (id === undefined) return 0;
    const sender = client.uploadSender(server, id);
    const reader = sealed.shares[i].getReader();
    try {
      while (true) {
        const { value, done } = await reader.read();
        if (done) break;
        await sender.push(value);
      }
      await sender.drain();
      return sender.sent;
    } catch (error) {
      outcomes[i].error = describe(error);
      await reader.cancel().catch(() => {});
      uploads[i] = undefined;
      client.host.send(server, "put-abort", { upload: id });
      return 0;
    } finally {
      client.releaseUpload(id);
    }
  });
  let result;
  try {
    result = await sealed.done;
  } catch (error) {
    await abortAll(client, chosen, uploads, []);
    // Every upload failed, which cancels every share stream and so the sealer: say why
    // each server failed rather than "all share streams cancelled". (A failing input,
    // Ctrl-C included, fails the sealer with its own error, passed on as it is.)
    const cancelled = error instanceof DOMException && error.name === "AbortError";
    if (cancelled && outcomes.every((o) => o.error !== undefined)) {
      throw failure(outcomes, k, "received their share");
    }
    throw error;
  }
  const chunks = await Promise.all(pumps);
  if (uploads.filter((u) => u !== undefined).length < k) {
    // Committing fewer than k shares would leave a visible object nobody can rebuild.
    await abortAll(client, chosen, uploads, []);
    throw failure(outcomes, k, "received their share");
  }
  await Promise.all(chosen.map(async (server, i) => {
    const id = uploads[i];
    if (id === undefined) return;
    try {
      await client.request(server, "put-commit", {
        upload: id,
        chunks: chunks[i],
        header: result.headerBytes,
        manifest: result.manifest,
      });
      outcomes[i].stored = true;
      options.onStored?.(outcomes.filter((o) => o.stored).length, n);
    } catch (error) {
      outcomes[i].error = describe(error);
    }
  }));
  const stored = outcomes.filter((o) => o.stored);
  if (stored.length < k) throw failure(outcomes, k, "stored their share");
  // The new object is recoverable: drop the older ones kept as a fallback.
  await Promise.allSettled(stored.map(async (o) =>
    client.request(o.server, "prune", {
      tag: options.tag,
      objectId: sealed.objectId,
      ...await client.prove(o.server, access, "prune", sealed.objectId, options.tag),
    })
  ));
  return {
    tag: options.tag,
    objectId: toHex(sealed.objectId),
    size: result.header.size,
    k,
    n,
    status: stored.length === n ? "stored" : "reduced",
    servers: outcomes,
  };
}

function describe(error: unknown): string {
  if (error instanceof RemoteError) return `${error.code}: ${error.message}`;
  return error instanceof Error ? error.message : String(error);
}

function failure(outcomes: ServerOutcome[], k: number, what: string): Error {
  const failed = outcomes.filter((o) => !o.stored && o.error !== undefined);
  if (failed.length > 0 && failed.every((o) => o.error!.startsWith("forbidden"))) {
    return new WrongPasswordError();
  }
  if (failed.some((o) => o.error!.startsWith("exists"))) {
    return new ExistsError(
      "the tag was created by someone else meanwhile; use --force to replace it",
    );
  }
  const good = outcomes.length - failed.length;
  const reasons = failed.map((o) => `${displayName(o.server)}: ${o.error}`).join("; ");
  return new NotStoredError(
    `only ${good} of the ${k} servers needed ${what}; nothing new is recoverable (${reasons})`,
  );
}

async function abortAll(
  client: Client,
  servers: Address[],
  uploads: (string | undefined)[],
  shares: ReadableStream<Uint8Array>[],
): Promise<void> {
  await Promise.allSettled([
    ...servers.map((server, i) =>
      uploads[i] === undefined
        ? undefined
        : client.host.send(server, "put-abort", { upload: uploads[i] })
    ),
    ...shares.map((s) => s.locked ? undefined : s.cancel()),
  ]);
}
