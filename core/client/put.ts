/**
 * `put`: plan (`put_plan.ts`: trusted servers, n and k, replace proofs, tag
 * version), seal a stream and store share i on the i-th chosen server, each
 * upload with flow control; commit on every server that received its share
 * in full; withdraw the commits when fewer than k succeeded; report full,
 * reduced or failed storage.
 *
 * @module
 */

import { toHex } from "../bytes.ts";
import { ExistsError, NotStoredError, WrongPasswordError } from "../errors.ts";
import { type Address, displayName } from "../net/envelope.ts";
import { RemoteError } from "../net/host.ts";
import { seal, type SealInput } from "../seal.ts";
import { type AccessKeys, accessKeys } from "../access.ts";
import { encodeTag } from "../tag.ts";
import { viewTag } from "./heads.ts";
import type { Client, ProofFor } from "./session.ts";
import { stringField } from "../net/fields.ts";
import { type PlanOptions, planPut, type PutPlan, sameHolding } from "./put_plan.ts";
import { release } from "../memory.ts";
import { uploadChunks } from "./upload_chunks.ts";

/**
 * What `put` needs. `k` and `n` count trusted servers: n defaults to every
 * trusted server online that answers, k to ⌊n/2⌋ + 1. `minLogN`, `maxLogN`
 * and `allowSingleShare` bound the objects being replaced (`vetting.ts`);
 * `allowSingleShare` also allows k = 1 for the new one.
 */
export interface PutOptions extends PlanOptions {
  /** scrypt work factor for the new object. */
  logN?: number;
  /** Web Workers sealing segments (0 = on the calling thread); default one per core (seal.ts). */
  workers?: number;
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
  /** The new object's tag version. */
  version: number;
  /**
   * `stored`: on all n servers; `reduced`: on at least k but not all, or a
   * trusted server online did not answer and holds no share (`skipped`).
   */
  status: "stored" | "reduced";
  servers: ServerOutcome[];
  /** Trusted servers online that did not answer, so are not among the n. */
  skipped: { server: Address; error: string }[];
}

/** Seals `input` and stores it under `options.tag` on the trusted servers online. */
export async function put(
  client: Client,
  input: SealInput,
  options: PutOptions,
): Promise<PutResult> {
  encodeTag(options.tag);
  const plan = await planPut(client, options);
  const { k, n, chosen } = plan;
  const sealed = await seal(input, {
    tag: options.tag,
    password: plan.password,
    k,
    n,
    logN: options.logN,
    version: plan.version,
    allowSingleShare: options.allowSingleShare,
    onKdfProgress: options.onKdfProgress,
    workers: options.workers,
  });
  const access = await accessKeys(sealed.retrievalToken);
  const outcomes: ServerOutcome[] = chosen.map((server, i) => ({
    server,
    index: i + 1,
    stored: false,
  }));
  for (const [server, reason] of plan.excluded) {
    const i = chosen.indexOf(server);
    outcomes[i].error = reason;
    await sealed.shares[i].cancel();
  }
  let uploads: (string | undefined)[];
  try {
    uploads = await beginUploads(client, plan, options, sealed.objectId, access, outcomes);
  } catch (error) {
    await Promise.allSettled(sealed.shares.map((s) => s.locked ? undefined : s.cancel()));
    throw error;
  }
  for (const [i, id] of uploads.entries()) {
    if (id === undefined && !plan.excluded.has(chosen[i])) await sealed.shares[i].cancel();
  }
  if (outcomes.some((o) => o.error?.startsWith("forbidden"))) {
    // A server holding the tag refused our token: the password is not the tag's.
    await abortAll(client, chosen, uploads, sealed.shares);
    throw new WrongPasswordError();
  }
  if (uploads.filter((u) => u !== undefined).length < k) {
    await abortAll(client, chosen, uploads, sealed.shares);
    throw failure(outcomes, k, "accepted the upload");
  }

  const pumps = chosen.map(async (server, i) => {
    const id = uploads[i];
    if (id === undefined) return 0;
    // An acknowledged chunk is not sent again: its memory is freed at once, not by a full GC.
    const sender = client.uploadSender(server, id, { onAcked: (chunk) => release(chunk) });
    const reader = sealed.shares[i].getReader();
    try {
      for await (const chunk of uploadChunks(reader)) await sender.push(chunk);
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
  const proof = { keys: access, objectId: sealed.objectId, tag: options.tag };
  if (stored.length < k) {
    // Fewer than k committed: nobody can rebuild the object, and a share left
    // committed would hide the older object or wedge the tag. Take them back.
    const kept = await withdraw(client, stored.map((o) => o.server), proof);
    throw failure(outcomes, k, "stored their share", kept);
  }
  // The new object is recoverable: drop the older ones kept as a fallback. Only a server
  // that held the tag when its upload began (it asked for a proof of replace) can hold
  // one: a begin without a proof needs an empty tag, and its commit one still unchanged.
  await Promise.allSettled(
    stored.filter((o) => plan.replace.has(o.server)).map((o) =>
      client.requestWithProof(o.server, "prune", { tag: options.tag, objectId: sealed.objectId }, {
        ...proof,
        op: "prune",
      })
    ),
  );
  return {
    tag: options.tag,
    objectId: toHex(sealed.objectId),
    size: result.header.size,
    k,
    n,
    version: plan.version,
    status: stored.length === n && plan.skipped.length === 0 ? "stored" : "reduced",
    servers: outcomes,
    skipped: plan.skipped,
  };
}

/** Attempts at beginning the uploads while another put of the tag is in progress somewhere. */
export const BEGIN_ATTEMPTS = 4;

/**
 * Begins share i's upload on `plan.chosen[i]` (servers excluded by the plan
 * get none), recording failures in `outcomes`. Servers take one upload of a
 * tag at a time: when another put of the tag is in progress on any of them
 * (`in-progress`), every upload begun is aborted and, after a random pause,
 * all are tried again, so two puts started together do not split the servers
 * between them; one goes first, and the other then finds the tag stored.
 */
async function beginUploads(
  client: Client,
  plan: PutPlan,
  options: PutOptions,
  objectId: Uint8Array,
  access: AccessKeys,
  outcomes: ServerOutcome[],
): Promise<(string | undefined)[]> {
  for (let attempt = 1;; attempt++) {
    const uploads = await Promise.all(plan.chosen.map(async (server, i) => {
      if (plan.excluded.has(server)) return undefined;
      outcomes[i].error = undefined;
      const body = { tag: options.tag, objectId, index: i + 1, accessKey: access.publicKey };
      const replace = plan.replace.get(server);
      try {
        const reply = replace === undefined
          ? await client.request(server, "put-begin", body)
          : await client.requestWithProof(server, "put-begin", body, {
            ...replace,
            op: "replace",
            tag: options.tag,
          });
        return stringField(reply, "upload", 16);
      } catch (error) {
        outcomes[i].error = describe(error);
        return undefined;
      }
    }));
    const busy = outcomes.filter((o) => o.error?.startsWith("in-progress"));
    if (busy.length === 0) return uploads;
    await abortAll(client, plan.chosen, uploads, []);
    const names = busy.map((o) => displayName(o.server)).join(", ");
    if (attempt === BEGIN_ATTEMPTS) {
      throw new NotStoredError(
        `another put of ${
          JSON.stringify(options.tag)
        } is in progress on ${names}; try again once it has finished`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 250 + Math.random() * 1000));
    const now = await viewTag(client, plan.chosen, options.tag);
    if (!sameHolding(plan.view, now)) {
      if (now.objects.length > 0 && !options.force) {
        throw new ExistsError(
          `tag ${
            JSON.stringify(options.tag)
          } was stored by another put meanwhile; use --force (with its password) to replace it`,
        );
      }
      throw new NotStoredError(
        `tag ${
          JSON.stringify(options.tag)
        } changed while this put was starting (another put of it finished); run it again`,
      );
    }
  }
}

/**
 * Withdraws the object of `proof` from `servers` (each proving access with
 * the object's own key); returns the servers where that failed, with why.
 */
async function withdraw(
  client: Client,
  servers: Address[],
  proof: Omit<ProofFor, "op">,
): Promise<string[]> {
  const kept: string[] = [];
  await Promise.all(servers.map(async (server) => {
    try {
      await client.requestWithProof(server, "withdraw", {
        tag: proof.tag,
        objectId: proof.objectId,
      }, { ...proof, op: "withdraw" });
    } catch (error) {
      kept.push(`${displayName(server)} (${describe(error)})`);
    }
  }));
  return kept;
}

function describe(error: unknown): string {
  if (error instanceof RemoteError) return `${error.code}: ${error.message}`;
  return error instanceof Error ? error.message : String(error);
}

function failure(outcomes: ServerOutcome[], k: number, what: string, kept: string[] = []): Error {
  const failed = outcomes.filter((o) => !o.stored && o.error !== undefined);
  if (failed.length > 0 && failed.every((o) => o.error!.startsWith("forbidden"))) {
    return new WrongPasswordError();
  }
  // Someone stored the tag meanwhile (`exists` at begin, `conflict` at commit).
  if (failed.some((o) => /^(exists|conflict):/.test(o.error!))) {
    return new ExistsError(
      "the tag was stored by another put meanwhile; use --force (with its password) to replace it",
    );
  }
  const good = outcomes.length - failed.length;
  const reasons = failed.map((o) => `${displayName(o.server)}: ${o.error}`).join("; ");
  const remnants = kept.length === 0
    ? ""
    : `; its share could not be withdrawn from ${kept.join(", ")}`;
  return new NotStoredError(
    `only ${good} of the ${k} servers needed ${what}; nothing new is recoverable ` +
      `(${reasons})${remnants}`,
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
