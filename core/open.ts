/**
 * Opening: any subset of share sources in, the plaintext stream out, or a
 * typed error that says what was missing or bad and at which index.
 *
 * Order of checks: index → header (grouped; a group needs k members) → tag
 * and work factor → scrypt → manifest MAC → key share commitments → share
 * key check → per-fragment tags while streaming.
 *
 * @module
 */

import { ByteReader } from "./byte_reader.ts";
import { equalBytes, toHex } from "./bytes.ts";
import {
  CorruptObjectError,
  KdfLimitError,
  NotEnoughSharesError,
  type Rejection,
  WrongPasswordError,
  WrongTagError,
} from "./errors.ts";
import { decodeHeader, type ObjectHeader } from "./header.ts";
import { combineKeyShares, KEY_SHARE_LENGTH } from "./key_shares.ts";
import { decodeManifest, keyCheck, shareHash } from "./manifest.ts";
import { errorText, type LiveShare, reassemble } from "./reassemble.ts";
import { importShareKey } from "./share_cipher.ts";
import { deriveObjectKeys } from "./keys.ts";
import { encodeTag } from "./tag.ts";
import { kdfCacheKey, unlock, type UnlockedObject, type UnlockOptions } from "./unlock.ts";

/** What one holder of a share index hands over. */
export interface ShareSource {
  /** The share index it claims to hold, 1-based. */
  readonly index: number;
  /** Its copy of the public header. */
  readonly header: Uint8Array;
  /** Its copy of the manifest. */
  readonly manifest: Uint8Array;
  /** Its share stream: key share, then one fragment frame per segment. */
  readonly shares: ReadableStream<Uint8Array>;
}

/** Options of {@linkcode open}. */
export interface OpenOptions extends UnlockOptions {
  /** How many distinct headers to try at most (each new salt costs one scrypt); default 3. */
  maxCandidates?: number;
}

/** An object being opened. */
export interface OpenedObject {
  /** The verified header. */
  readonly header: ObjectHeader;
  /** The plaintext; it errors with a typed error if too few shares survive to the end. */
  readonly plaintext: ReadableStream<Uint8Array>;
  /** Indices not used and why; complete once `plaintext` has closed. */
  readonly rejections: Rejection[];
}

interface HeaderGroup {
  readonly bytes: Uint8Array;
  readonly header?: ObjectHeader;
  readonly members: ShareSource[];
}

/** Opens the newest object that `sources` hold k intact shares of. */
export async function open(
  sources: readonly ShareSource[],
  options: OpenOptions,
): Promise<OpenedObject> {
  const rejections: Rejection[] = [];
  const reject = (source: ShareSource, reason: Rejection["reason"], detail: string) =>
    rejections.push({ index: source.index, reason, detail });
  const groups = new Map<string, HeaderGroup>();
  const seen = new Set<number>();
  for (const source of sources) {
    if (!Number.isInteger(source.index) || source.index < 1 || source.index > 255) {
      reject(source, "index-out-of-range", `index ${source.index} is not in 1..255`);
    } else if (seen.has(source.index)) {
      reject(source, "duplicate-index", `index ${source.index} given twice`);
    } else {
      seen.add(source.index);
      const key = toHex(source.header);
      if (!groups.has(key)) {
        groups.set(key, { bytes: source.header, ...parse(source.header), members: [] });
      }
      groups.get(key)!.members.push(source);
    }
  }
  for (const group of groups.values()) {
    if (group.header === undefined) {
      for (const source of group.members) reject(source, "header-invalid", "header does not parse");
    } else {
      const { n } = group.header;
      for (const source of group.members.filter((s) => s.index > n)) {
        reject(source, "index-out-of-range", `index ${source.index} above n=${n}`);
      }
      group.members.splice(0, group.members.length, ...group.members.filter((s) => s.index <= n));
    }
  }
  const valid = [...groups.values()].filter((g) => g.header !== undefined)
    .sort((a, b) => b.members.length - a.members.length || b.header!.created - a.header!.created);
  const mismatched = (chosen: HeaderGroup) =>
    valid.filter((g) => g !== chosen).flatMap((g) =>
      g.members.map((s): Rejection => ({
        index: s.index,
        reason: "header-mismatch",
        detail: "holds a different object",
      }))
    );

  const failures: Error[] = [];
  const masterKeys = options.masterKeys ?? new Map();
  const budget = options.maxCandidates ?? 3;
  const tried = new Set<HeaderGroup>();
  for (const group of valid.filter((g) => g.members.length >= g.header!.k)) {
    if (tried.size >= budget) break;
    if (group.header!.tag !== options.tag) {
      failures.push(new WrongTagError(options.tag, group.header!.tag));
      continue;
    }
    tried.add(group);
    try {
      const unlocked = await unlock(group.bytes, { ...options, masterKeys });
      const prior = [...rejections, ...mismatched(group)];
      const opened = await openUnlocked(unlocked, group.members, prior);
      await cancelAll(valid.filter((g) => g !== group).flatMap((g) => g.members));
      return opened;
    } catch (error) {
      if (!(error instanceof WrongPasswordError || error instanceof KdfLimitError)) {
        await cancelAll(sources);
        throw error;
      }
      failures.push(error);
    }
  }
  await cancelAll(sources);
  // A group whose manifest authenticates under a key already derived proves the
  // password right: then the failure is missing shares, not the password.
  let authentic = await findAuthentic(valid, options.tag, masterKeys);
  // No group was openable; spend what is left of the budget finding out which
  // group is genuine, so the error blames the right indices.
  const untried = valid.filter((g) => !tried.has(g) && g.header!.tag === options.tag);
  for (const group of untried.slice(0, Math.max(0, budget - tried.size))) {
    if (authentic !== undefined) break;
    try {
      await unlock(group.bytes, { ...options, masterKeys });
    } catch {
      continue;
    }
    authentic = await findAuthentic([group], options.tag, masterKeys);
  }
  if (authentic === undefined) {
    for (const kind of [WrongPasswordError, KdfLimitError, WrongTagError]) {
      const failure = failures.find((error) => error instanceof kind);
      if (failure) throw failure;
    }
  }
  const best = authentic ?? valid[0];
  if (best === undefined) throw new NotEnoughSharesError(undefined, 0, rejections);
  throw new NotEnoughSharesError(best.header!.k, best.members.length, [
    ...rejections,
    ...mismatched(best),
  ]);
}

/** The first group of `tag` whose manifest verifies with a master key in `masterKeys`. */
async function findAuthentic(
  groups: readonly HeaderGroup[],
  tag: string,
  masterKeys: Map<string, Promise<Uint8Array>>,
): Promise<HeaderGroup | undefined> {
  for (const group of groups) {
    const header = group.header!;
    const master = masterKeys.get(kdfCacheKey(header.kdf));
    if (header.tag !== tag || master === undefined) continue;
    const keys = await deriveObjectKeys(await master, encodeTag(tag), header.objectId);
    for (const source of group.members) {
      try {
        await decodeManifest(keys.manifestKey, group.bytes, header.n, source.manifest);
        return group;
      } catch {
        // Not this member's manifest; try the next.
      }
    }
  }
  return undefined;
}

/**
 * Opens the object of `unlocked` from `members` (sources whose header bytes
 * equal it). Throws WrongPasswordError when no manifest authenticates,
 * NotEnoughSharesError when fewer than k key shares are intact.
 */
export async function openUnlocked(
  unlocked: UnlockedObject,
  members: readonly ShareSource[],
  priorRejections: readonly Rejection[] = [],
): Promise<OpenedObject> {
  const { header, headerBytes, keys } = unlocked;
  const rejections = [...priorRejections];
  const checked = await Promise.all(members.map(async (source) => {
    try {
      await decodeManifest(keys.manifestKey, headerBytes, header.n, source.manifest);
      return { source, error: undefined };
    } catch (error) {
      return { source, error: errorText(error) };
    }
  }));
  const agreed = checked.find((c) => c.error === undefined)?.source.manifest;
  if (agreed === undefined) throw new WrongPasswordError();
  const manifest = await decodeManifest(keys.manifestKey, headerBytes, header.n, agreed);
  const candidates: ShareSource[] = [];
  for (const { source, error } of checked) {
    if (error === undefined && equalBytes(source.manifest, agreed)) candidates.push(source);
    else {
      rejections.push({
        index: source.index,
        reason: "manifest-invalid",
        detail: error ?? "manifest differs from the one the others agree on",
      });
      await source.shares.cancel().catch(() => {});
    }
  }

  const verified = await Promise.all(candidates.map(async (source) => {
    const reader = new ByteReader(source.shares);
    const fail = async (reason: Rejection["reason"], detail: string) => {
      rejections.push({ index: source.index, reason, detail });
      await reader.cancel();
      return undefined;
    };
    let share: Uint8Array;
    try {
      share = (await reader.read(KEY_SHARE_LENGTH)).slice();
    } catch (error) {
      return await fail("stream-error", `reading the key share failed: ${errorText(error)}`);
    }
    if (share.length < KEY_SHARE_LENGTH) return await fail("truncated", "key share is incomplete");
    const expected = manifest.shareHashes[source.index - 1];
    if (!equalBytes(await shareHash(source.index, share), expected)) {
      return await fail("key-share-invalid", "key share does not match the manifest");
    }
    return { live: { index: source.index, reader } satisfies LiveShare, share };
  }));
  const good = verified.filter((v) => v !== undefined).sort((a, b) => a.live.index - b.live.index);
  const live = good.map((v) => v.live);
  if (good.length < header.k) {
    await Promise.all(live.map((share) => share.reader.cancel()));
    throw new NotEnoughSharesError(header.k, good.length, rejections);
  }
  const shareKey = await combineKeyShares(good.slice(0, header.k).map((v) => v.share), header.k);
  if (!equalBytes(await keyCheck(keys.manifestKey, shareKey), manifest.keyCheck)) {
    await Promise.all(live.map((share) => share.reader.cancel()));
    throw new CorruptObjectError(undefined, "rebuilt share key fails the manifest's key check");
  }
  const plaintext = reassemble({
    header,
    keys,
    shareKey: await importShareKey(shareKey),
    live,
    rejections,
  });
  return { header, plaintext, rejections };
}

function parse(bytes: Uint8Array): { header?: ObjectHeader } {
  try {
    return { header: decodeHeader(bytes) };
  } catch {
    return {};
  }
}

async function cancelAll(sources: readonly ShareSource[]): Promise<void> {
  await Promise.all(sources.map(async (source) => {
    if (!source.shares.locked) await source.shares.cancel().catch(() => {});
  }));
}
