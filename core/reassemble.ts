/**
 * The reading half of the pipeline: share streams in lockstep, segment by
 * segment, each fragment verified before use, any k of them decoded, then
 * both layers opened. An index whose fragment is missing, forged, misplaced
 * or unreadable is rejected on the spot; reading goes on while k remain.
 *
 * A share that lags behind the others cannot hold reading up for long (a
 * server may trickle its data on purpose): once the first frame of a segment
 * is in, a share still without its frame after `stragglerMs` is swapped for a
 * spare when there is one, and rejected as slow after `stallMs` in any case.
 *
 * @module
 */

import { ByteReader } from "./byte_reader.ts";
import { CorruptObjectError, NotEnoughSharesError, type Rejection } from "./errors.ts";
import { fragmentLength } from "./erasure.ts";
import { FRAGMENT_TAG_LENGTH, unframeFragment } from "./fragment.ts";
import { type ObjectHeader, segmentCount, segmentLength } from "./header.ts";
import type { ObjectKeys } from "./keys.ts";
import { GarbagePacer } from "./memory.ts";
import type { OpenedSegment } from "./segment_crypto.ts";
import { defaultWorkers, SegmentWorkers } from "./segment_workers.ts";
import { TAG_LENGTH } from "./stream.ts";

/** A share stream whose key share has been verified, positioned at its first fragment. */
export interface LiveShare {
  /** The share index, 1-based. */
  readonly index: number;
  /** Reader over the rest of its share stream. */
  readonly reader: ByteReader;
}

/** What {@linkcode reassemble} works from. */
export interface ReassembleInput {
  readonly header: ObjectHeader;
  readonly keys: ObjectKeys;
  /** The share key imported for AES-GCM. */
  readonly shareKey: CryptoKey;
  /** At least k live shares; the list shrinks as indices are rejected. */
  readonly live: LiveShare[];
  /** Rejections are appended here as they happen. */
  readonly rejections: Rejection[];
  /**
   * Brings in another share positioned at `segment` (its key share already
   * verified) when fewer than k remain; `undefined` when there is none left.
   */
  readonly replenish?: (segment: number) => Promise<LiveShare | undefined>;
  /** How long a share may lag the first frame of a segment before a spare replaces it; default 5 s. */
  readonly stragglerMs?: number;
  /** How long a share may lag the first frame of a segment at all; default 20 s. */
  readonly stallMs?: number;
  /**
   * Called with each segment's layer-2 ciphertext once it has decrypted (so it
   * is authentic), before the plaintext is handed on: repair re-encodes lost
   * fragments from it. Reading waits for it.
   */
  readonly onLayer2?: (segment: number, last: boolean, layer2: Uint8Array) => Promise<void>;
  /**
   * Web Workers decoding and decrypting segments in parallel while the next
   * ones are read (0: on the calling thread); default one per core.
   */
  readonly workers?: number;
}

/** Default of {@linkcode ReassembleInput.stragglerMs}. */
export const STRAGGLER_MS = 5000;
/** Default of {@linkcode ReassembleInput.stallMs}. */
export const STALL_MS = 20_000;

type FrameResult =
  | { share: LiveShare; fragment: Uint8Array }
  | { share: LiveShare; rejection: Rejection };

/** The plaintext stream of the object, produced on demand. */
export function reassemble(input: ReassembleInput): ReadableStream<Uint8Array> {
  const { header, keys, shareKey, rejections } = input;
  let live = input.live;
  const count = segmentCount(header);
  // The next segment to read; segments read and in work, oldest first.
  let segment = 0;
  const inFlight: { segment: number; length: number; opened: Promise<OpenedSegment> }[] = [];
  const pacer = new GarbagePacer();
  const opener = new SegmentWorkers(
    { fileKey: keys.fileKey, shareKey, fragmentKey: keys.fragmentKey, objectId: header.objectId },
    header.k,
    header.n,
    input.workers ?? defaultWorkers(),
  );

  const cancelAll = async (reason?: unknown) => {
    opener.close();
    await Promise.all(live.map((share) => share.reader.cancel(reason)));
  };

  const readFrame = async (share: LiveShare, length: number, last: boolean) => {
    const frameLength = fragmentLength(length + 2 * TAG_LENGTH, header.k) + FRAGMENT_TAG_LENGTH;
    const fail = (reason: Rejection["reason"], detail: string): FrameResult => ({
      share,
      rejection: { index: share.index, reason, segment, detail },
    });
    let frame: Uint8Array;
    try {
      frame = await share.reader.read(frameLength);
    } catch (error) {
      return fail("stream-error", `read failed at segment ${segment}: ${errorText(error)}`);
    }
    if (frame.length < frameLength) return fail("truncated", `share ends at segment ${segment}`);
    const fragment = await unframeFragment(keys.fragmentKey, share.index, segment, last, frame);
    if (fragment !== undefined) return { share, fragment };
    for (const other of [segment - 1, segment + 1]) {
      if (other < 0 || other >= count) continue;
      const at = await unframeFragment(
        keys.fragmentKey,
        share.index,
        other,
        other === count - 1,
        frame,
      );
      if (at !== undefined) {
        return fail("fragment-out-of-order", `segment ${other}'s fragment found at ${segment}`);
      }
    }
    return fail("fragment-invalid", `fragment of segment ${segment} failed authentication`);
  };

  const stragglerMs = input.stragglerMs ?? STRAGGLER_MS;
  const stallMs = Math.max(stragglerMs, input.stallMs ?? STALL_MS);
  /**
   * This segment's frame from each of `pending`, by the straggler rule above;
   * spares brought in for stragglers are added to `spares`.
   */
  const readFrames = async (
    pending: LiveShare[],
    length: number,
    last: boolean,
    spares: LiveShare[],
  ): Promise<FrameResult[]> => {
    const results: FrameResult[] = [];
    const running = new Map<LiveShare, Promise<void>>();
    for (const share of pending) {
      const read = readFrame(share, length, last).then((result) => {
        if (running.delete(share)) results.push(result);
      });
      running.set(share, read);
    }
    await Promise.race(running.values());
    const firstAt = Date.now();
    let swapped = false;
    while (running.size > 0) {
      const deadline = firstAt + (swapped ? stallMs : stragglerMs);
      if (await finishedBefore(Promise.race(running.values()), deadline)) continue;
      const slow = (share: LiveShare, detail: string): FrameResult => ({
        share,
        rejection: { index: share.index, reason: "slow", segment, detail },
      });
      if (!swapped) {
        swapped = true;
        for (const share of [...running.keys()]) {
          const spare = await input.replenish?.(segment);
          if (spare === undefined) break;
          running.delete(share);
          results.push(
            slow(
              share,
              `segment ${segment} not in ${
                stragglerMs / 1000
              } s after the first; a spare took over`,
            ),
          );
          spares.push(spare);
        }
        continue;
      }
      for (const share of [...running.keys()]) {
        running.delete(share);
        results.push(slow(share, `segment ${segment} not in ${stallMs / 1000} s after the first`));
      }
    }
    return results;
  };

  /**
   * Reads segment `segment`'s frames from every live share (bringing in
   * spares while fewer than k are good) and hands any k to the opener;
   * false when fewer than k remain.
   */
  const readSegment = async (): Promise<boolean> => {
    const length = segmentLength(header, segment);
    const last = segment === count - 1;
    const fragments: (Uint8Array | undefined)[] = new Array(header.n).fill(undefined);
    let pending = live;
    live = [];
    while (pending.length > 0) {
      const spares: LiveShare[] = [];
      const results = await readFrames(pending, length, last, spares);
      for (const result of results) {
        if ("rejection" in result) {
          rejections.push(result.rejection);
          await result.share.reader.cancel();
        } else {
          fragments[result.share.index - 1] = result.fragment;
          live.push(result.share);
        }
      }
      pending = spares;
      for (let missing = header.k - live.length - pending.length; missing > 0; missing--) {
        const spare = await input.replenish?.(segment);
        if (spare === undefined) break;
        pending.push(spare);
      }
    }
    live.sort((a, b) => a.index - b.index);
    if (live.length < header.k) return false;
    const opened = opener.open(segment, last, length, fragments, input.onLayer2 !== undefined);
    opened.catch(() => {}); // awaited in order in pull
    inFlight.push({ segment, length, opened });
    segment++;
    return true;
  };

  return new ReadableStream<Uint8Array>({
    pull: async (controller) => {
      // Keep the opener busy: read ahead while earlier segments decode and decrypt.
      while (segment < count && inFlight.length < opener.depth) {
        if (!await readSegment()) {
          await cancelAll();
          controller.error(new NotEnoughSharesError(header.k, live.length, rejections));
          return;
        }
      }
      const oldest = inFlight.shift()!;
      const last = oldest.segment === count - 1;
      let opened: OpenedSegment;
      try {
        opened = await oldest.opened;
      } catch (error) {
        await cancelAll();
        controller.error(error);
        return;
      }
      if (opened.plaintext === undefined) {
        await cancelAll();
        controller.error(
          new CorruptObjectError(oldest.segment, "authenticated fragments do not decrypt"),
        );
        return;
      }
      if (opened.layer2 !== undefined) {
        await input.onLayer2?.(oldest.segment, last, opened.layer2);
      }
      controller.enqueue(opened.plaintext);
      pacer.processed(oldest.length);
      if (last) {
        await checkEnds(live, rejections, count);
        await cancelAll();
        controller.close();
      }
    },
    cancel: cancelAll,
  });
}

/** Rejects every share that holds bytes past its last fragment (the plaintext is still right). */
async function checkEnds(live: LiveShare[], rejections: Rejection[], count: number) {
  await Promise.all(live.map(async (share) => {
    let ended: boolean;
    try {
      ended = await share.reader.atEnd();
    } catch (error) {
      rejections.push({
        index: share.index,
        reason: "stream-error",
        detail: `read failed after the last fragment: ${errorText(error)}`,
      });
      return;
    }
    if (!ended) {
      rejections.push({
        index: share.index,
        reason: "trailing-data",
        segment: count - 1,
        detail: "bytes after the last fragment",
      });
    }
  }));
}

/** The message of an error, or its string form. */
export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Whether `promise` settles before the time `deadline` (ms since the epoch). */
async function finishedBefore(promise: Promise<unknown>, deadline: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), Math.max(0, deadline - Date.now()));
  });
  try {
    return await Promise.race([promise.then(() => true, () => true), late]);
  } finally {
    clearTimeout(timer);
  }
}
