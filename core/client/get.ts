/**
 * `get`: find the newest object of a tag that the trusted servers vouch for
 * (`vetting.ts`: at least k of them hold it, its k and work factor are
 * acceptable) and retrieve it (`retrieve.ts`). When it does not open, older
 * vouched objects are tried. Servers that answered but hold no share of the
 * object retrieved are named too.
 *
 * @module
 */

import { NotEnoughSharesError, NotFoundError, WrongPasswordError } from "../errors.ts";
import { newestFirst, type ObjectView, type TagView, viewTag } from "./heads.ts";
import { type HeaderPolicy, noVouchedObject, vet } from "./vetting.ts";
import { encodeTag } from "../tag.ts";
import { type Client, type PasswordInput, resolvePassword } from "./session.ts";
import {
  type Retrieval,
  retrieveObject,
  type ServerRejection,
  type WorkersOption,
} from "./retrieve.ts";
import { explainShortage, type ShareWhereabouts } from "./shortage.ts";
import type { Address } from "../net/envelope.ts";

export { DOWNLOAD_BUDGET, type Retrieval, type ServerRejection } from "./retrieve.ts";

/** Objects tried at most, newest first (each with a new salt costs one scrypt). */
export const MAX_CANDIDATES = 3;

/** What `get` needs. */
export interface GetOptions extends HeaderPolicy, WorkersOption {
  tag: string;
  password: PasswordInput;
  /** scrypt progress, 0..1. */
  onKdfProgress?: (fraction: number) => void;
  /** How long a share may lag the others before it is given up; default: the client's transfer timeout. */
  stallMs?: number;
}

/**
 * Starts retrieving `options.tag`; throws NotFoundError, NotEnoughSharesError
 * (naming the servers behind the shares it could not use, and saying to run
 * `check`) or WrongPasswordError.
 */
export async function get(client: Client, options: GetOptions): Promise<Retrieval> {
  encodeTag(options.tag);
  const servers = await client.trustedServers();
  const view = await viewTag(client, servers, options.tag);
  if (view.objects.length === 0) {
    const unanswered = view.failed.length ? ` (${view.failed.length} did not answer)` : "";
    const removed = (view.deletions?.accepted.length ?? 0) > 0 ? "; it was removed (rm)" : "";
    throw new NotFoundError(
      `tag ${
        JSON.stringify(options.tag)
      } not found on any of ${servers.length} trusted servers${unanswered}${removed}`,
    );
  }
  const vetted = vet(view, options);
  const candidates = vetted.vouched.slice(0, MAX_CANDIDATES);
  const online = new Set<Address>(servers);
  const whereabouts = (object: ObjectView, rejected: ServerRejection[]): ShareWhereabouts => ({
    tag: options.tag,
    object,
    rejected,
    silent: view.failed,
    offline: [...client.trusted.ids].filter((id) => !online.has(`server:${id}`)).sort(),
  });
  if (candidates.length === 0) {
    const error = noVouchedObject(vetted);
    if (!(error instanceof NotEnoughSharesError)) throw error;
    // Held by fewer than k trusted servers that answered: the newest such object.
    throw explainShortage(error, whereabouts(vetted.doubted[0].object, []));
  }
  const password = await resolvePassword(options.password);
  const masterKeys = new Map<string, Promise<Uint8Array>>();
  const unopened: ServerRejection[] = [];
  let failure: unknown;
  for (const object of candidates) {
    try {
      const retrieval = await retrieveObject(client, object, {
        ...options,
        password,
        masterKeys,
        stallMs: options.stallMs ?? client.timeouts.transferIdleMs,
        restate: (error, rejected) => explainShortage(error, whereabouts(object, rejected)),
      });
      const before = [
        ...view.failed.map((f) => ({ server: f.server, reason: f.error })),
        ...unopened,
      ];
      const absent = absentServers(view, object, before);
      return {
        ...retrieval,
        rejected: () => [...before, ...absent, ...retrieval.rejected()],
      };
    } catch (error) {
      if (!(error instanceof WrongPasswordError || error instanceof NotEnoughSharesError)) {
        throw error;
      }
      // Not enough shares says more than a wrong password when both happen; of two wrong
      // passwords, the one with the fewest tries left (each object tried spent one).
      if (!(failure instanceof NotEnoughSharesError) && !fewerTries(failure, error)) {
        failure = error;
      }
      for (const { server, index } of object.holders) {
        unopened.push({
          server,
          index,
          reason: `claims an object that does not open: ${error.message}`,
        });
      }
    }
  }
  throw failure;
}

/** Whether `kept` and `other` are wrong passwords and `kept` says as few tries left or fewer. */
function fewerTries(kept: unknown, other: unknown): boolean {
  return kept instanceof WrongPasswordError && other instanceof WrongPasswordError &&
    kept.triesLeft !== undefined && kept.triesLeft <= (other.triesLeft ?? Infinity);
}

/**
 * Servers that answered `head` but hold no share of `object` (and are not
 * named in `named` already), each with what it holds instead.
 */
function absentServers(
  view: TagView,
  object: ObjectView,
  named: ServerRejection[],
): ServerRejection[] {
  const skip = new Set([...object.holders.map((h) => h.server), ...named.map((r) => r.server)]);
  const held = new Set(object.holders.map((h) => h.index));
  const missing = Array.from({ length: object.header.n }, (_, i) => i + 1)
    .filter((index) => !held.has(index));
  const absent: ServerRejection[] = [];
  for (const server of view.answered) {
    if (skip.has(server)) continue;
    const invalid = view.invalid.find((f) => f.server === server);
    const others = view.objects.filter((o) =>
      o !== object && o.holders.some((h) => h.server === server)
    );
    if (invalid !== undefined) absent.push({ server, reason: invalid.error });
    else if (others.some((o) => newestFirst(o, object) < 0)) {
      absent.push({ server, reason: "claims a newer object that the others do not vouch for" });
    } else if (others.length > 0) {
      absent.push({ server, reason: "holds only an older object of the tag" });
    } else if (missing.length > 0) {
      // Only while some share is missing: a server added after the put holds none either.
      absent.push({ server, reason: `holds no share (indices ${missing.join(", ")} missing)` });
    }
  }
  return absent;
}
