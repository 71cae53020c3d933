/**
 * `repair`: bring a tag's newest object back to all n shares without
 * touching the shares that are sound.
 *
 * The object stays the same object: same id, header and manifest, so a `get`
 * during or after the repair sees one object. Every holder's share is read
 * and checked frame by frame (as `check --verify` does); each segment's
 * authenticated layer-2 ciphertext is re-encoded, and only the fragments of
 * the lost or damaged indices are framed and uploaded. A lost key share is
 * the Shamir polynomial evaluated at that index's x, found among the x values
 * by the manifest's share hash (core/key_shares.ts `keyShareAt`).
 *
 * Where a share goes: a damaged one is replaced in place on its server (the
 * server swaps the object's directory for the new copy); a missing one goes
 * to a trusted server online that holds nothing of the tag. A share found bad
 * only while reading is replaced in a second pass.
 *
 * @module
 */

import { equalBytes } from "../bytes.ts";
import { ErasureCoder } from "../erasure.ts";
import { frameFragment } from "../fragment.ts";
import { release } from "../memory.ts";
import { shareStreamLength } from "../header.ts";
import { keyShareAt, SHARE_KEY_LENGTH } from "../key_shares.ts";
import { shareHash } from "../manifest.ts";
import { accessKeys } from "../access.ts";
import { type Address, displayName } from "../net/envelope.ts";
import { RemoteError } from "../net/host.ts";
import { stringField } from "../net/fields.ts";
import type { VerifiedParts } from "../open.ts";
import type { WindowedSender } from "../net/transfer.ts";
import { type ObjectView, type TagView, viewTag } from "./heads.ts";
import {
  healthOf,
  judgedObject,
  type ShareState,
  statesAfterReading,
  summarize,
  type TagHealth,
  type VerifyOptions,
} from "./health.ts";
import { type Retrieval, retrieveObject } from "./retrieve.ts";
import { FrameJoiner } from "./upload_chunks.ts";
import type { Client } from "./session.ts";

/** Options of {@linkcode repairTag}: those of verify, and the workers that open the object. */
export type RepairOptions = VerifyOptions;

/** A share rebuilt, or one that could not be. */
export interface RepairTarget {
  server: Address;
  index: number;
  /** It replaced a damaged share on the same server. */
  inPlace: boolean;
  /** Why it failed, if it did. */
  error?: string;
}

/** What a repair did. */
export interface RepairResult {
  tag: string;
  /** The tag's health as found (from `head`, before reading). */
  before: TagHealth;
  /** Its health afterwards, from the shares read and those rebuilt. */
  after: TagHealth;
  /** Shares rebuilt and stored. */
  rebuilt: RepairTarget[];
  /** Shares that could not be rebuilt or stored, and why. */
  failed: RepairTarget[];
  /** Indices still missing for want of a trusted server online holding nothing of the tag. */
  unplaced: number[];
  /** Bytes of share data uploaded. */
  uploadedBytes: number;
  /** Bytes of one share stream of the object. */
  shareBytes: number;
}

/** Repairs the newest vouched object of `options.tag`. Throws WrongPasswordError. */
export async function repairTag(client: Client, options: RepairOptions): Promise<RepairResult> {
  const online = await client.trustedServers();
  let view = await viewTag(client, online, options.tag);
  const before = healthOf(options.tag, view, options, online.length);
  const judged = judgedObject(options.tag, view, options, online.length);
  if (!judged.vouched || judged.object === undefined) {
    return { tag: options.tag, before, after: before, ...nothing(0) };
  }
  let object = judged.object;
  const result: RepairResult = {
    tag: options.tag,
    before,
    after: before,
    ...nothing(shareStreamLength(object.header)),
  };
  const damaged = object.holders.filter((h) => h.damaged);
  let pass = await repairPass(client, view, object, damaged, options);
  absorb(result, pass);
  const bad = pass.states.filter((s) => s.state === "bad" && !damaged.some((d) => same(d, s)));
  if (bad.length > 0 && pass.states.some((s) => s.state === "good")) {
    // Found bad only while reading: replace them too, reading what is now sound.
    view = await viewTag(client, online, options.tag);
    const again = judgedObject(options.tag, view, options, online.length);
    if (again.object !== undefined && equalBytes(again.object.headerBytes, object.headerBytes)) {
      object = again.object;
      pass = await repairPass(client, view, object, bad, options);
      absorb(result, pass);
    }
  }
  // Health afterwards: each share as read, with those rebuilt now good.
  const states: ShareState[] = pass.states.map((s) =>
    result.rebuilt.some((r) => r.inPlace && same(r, s)) ? { ...s, state: "good" } : s
  );
  for (const { server, index, inPlace } of result.rebuilt) {
    if (!inPlace && !states.some((s) => same(s, { server, index }))) {
      states.push({ server, index, state: "good" });
    }
  }
  result.after = summarize(options.tag, object, states, pass.failure);
  return result;
}

function nothing(shareBytes: number) {
  return { rebuilt: [], failed: [], unplaced: [], uploadedBytes: 0, shareBytes };
}

function same(a: { server: Address; index: number }, b: { server: Address; index: number }) {
  return a.server === b.server && a.index === b.index;
}

interface PassResult {
  states: ShareState[];
  rebuilt: RepairTarget[];
  failed: RepairTarget[];
  unplaced: number[];
  uploadedBytes: number;
  /** Why reading failed, when it did (the object is then lost as far as this pass knows). */
  failure?: string;
}

function absorb(result: RepairResult, pass: PassResult): void {
  result.rebuilt.push(...pass.rebuilt);
  result.failed.push(...pass.failed);
  result.unplaced = pass.unplaced;
  result.uploadedBytes += pass.uploadedBytes;
}

/** Where each share to rebuild goes: in place for `broken` shares, free servers for missing indices. */
export function placeShares(
  view: TagView,
  object: ObjectView,
  broken: { server: Address; index: number }[],
): { targets: RepairTarget[]; unplaced: number[] } {
  const { n } = object.header;
  const sound = new Set(
    object.holders.filter((h) => !broken.some((b) => same(b, h))).map((h) => h.index),
  );
  const targets: RepairTarget[] = [];
  for (const share of broken) {
    // In place only where this object is the server's newest (the proof of replace is for it).
    if (!sound.has(share.index) && object.newestOn.includes(share.server)) {
      targets.push({ ...share, inPlace: true });
      sound.add(share.index);
    }
  }
  const busy = new Set(view.objects.flatMap((o) => o.holders.map((h) => h.server)));
  const free = view.answered.filter((server) => !busy.has(server)).sort();
  const unplaced: number[] = [];
  for (let index = 1; index <= n; index++) {
    if (sound.has(index)) continue;
    const server = free.shift();
    if (server === undefined) unplaced.push(index);
    else targets.push({ server, index, inPlace: false });
  }
  return { targets, unplaced };
}

interface ActiveUpload {
  readonly target: RepairTarget;
  readonly id: string;
  readonly sender: WindowedSender;
  /** Joins the share's frames into chunks of put-data, as a put does. */
  readonly joiner: FrameJoiner;
  sent: number;
}

async function repairPass(
  client: Client,
  view: TagView,
  object: ObjectView,
  broken: { server: Address; index: number }[],
  options: RepairOptions,
): Promise<PassResult> {
  const { targets, unplaced } = placeShares(view, object, broken);
  const { header } = object;
  const coder = new ErasureCoder(header.k, header.n);
  const active: ActiveUpload[] = [];
  // Known once the object is unlocked. The opener may decode the first segment
  // before the uploads have begun: segments wait until they have.
  const framing: { key?: CryptoKey } = {};
  let begun = () => {};
  const ready = new Promise<void>((resolve) => begun = resolve);
  const pass: PassResult = { states: [], rebuilt: [], failed: [], unplaced, uploadedBytes: 0 };
  const fail = (upload: ActiveUpload, error: unknown) => {
    upload.target.error ??= describe(error);
    active.splice(active.indexOf(upload), 1);
    client.host.send(upload.target.server, "put-abort", { upload: upload.id }).catch(() => {});
    client.releaseUpload(upload.id);
  };
  const send = async (upload: ActiveUpload, chunks: Uint8Array[]) => {
    try {
      for (const chunk of chunks) {
        await upload.sender.push(chunk);
        upload.sent += chunk.length;
      }
    } catch (error) {
      fail(upload, error);
    }
  };
  const retrieval: Retrieval = await retrieveObject(client, object, {
    ...options,
    readAll: true,
    stallMs: options.stallMs ?? client.timeouts.transferIdleMs,
    onLayer2: async (segment, last, layer2) => {
      await ready;
      if (active.length === 0) return;
      const fragments = coder.encode(layer2);
      await Promise.all([...active].map(async (upload) => {
        const { index } = upload.target;
        const frame = await frameFragment(framing.key!, index, segment, last, fragments[index - 1]);
        await send(upload, upload.joiner.add(frame));
      }));
    },
  });
  framing.key = retrieval.unlocked.keys.fragmentKey;
  const verified = retrieval.verified!;
  const access = await accessKeys(retrieval.unlocked.keys.retrievalToken);
  await Promise.all(targets.map(async (target) => {
    try {
      const keyShare = await lostKeyShare(verified, header.k, target.index);
      const id = await beginUpload(client, object, target, access);
      const upload: ActiveUpload = {
        target,
        id,
        // Chunks are the frames' own buffers or joined copies: each is freed once acknowledged.
        sender: client.uploadSender(target.server, id, { onAcked: (chunk) => release(chunk) }),
        joiner: new FrameJoiner(),
        sent: 0,
      };
      active.push(upload);
      await send(upload, [keyShare.slice()]); // a copy: the verified parts keep theirs
    } catch (error) {
      target.error = describe(error);
    }
  }));
  begun();
  try {
    await retrieval.plaintext.pipeTo(new WritableStream());
  } catch (error) {
    pass.failure = (error as Error).message;
    for (const upload of [...active]) fail(upload, `reading the object failed: ${pass.failure}`);
  }
  pass.states = statesAfterReading(object, retrieval.rejected());
  await Promise.all([...active].map(async (upload) => {
    await send(upload, upload.joiner.flush());
    if (!active.includes(upload)) return; // that last send failed it
    try {
      await upload.sender.drain();
      await client.request(upload.target.server, "put-commit", {
        upload: upload.id,
        chunks: upload.sender.sent,
        header: object.headerBytes,
        manifest: verified.manifestBytes,
      });
      pass.uploadedBytes += upload.sent;
    } catch (error) {
      upload.target.error = describe(error);
    } finally {
      client.releaseUpload(upload.id);
    }
  }));
  for (const target of targets) {
    (target.error === undefined ? pass.rebuilt : pass.failed).push(target);
  }
  return pass;
}

/**
 * The key share of `index`: the verified one when it is sound, else the
 * polynomial evaluated at the x whose share hash the manifest holds for it.
 */
async function lostKeyShare(
  verified: VerifiedParts,
  k: number,
  index: number,
): Promise<Uint8Array> {
  const expected = verified.manifest.shareHashes[index - 1];
  const sound = verified.keyShares.get(index);
  if (sound !== undefined && equalBytes(await shareHash(index, sound), expected)) return sound;
  const base = [...verified.keyShares.values()].slice(0, k);
  const taken = new Set(base.map((share) => share[SHARE_KEY_LENGTH]));
  for (let x = 1; x <= 255; x++) {
    if (taken.has(x)) continue;
    const candidate = await keyShareAt(base, k, x);
    if (equalBytes(await shareHash(index, candidate), expected)) return candidate;
  }
  throw new Error(`no x coordinate gives key share ${index} the manifest commits to`);
}

/**
 * Attempts at beginning an upload while another upload of the tag holds the
 * server, 1–2 s apart: an upload orphaned by a killed client gives way once
 * its rate has decayed below the eviction threshold (a few seconds; more on a
 * loaded server).
 */
const BEGIN_ATTEMPTS = 10;

/** Begins the upload of `target`'s share; in place it proves `replace` on the object itself. */
async function beginUpload(
  client: Client,
  object: ObjectView,
  target: RepairTarget,
  access: Awaited<ReturnType<typeof accessKeys>>,
): Promise<string> {
  const { tag, objectId } = object.header;
  const body = { tag, objectId, index: target.index, accessKey: access.publicKey };
  for (let attempt = 1;; attempt++) {
    try {
      const reply = target.inPlace
        ? await client.requestWithProof(target.server, "put-begin", body, {
          keys: access,
          op: "replace",
          objectId,
          tag,
        })
        : await client.request(target.server, "put-begin", body);
      return stringField(reply, "upload", 16);
    } catch (error) {
      // An upload of the tag left by a repair or put that died gives way after a pause.
      if (
        !(error instanceof RemoteError && error.code === "in-progress") ||
        attempt === BEGIN_ATTEMPTS
      ) {
        throw error;
      }
      await new Promise((resolve) => setTimeout(resolve, 1000 + Math.random() * 1000));
    }
  }
}

function describe(error: unknown): string {
  if (error instanceof RemoteError) return `${error.code}: ${error.message}`;
  return error instanceof Error ? error.message : String(error);
}

/** One line naming the servers of `targets`, for messages. */
export function namedTargets(targets: RepairTarget[]): string {
  return targets.map((t) => `${displayName(t.server)} (share ${t.index})`).join(", ");
}
