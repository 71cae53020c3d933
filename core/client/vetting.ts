/**
 * Which objects of a tag a client may act on. A header is only a claim: any
 * server, and anyone who can publish on Redis, can answer `head` with a
 * forged one, with its own salt, a cheap work factor and k = 1. Deriving keys
 * from such a header and signing an access proof with them would hand the
 * forger an offline password-guessing oracle far cheaper than the real
 * object's. So a header leads to a key derivation, a signature or an
 * allocation only when it is **vouched for**:
 *
 * - at least k trusted servers return it byte for byte (its own k);
 * - its k is at least 2, unless the user says the object was stored with `-k 1`;
 *   even then a k = 1 header needs two servers when the tag has other objects;
 * - its work factor is within the client's floor and cap.
 *
 * The cheapest password test anyone can then obtain is scrypt at the real
 * object's work factor and salt. Objects are ordered by tag version, which
 * no clock takes part in (a new object takes the highest version seen + 1).
 *
 * @module
 */

import { KdfLimitError, NotEnoughSharesError, UsageError } from "../errors.ts";
import { MAX_TAG_VERSION } from "../header.ts";
import { DEFAULT_MAX_LOG_N, DEFAULT_MIN_LOG_N } from "../keys.ts";
import { displayName } from "../net/envelope.ts";
import type { ObjectView, TagView } from "./heads.ts";

/** What a client accepts from a header before it acts on it. */
export interface HeaderPolicy {
  /** Lowest scrypt work factor (log2 N); default {@linkcode DEFAULT_MIN_LOG_N}. */
  minLogN?: number;
  /** Highest scrypt work factor (log2 N); default {@linkcode DEFAULT_MAX_LOG_N}. */
  maxLogN?: number;
  /** The user stored the object with `-k 1`: a header claiming k = 1 is acceptable. */
  allowSingleShare?: boolean;
}

/** An object not acted on, and why. */
export interface Doubted {
  readonly object: ObjectView;
  /** Why, for people. */
  readonly reason: string;
  /** What to throw when this is the best the servers have. */
  readonly error: Error;
}

/** The objects of a tag split into those vouched for (newest first) and the others. */
export interface Vetted {
  readonly vouched: ObjectView[];
  readonly doubted: Doubted[];
}

/** Splits `view.objects` (from trusted servers only) by {@linkcode HeaderPolicy}. */
export function vet(view: TagView, policy: HeaderPolicy = {}): Vetted {
  const minLogN = policy.minLogN ?? DEFAULT_MIN_LOG_N;
  const maxLogN = policy.maxLogN ?? DEFAULT_MAX_LOG_N;
  const vouched: ObjectView[] = [];
  const doubted: Doubted[] = [];
  for (const object of view.objects) {
    const { k, kdf } = object.header;
    const holders = object.holders.length;
    const names = object.holders.map((h) => displayName(h.server)).join(", ");
    if (holders < k) {
      doubted.push({
        object,
        reason: `held by ${holders} of the ${k} trusted servers needed`,
        error: new NotEnoughSharesError(k, holders, []).withDetail(`servers ${names}`),
      });
    } else if (k === 1 && policy.allowSingleShare && holders < 2 && view.objects.length > 1) {
      // -k 1 lets one server vouch for a k = 1 object, but not against other objects of
      // the tag: any trusted server could claim one, with its own salt, to get a proof.
      doubted.push({
        object,
        reason: "claims k = 1 on a single server, beside other objects of the tag",
        error: new NotEnoughSharesError(2, 1, []).withDetail(
          `server ${names} alone claims a k = 1 object while other objects of the tag exist; ` +
            `with -k 1 such a claim needs a second server`,
        ),
      });
    } else if (k === 1 && !policy.allowSingleShare) {
      doubted.push({
        object,
        reason: "claims k = 1, which was not asked for",
        error: new UsageError(
          `the servers (${names}) hold only an object that claims k = 1: if you stored it with ` +
            `-k 1, run the command again with -k 1`,
        ),
      });
    } else if (kdf.logN < minLogN || kdf.logN > maxLogN) {
      doubted.push({
        object,
        reason: `asks for scrypt logN ${kdf.logN}, outside ${minLogN}..${maxLogN}`,
        error: new KdfLimitError(kdf.logN, maxLogN, minLogN),
      });
    } else {
      vouched.push(object);
    }
  }
  return { vouched, doubted };
}

/**
 * The error that says why nothing of a tag can be used: that of the newest
 * object held by enough servers, else that of the newest object.
 */
export function noVouchedObject(vetted: Vetted): Error {
  const held = vetted.doubted.find((d) => !(d.error instanceof NotEnoughSharesError));
  return (held ?? vetted.doubted[0]).error;
}

/**
 * The version a new object of the tag takes: one more than the highest any
 * trusted server reports, so it sorts above every object of the tag, also
 * those whose holders are away, and above every deletion record. Should a
 * lying server report a version near the top of the range, only versions
 * vouched for (and records believed) count.
 */
export function nextVersion(view: TagView, vetted: Vetted): number {
  const highest = (objects: ObjectView[]) =>
    Math.max(0, ...objects.map((object) => object.header.version));
  // Servers refuse a commit at or below the version of a deletion record they keep.
  const deleted = view.deletions?.reportedVersion ?? 0;
  const next = Math.max(highest(view.objects), highest(view.deleted ?? []), deleted) + 1;
  if (next <= MAX_TAG_VERSION) return next;
  const believed = Math.max(highest(vetted.vouched), view.deletions?.version ?? 0);
  return Math.min(believed + 1, MAX_TAG_VERSION);
}
