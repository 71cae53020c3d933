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
import { decodeManifest, keyCheck, type Manifest, shareHash } from "./manifest.ts";
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
  /** How long a share may lag a segment's first frame before a spare replaces it; default 5 s. */
  stragglerMs?: number;
  /** How long a share may lag a segment's first frame at all; default 20 s. */
  stallMs?: number;
  /**
   * Web Workers decoding and decrypting segments in parallel (0: on the
   * calling thread); default one per core. The plaintext is the same.
   */
  workers?: number;
}

/** An object being opened. */
export interface OpenedObject {
  /** The verified header. */
  readonly header: ObjectHeader;
  /** The plaintext, each chunk the reader's own; errors (typed) if too few shares survive. */
  readonly plaintext: ReadableStream<Uint8Array>;
  /** Indices not used and why; complete once `plaintext` has closed. */
  readonly rejections: Rejection[];
  /** What was verified before streaming (from {@linkcode openUnlocked}). */
  readonly verified?: VerifiedParts;
}

/** The parts of an object verified before its stream is read. */
export interface VerifiedParts {
  /** The manifest, its bytes as the holders agree on them. */
  readonly manifest: Manifest;
  readonly manifestBytes: Uint8Array;
  /** Key shares that match the manifest, by index (at least k). */
  readonly keyShares: ReadonlyMap<number, Uint8Array>;
}

/** Options of {@linkcode openUnlocked} besides its inputs. */
export interface OpenUnlockedOptions
  extends Pick<OpenOptions, "stragglerMs" | "stallMs" | "workers"> {
  /** See ReassembleInput.onLayer2 (core/reassemble.ts). */
  onLayer2?: (segment: number, last: boolean, layer2: Uint8Array) => Promise<void>;
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
    .sort((a, b) =>
      b.members.length - a.members.length || b.header!.version - a.header!.version ||
      b.header!.created - a.header!.created
    );
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
      const opened = await openUnlocked(unlocked, group.members, prior, [], options);
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
 * A holder of a share that is read only if needed: when a share in use fails
 * and fewer than k remain, a spare is started at the segment where reading
 * stands, so an object is fetched from k holders, not n.
 */
export interface SpareSource {
  /** The share index it claims to hold. */
  readonly index: number;
  /** Starts it: its manifest copy, its key share, and its frames from `segment` on. */
  start(segment: number): Promise<SpareStart>;
}

/** What a started spare hands over. */
export interface SpareStart {
  readonly manifest: Uint8Array;
  readonly keyShare: Uint8Array;
  /** The frames from the segment asked for, to the end. */
  readonly frames: ReadableStream<Uint8Array>;
}

interface VerifiedShare {
  readonly live: LiveShare;
  readonly share: Uint8Array;
}

/**
 * Opens the object of `unlocked` from `members` (sources whose header bytes
 * equal it), drawing on `spares` when members fail. Throws
 * WrongPasswordError when no manifest authenticates, NotEnoughSharesError
 * when fewer than k key shares are intact.
 */
export async function openUnlocked(
  unlocked: UnlockedObject,
  members: readonly ShareSource[],
  priorRejections: readonly Rejection[] = [],
  spares: readonly SpareSource[] = [],
  timing: OpenUnlockedOptions = {},
): Promise<OpenedObject> {
  const { header, headerBytes, keys } = unlocked;
  const rejections = [...priorRejections];
  const reject = (index: number, reason: Rejection["reason"], detail: string, segment?: number) =>
    rejections.push({ index, reason, detail, segment });
  const verifyManifest = async (bytes: Uint8Array) => {
    try {
      return await decodeManifest(keys.manifestKey, headerBytes, header.n, bytes);
    } catch (error) {
      return errorText(error);
    }
  };
  const checked = await Promise.all(members.map(async (source) => ({
    source,
    result: await verifyManifest(source.manifest),
  })));
  const agreed = checked.find((c) => typeof c.result !== "string");
  let manifestBytes = agreed?.source.manifest;
  // Wrong password only when some manifest was seen and none verified.
  let manifestsChecked = checked.length;
  let manifest = agreed === undefined ? undefined : agreed.result as Manifest;

  /** Checks one key share against the manifest; returns the reason it fails, if it does. */
  const checkShare = async (index: number, share: Uint8Array) => {
    if (share.length < KEY_SHARE_LENGTH) return "truncated";
    return equalBytes(await shareHash(index, share), manifest!.shareHashes[index - 1])
      ? undefined
      : "key-share-invalid";
  };

  const queue = [...spares];
  /** Starts spares until one verifies at `segment`; undefined when none is left. */
  const nextSpare = async (segment: number): Promise<VerifiedShare | undefined> => {
    for (let spare = queue.shift(); spare !== undefined; spare = queue.shift()) {
      let started: SpareStart;
      try {
        started = await spare.start(segment);
      } catch (error) {
        reject(spare.index, "stream-error", `could not start: ${errorText(error)}`, segment);
        continue;
      }
      const reader = new ByteReader(started.frames);
      manifestsChecked++;
      if (manifest === undefined) {
        const result = await verifyManifest(started.manifest);
        if (typeof result !== "string") [manifest, manifestBytes] = [result, started.manifest];
      }
      const reason = manifest === undefined || !equalBytes(started.manifest, manifestBytes!)
        ? "manifest-invalid"
        : await checkShare(spare.index, started.keyShare);
      if (reason === undefined) {
        return { live: { index: spare.index, reader }, share: started.keyShare };
      }
      reject(spare.index, reason, `${reason.replaceAll("-", " ")} (spare)`);
      await reader.cancel();
    }
    return undefined;
  };

  const verified: VerifiedShare[] = [];
  await Promise.all(checked.map(async ({ source, result }) => {
    if (typeof result === "string" || !equalBytes(source.manifest, manifestBytes!)) {
      reject(
        source.index,
        "manifest-invalid",
        typeof result === "string" ? result : "manifest differs from the one the others agree on",
      );
      await source.shares.cancel().catch(() => {});
      return;
    }
    const reader = new ByteReader(source.shares);
    let share: Uint8Array;
    try {
      share = (await reader.read(KEY_SHARE_LENGTH)).slice();
    } catch (error) {
      reject(source.index, "stream-error", `reading the key share failed: ${errorText(error)}`);
      await reader.cancel();
      return;
    }
    const reason = await checkShare(source.index, share);
    if (reason === undefined) verified.push({ live: { index: source.index, reader }, share });
    else {
      reject(
        source.index,
        reason,
        reason === "truncated"
          ? "key share is incomplete"
          : "key share does not match the manifest",
      );
      await reader.cancel();
    }
  }));
  while (verified.length < header.k) {
    const spare = await nextSpare(0);
    if (spare === undefined) break;
    verified.push(spare);
  }
  const live = verified.map((v) => v.live).sort((a, b) => a.index - b.index);
  const cancel = () => Promise.all(live.map((share) => share.reader.cancel()));
  if (manifest === undefined && manifestsChecked > 0) {
    await cancel();
    throw new WrongPasswordError();
  }
  if (manifest === undefined || verified.length < header.k) {
    await cancel();
    throw new NotEnoughSharesError(header.k, verified.length, rejections);
  }
  const shareKey = await combineKeyShares(
    verified.slice(0, header.k).map((v) => v.share),
    header.k,
  );
  if (!equalBytes(await keyCheck(keys.manifestKey, shareKey), manifest.keyCheck)) {
    await cancel();
    throw new CorruptObjectError(undefined, "rebuilt share key fails the manifest's key check");
  }
  const plaintext = reassemble({
    header,
    keys,
    shareKey: await importShareKey(shareKey),
    live,
    rejections,
    replenish: async (segment) => (await nextSpare(segment))?.live,
    stragglerMs: timing.stragglerMs,
    stallMs: timing.stallMs,
    onLayer2: timing.onLayer2,
    workers: timing.workers,
  });
  const keyShares = new Map(verified.map((v) => [v.live.index, v.share]));
  return {
    header,
    plaintext,
    rejections,
    verified: { manifest, manifestBytes: manifestBytes!, keyShares },
  };
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
