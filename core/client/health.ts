/**
 * `check` and `check --verify`: how much redundancy a tag has left.
 *
 * `check` needs no password: it counts, for the newest object the trusted
 * servers vouch for (`vetting.ts`), the share indices that online servers
 * hold and that their scrub has not found damaged. `verify` downloads every
 * holder's share and checks its key share and every frame against the
 * manifest (the password derives the keys), writing no plaintext anywhere.
 *
 * - `healthy`: all n shares are held and sound;
 * - `degraded`: at least k are, but fewer than n;
 * - `lost`: fewer than k.
 *
 * @module
 */

import { toHex } from "../bytes.ts";
import type { RejectionReason } from "../errors.ts";
import type { Address } from "../net/envelope.ts";
import { listTags } from "./catalog.ts";
import { type ObjectView, type TagView, viewTag } from "./heads.ts";
import { retrieveObject, type WorkersOption } from "./retrieve.ts";
import type { Client } from "./session.ts";
import { type HeaderPolicy, vet } from "./vetting.ts";

/** How much of an object survives. */
export type Health = "healthy" | "degraded" | "lost";

/** One server's share of the object checked. */
export interface ShareState {
  server: Address;
  index: number;
  /**
   * `good`; `damaged` (its server's scrub says so); `bad` (verify found it
   * corrupt: `detail` and `segment` say where); `unverified` (verify could not
   * read it to the end: the server failed or was slow, not the data).
   */
  state: "good" | "damaged" | "bad" | "unverified";
  detail?: string;
  segment?: number;
}

/** The health of one tag. */
export interface TagHealth {
  tag: string;
  status: Health;
  /** The object judged (the newest vouched for), when there is one. */
  objectId?: string;
  version?: number;
  k?: number;
  n?: number;
  size?: number;
  /** Distinct share indices held and sound. */
  good: number;
  shares: ShareState[];
  /** Indices of 1..n that no server online holds. */
  missing: number[];
  /** Why the tag is lost, when no object could be judged (not found, not vouched for). */
  note?: string;
}

/** The result of checking some tags. */
export interface CheckReport {
  tags: TagHealth[];
  /** Trusted servers that did not answer (they may hold shares). */
  silent: { server: Address; error: string }[];
  /** Trusted server ids with nobody subscribed (offline). */
  offline: string[];
}

/** Options of {@linkcode checkTags}. */
export interface CheckOptions extends HeaderPolicy {
  /** The tags; every tag the trusted servers list when absent or empty. */
  tags?: string[];
}

/** Rejection reasons that mean the share itself is corrupt (not the server slow or gone). */
export const CORRUPT_REASONS: ReadonlySet<RejectionReason> = new Set<RejectionReason>([
  "manifest-invalid",
  "key-share-invalid",
  "fragment-invalid",
  "fragment-out-of-order",
  "truncated",
  "trailing-data",
  "header-mismatch",
]);

/** Checks each tag without a password. */
export async function checkTags(client: Client, options: CheckOptions): Promise<CheckReport> {
  const online = await client.trustedServers();
  const tags = options.tags?.length
    ? options.tags
    : (await listTags(client, options)).tags.map((entry) => entry.tag);
  const silent = new Map<Address, string>();
  const results = await mapLimited(tags, 8, async (tag) => {
    const view = await viewTag(client, online, tag);
    for (const { server, error } of view.failed) silent.set(server, error);
    return healthOf(tag, view, options, online.length);
  });
  const { offline } = await client.membership();
  return {
    tags: results,
    silent: [...silent].map(([server, error]) => ({ server, error })),
    offline,
  };
}

/** The object of `view` that check, verify and repair judge, or why there is none. */
export function judgedObject(
  tag: string,
  view: TagView,
  policy: HeaderPolicy,
  servers: number,
): { object?: ObjectView; vouched: boolean; note?: string } {
  if (view.objects.length === 0) {
    const deleted = (view.deletions?.accepted.length ?? 0) > 0 ? " (it was removed)" : "";
    return {
      vouched: false,
      note: `tag ${JSON.stringify(tag)} not found on any of ${servers} trusted servers${deleted}`,
    };
  }
  const vetted = vet(view, policy);
  if (vetted.vouched.length > 0) return { object: vetted.vouched[0], vouched: true };
  const doubted = vetted.doubted[0];
  return { object: doubted.object, vouched: false, note: doubted.reason };
}

/** The health of `tag` from what the servers answered to `head`. */
export function healthOf(
  tag: string,
  view: TagView,
  policy: HeaderPolicy,
  servers: number,
): TagHealth {
  const { object, vouched, note } = judgedObject(tag, view, policy, servers);
  if (object === undefined) return { tag, status: "lost", good: 0, shares: [], missing: [], note };
  const shares: ShareState[] = object.holders.map(({ server, index, damaged }) => ({
    server,
    index,
    state: damaged ? "damaged" : "good",
    ...(damaged ? { detail: "its server's scrub found the share damaged" } : {}),
  }));
  return summarize(tag, object, shares, vouched ? undefined : note);
}

/** Status and counts of `object` given the state of each share. */
export function summarize(
  tag: string,
  object: ObjectView,
  shares: ShareState[],
  note?: string,
): TagHealth {
  const { k, n, objectId, version, size } = object.header;
  const held = new Set(shares.filter((s) => s.index <= n).map((s) => s.index));
  const good = new Set(shares.filter((s) => s.state === "good" && s.index <= n).map((s) => s.index))
    .size;
  const missing = Array.from({ length: n }, (_, i) => i + 1).filter((i) => !held.has(i));
  const status: Health = note !== undefined || good < k
    ? "lost"
    : good === n
    ? "healthy"
    : "degraded";
  return {
    tag,
    status,
    objectId: toHex(objectId),
    version,
    k,
    n,
    size,
    good,
    shares: shares.sort((a, b) => a.index - b.index),
    missing,
    note,
  };
}

/** Options of {@linkcode verifyTag}. */
export interface VerifyOptions extends HeaderPolicy, WorkersOption {
  tag: string;
  password: string;
  /** Master keys derived so far (several tags may share a salt only by chance; kept for symmetry). */
  masterKeys?: Map<string, Promise<Uint8Array>>;
  onKdfProgress?: (fraction: number) => void;
  /** How long a share may lag the others before it is given up. */
  stallMs?: number;
}

/**
 * Downloads every share of the tag's newest vouched object and checks each
 * key share and frame; writes nothing. Throws WrongPasswordError when the
 * password does not open it.
 */
export async function verifyTag(client: Client, options: VerifyOptions): Promise<TagHealth> {
  const online = await client.trustedServers();
  const view = await viewTag(client, online, options.tag);
  const judged = judgedObject(options.tag, view, options, online.length);
  if (!judged.vouched || judged.object === undefined) {
    return healthOf(options.tag, view, options, online.length);
  }
  const object = judged.object;
  const retrieval = await retrieveObject(client, object, { ...options, readAll: true });
  let failure: string | undefined;
  try {
    await retrieval.plaintext.pipeTo(new WritableStream());
  } catch (error) {
    failure = (error as Error).message;
  }
  const shares = statesAfterReading(object, retrieval.rejected());
  const health = summarize(options.tag, object, shares);
  return failure === undefined || health.status === "lost"
    ? health
    : { ...health, status: "lost", note: failure };
}

/** Each holder's state after a full read, from the servers the read rejected. */
export function statesAfterReading(
  object: ObjectView,
  rejected: { server: Address; index?: number; reason: string; code?: string; segment?: number }[],
): ShareState[] {
  return object.holders.map(({ server, index }) => {
    const rejection = rejected.find((r) => r.server === server && r.index === index);
    if (rejection === undefined) return { server, index, state: "good" };
    const corrupt = rejection.code !== undefined &&
      CORRUPT_REASONS.has(rejection.code as RejectionReason);
    return {
      server,
      index,
      state: corrupt ? "bad" : "unverified",
      detail: rejection.reason,
      segment: rejection.segment,
    };
  });
}

/** `task` over `items`, at most `limit` at a time, results in order. */
async function mapLimited<T, R>(
  items: readonly T[],
  limit: number,
  task: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await task(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
