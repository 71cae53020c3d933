/**
 * `rm`: delete a tag from every trusted server that holds it, proving the
 * password with a signed access proof for the object each server holds as
 * newest. Only objects the trusted servers vouch for (`vetting.ts`) are
 * proven to; a server holding anything else is named, not signed for.
 *
 * @module
 */

import { NotEnoughSharesError, NotFoundError } from "../errors.ts";
import { type Address, displayName } from "../net/envelope.ts";
import { RemoteError } from "../net/host.ts";
import { unlock } from "../unlock.ts";
import { accessKeys } from "../access.ts";
import { toHex } from "../bytes.ts";
import { makeDeletionRecord } from "../deletion.ts";
import { type ObjectView, viewTag } from "./heads.ts";
import { type HeaderPolicy, noVouchedObject, vet } from "./vetting.ts";
import { encodeTag } from "../tag.ts";
import { type Client, type PasswordInput, resolvePassword } from "./session.ts";
import { rateLimited, wrongPassword } from "./refusals.ts";
import { checkStep } from "./shortage.ts";

/** Options of {@linkcode removeTag}. */
export interface RemoveOptions extends HeaderPolicy {
  tag: string;
  password: PasswordInput;
  onKdfProgress?: (fraction: number) => void;
}

/** Which servers deleted the tag, and which could not. */
export interface RemoveResult {
  tag: string;
  removed: Address[];
  failed: { server: Address; error: string }[];
  /**
   * Shares of a removed object that no server online held (the trusted
   * servers offline now are named): they are deleted when their server
   * returns and any client looks at the tag, by the deletion record.
   */
  away: { objectId: string; indices: number[]; offline: Address[] }[];
}

/**
 * Deletes `options.tag` everywhere; throws NotFoundError, RateLimitedError or
 * WrongPasswordError (with the fewest tries any server has left).
 */
export async function removeTag(client: Client, options: RemoveOptions): Promise<RemoveResult> {
  encodeTag(options.tag);
  const online = await client.trustedServers();
  const view = await viewTag(client, online, options.tag);
  if (!view.objects.some((o) => o.newestOn.length > 0)) {
    throw new NotFoundError(
      `tag ${JSON.stringify(options.tag)} not found on any of ${online.length} trusted servers`,
    );
  }
  const vetted = vet(view, options);
  const objects = vetted.vouched.filter((o) => o.newestOn.length > 0);
  if (objects.length === 0) {
    const error = noVouchedObject(vetted);
    if (!(error instanceof NotEnoughSharesError)) throw error;
    // Signing for a header fewer than k trusted servers vouch for could hand a forger a
    // cheap password oracle (vetting.ts); such a remnant cannot be retrieved either.
    const names = [...new Set(view.objects.flatMap((o) => o.holders))].map((h) =>
      displayName(h.server)
    );
    throw error.withDetail(
      `servers ${names.join(", ")}; fewer than k trusted servers vouch for it, so rm cannot ` +
        `prove it is yours`,
      checkStep(options.tag),
    );
  }
  const password = await resolvePassword(options.password);
  const removed: Address[] = [];
  const failed = [...view.failed];
  for (const { object, reason } of vetted.doubted) {
    for (const server of object.newestOn) {
      failed.push({
        server,
        error: `holds an object of the tag that is not vouched for (${reason})`,
      });
    }
  }
  const forbidden: RemoteError[] = [];
  const limited: RemoteError[] = [];
  const masterKeys = new Map<string, Promise<Uint8Array>>();
  for (const object of objects) {
    const unlocked = await unlock(object.headerBytes, { ...options, password, masterKeys });
    const keys = await accessKeys(unlocked.keys.retrievalToken);
    const { objectId } = object.header;
    // Left with every server it reaches: a holder that is away now gets it passed on later.
    const record = await makeDeletionRecord(object.headerBytes, keys);
    await Promise.all(object.newestOn.map(async (server) => {
      try {
        await client.requestWithProof(server, "rm", { tag: options.tag, record }, {
          keys,
          op: "rm",
          objectId,
          tag: options.tag,
        });
        removed.push(server);
      } catch (error) {
        if (error instanceof RemoteError && error.code === "forbidden") forbidden.push(error);
        if (error instanceof RemoteError && error.code === "rate-limited") limited.push(error);
        failed.push({ server, error: (error as Error).message });
      }
    }));
  }
  if (removed.length === 0 && limited.length > 0) throw rateLimited(limited);
  if (removed.length === 0 && forbidden.length > 0) throw wrongPassword(forbidden);
  return {
    tag: options.tag,
    removed: removed.sort(),
    failed,
    away: removed.length === 0 ? [] : await awayHolders(client, objects),
  };
}

/**
 * The shares of `objects` that no server online holds (their servers are
 * away or lost), with the trusted servers that are offline now: the deletion
 * record reaches those when they return and a client looks at the tag.
 */
async function awayHolders(client: Client, objects: ObjectView[]): Promise<RemoveResult["away"]> {
  const { offline } = await client.membership();
  return objects.flatMap((object) => {
    const held = new Set(object.holders.map((h) => h.index));
    const missing = Array.from({ length: object.header.n }, (_, i) => i + 1)
      .filter((index) => !held.has(index));
    return missing.length === 0 ? [] : [{
      objectId: toHex(object.header.objectId),
      indices: missing,
      offline: offline.map((id) => `server:${id}` as Address),
    }];
  });
}
