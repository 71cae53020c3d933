/**
 * A lying storage server, for tests only: the real server (`runServer` of
 * server/main.ts, the same handlers, store and transfers as `secshrnet
 * serve`) whose {@linkcode Host} and {@linkcode Store} are wrapped so that it
 * answers according to a lie mode. It lies only through the Host API
 * (`handle`, `listen`, `send`), never by publishing raw bytes on Redis, so it
 * keeps working whatever the envelope looks like.
 *
 * ```sh
 * deno run -A tests/harness/liar.ts -r ROOT [--lie MODE] [-v]
 * ```
 *
 * The mode is re-read from `ROOT/lie` at every request the server receives
 * (`setLie` of tests/harness/liars.ts writes it), so a test can store a file on honest
 * servers, see which share index each one got, and only then make chosen
 * ones lie. Without the file the `--lie` argument (default `honest`) holds.
 * The test side of this (starting such servers, choosing liars by share
 * index) is tests/harness/liars.ts.
 *
 * @module
 */

import { serveWrapped } from "./wrapped_server.ts";
import { equalBytes } from "../../core/bytes.ts";
import { decodeHeader } from "../../core/header.ts";
import type { Envelope } from "../../core/net/envelope.ts";
import type { Handler, Host } from "../../core/net/host.ts";
import { type Store, type StoredObject, StoreError } from "../../server/store.ts";

/** The entry script of a lying server. */
export const LIAR_SCRIPT = new URL(import.meta.url).pathname;

/** What a lying server does. Each mode lies only in the way its comment says. */
export const LIE_MODES = [
  /** Nothing: the real server, unchanged. */
  "honest",
  /** Flips the last byte of every `get-data` chunk it sends (fragment frames). */
  "corrupt-fragment",
  /** Flips the last byte of each download (in the last segment's frame), nothing before it. */
  "corrupt-last-segment",
  /** Flips a byte of the key share: in the `get-begin` reply and at the start of the stream. */
  "forge-key-share",
  /** Keeps older objects (answers `prune` without pruning) and serves the older one on `get-begin`. */
  "stale",
  /** Serves another tag's object (its manifest, key share and frames) on `get-begin`. */
  "foreign",
  /** Answers `head` with the headers of another tag's objects. */
  "foreign-head",
  /** Answers `head` with the newest header altered to look one second newer. */
  "forge-header",
  /** Sends every reply and every `get-data` chunk twice, the second copy forged. */
  "duplicate",
  /** Answers the neighbouring request ids of each request (requests to other servers) with errors. */
  "hijack",
  /** Replies success to `put-commit`, then deletes the object it just committed. */
  "drop",
  /** Sends the first `get-data` chunk of a download, then nothing more; stays online. */
  "stall",
  /** Never answers `get-begin`. */
  "silent-begin",
  /** Sends each `get-data` chunk once, 15 s after the one before (always under the idle limit). */
  "trickle",
  /** Answers `head` with a body of the wrong shape. */
  "garbage-head",
  /** Answers `challenge` with a nonce of the wrong type. */
  "garbage-challenge",
  /** Answers `get-begin` with fields of wrong types and sizes. */
  "garbage-begin",
  /** Sends each `get-data` chunk first with fields of wrong types, then as 1.5 MiB of noise. */
  "garbage-data",
  /** Answers `info` with fields of wrong types. */
  "garbage-info",
  /** Answers `list` with fields of wrong types. */
  "garbage-list",
  /** Answers `put-commit` with an error (`internal`) and drops the upload, committing nothing. */
  "refuse-commit",
] as const;

/** One lie mode. */
export type LieMode = typeof LIE_MODES[number];

/** Delay between two chunks of a `trickle` liar. */
export const TRICKLE_MS = 15_000;

function isMode(value: string): value is LieMode {
  return (LIE_MODES as readonly string[]).includes(value);
}

/** Flips the bits of byte `at` (negative: from the end) of a copy of `bytes`. */
function flipped(bytes: Uint8Array, at: number): Uint8Array {
  const copy = bytes.slice();
  const i = at < 0 ? copy.length + at : at;
  if (i >= 0 && i < copy.length) copy[i] ^= 0xff;
  return copy;
}

/**
 * Wraps `host` and `store` of a server under `root` so that it lies as the
 * mode in `ROOT/lie` (else `initial`) says. Returns the host to serve on.
 */
export function lyingHost(host: Host, store: Store, root: string, initial: LieMode): Host {
  let mode: LieMode = initial;
  const readMode = () => {
    try {
      const text = Deno.readTextFileSync(`${root}/lie`).trim();
      if (isMode(text)) mode = text;
    } catch {
      // No control file: keep the mode.
    }
    return mode;
  };
  // The real handlers by request type, so a lie can run another one (e.g. `put-abort`).
  const handlers = new Map<string, Handler>();
  // Download id → offset asked for, so a lie can find the key share (offset 0).
  const offsets = new Map<string, number>();
  // Download id → bytes it will send, and where each chunk sent so far ends.
  const extents = new Map<string, { size: number; ends: Map<number, number> }>();
  // Download id → sequence numbers already trickled, and when the last one leaves.
  const trickles = new Map<string, { sent: Set<number>; next: number }>();

  // Store-level lies: what `get-begin` serves and whether `prune` prunes.
  const authorize = store.authorize.bind(store);
  store.authorize = async (tag, objectId, access): Promise<StoredObject> => {
    const object = await authorize(tag, objectId, access);
    if (mode === "stale") {
      const older = (await store.objects(tag)).find((o) => o.dir !== object.dir);
      if (older !== undefined) return older;
    }
    if (mode === "foreign") {
      for await (const other of store.tags()) {
        if (other.tag !== tag) return other.objects[0];
      }
    }
    return object;
  };
  const prune = store.prune.bind(store);
  store.prune = (tag, objectId, access) =>
    mode === "stale" ? Promise.resolve(1) : prune(tag, objectId, access);

  const lying = (type: string, handler: Handler): Handler => async (request: Envelope) => {
    const current = readMode();
    if (current === "hijack") hijack(request);
    if (type === "get-begin") {
      const offset = request.body.offset;
      offsets.set(String(request.body.download), typeof offset === "number" ? offset : 0);
      if (current === "silent-begin") return await new Promise<never>(() => {});
    }
    if (type === "challenge" && current === "garbage-challenge") return { nonce: "not bytes" };
    if (type === "info" && current === "garbage-info") {
      return { id: 42, hostname: { nested: true }, os: [], objects: -1, bytes: "many" };
    }
    if (type === "list" && current === "garbage-list") return { entries: "none", next: 7 };
    if (type === "put-commit" && current === "refuse-commit") {
      // Drop the upload as `put-abort` would, so nothing of it stays here, then refuse.
      const abort = handlers.get("put-abort");
      await abort?.({ ...request, type: "put-abort", body: { upload: request.body.upload } });
      throw new StoreError("internal", "this server refuses to commit (lie mode refuse-commit)");
    }
    if (type === "head" && current === "garbage-head") {
      return { objects: [{ header: "SSNH not bytes", index: "one" }, 17, null] };
    }
    if (type === "head" && current === "foreign-head") {
      const tag = String(request.body.tag);
      for await (const other of store.tags()) {
        if (other.tag === tag) continue;
        return { objects: other.objects.map((o) => ({ header: o.header, index: o.index })) };
      }
    }
    const reply = await handler(request);
    if (type === "get-begin" && typeof reply.size === "number") {
      extents.set(String(request.body.download), { size: reply.size, ends: new Map() });
    }
    if (type === "head" && current === "forge-header") {
      const [newest] = (reply.objects ?? []) as { header: Uint8Array; index: number }[];
      if (newest !== undefined) {
        const header = newest.header.slice();
        const view = new DataView(header.buffer);
        view.setBigUint64(61, view.getBigUint64(61) + 1000n); // created, 1 s later
        return { objects: [{ header, index: newest.index }] };
      }
    }
    if (type === "get-begin" && current === "forge-key-share") {
      return { ...reply, keyShare: flipped(reply.keyShare as Uint8Array, 0) };
    }
    if (type === "get-begin" && current === "garbage-begin") {
      return { index: reply.index, manifest: 42, keyShare: new Uint8Array(100_000), size: -1 };
    }
    if (type === "put-commit" && current === "drop") await dropCommitted(request);
    if (current === "duplicate") {
      // After the real reply has gone out: a second one, forged.
      setTimeout(() => host.send(request.from, "reply", forgeBody(reply), request.id), 20);
    }
    return reply;
  };

  /** Errors for the requests just before and after this one: those the requester sent to others. */
  const hijack = (request: Envelope) => {
    const forge = () => {
      for (let delta = -8; delta <= 8; delta++) {
        const id = request.id + delta;
        if (delta === 0 || id < 0) continue;
        host.send(request.from, "error", { code: "not-found", message: "no such object" }, id);
      }
    };
    forge();
    for (const ms of [2, 10, 30]) setTimeout(forge, ms);
  };

  /** Deletes the object a `put-commit` just committed. */
  const dropCommitted = async (request: Envelope) => {
    const header = decodeHeader(request.body.header as Uint8Array);
    await store.withTag(header.tag, async () => {
      for (const object of await store.objects(header.tag)) {
        if (equalBytes(object.info.objectId, header.objectId)) {
          await Deno.remove(object.dir, { recursive: true });
        }
      }
    });
  };

  const send: Host["send"] = async (to, type, body, replyTo) => {
    if (type !== "get-data") return await host.send(to, type, body, replyTo);
    const download = String(body.download);
    const seq = body.seq as number;
    const data = body.data as Uint8Array;
    switch (mode) {
      case "corrupt-fragment":
        return await host.send(to, type, { ...body, data: flipped(data, -1) }, replyTo);
      case "corrupt-last-segment": {
        const extent = extents.get(download);
        if (extent === undefined) break;
        const end = extent.ends.get(seq) ?? (extent.ends.get(seq - 1) ?? 0) + data.length;
        extent.ends.set(seq, end);
        if (end === extent.size) {
          return await host.send(to, type, { ...body, data: flipped(data, -1) }, replyTo);
        }
        break;
      }
      case "forge-key-share":
        if (seq === 0 && offsets.get(download) === 0) {
          return await host.send(to, type, { ...body, data: flipped(data, 0) }, replyTo);
        }
        break;
      case "duplicate": {
        const sent = await host.send(to, type, body, replyTo);
        await host.send(to, type, { ...body, data: flipped(data, -1) });
        return sent;
      }
      case "stall":
        if (seq >= 1) return true;
        break;
      case "trickle": {
        const state = trickles.get(download) ?? { sent: new Set<number>(), next: Date.now() };
        trickles.set(download, state);
        if (state.sent.has(seq)) return true; // resends are not sent again
        state.sent.add(seq);
        const at = Math.max(Date.now(), state.next);
        state.next = at + TRICKLE_MS;
        setTimeout(() => host.send(to, type, body, replyTo), at - Date.now());
        return true;
      }
      case "garbage-data": {
        await host.send(to, type, { download, seq: "zero", data: 12345 });
        await host.send(to, type, { download, seq, data: { not: "bytes" } });
        const noise = crypto.getRandomValues(new Uint8Array(65536));
        const big = new Uint8Array(1.5 * 2 ** 20).map((_, i) => noise[i % noise.length]);
        return await host.send(to, type, { download, seq, data: big }, replyTo);
      }
    }
    return await host.send(to, type, body, replyTo);
  };

  return new Proxy(host, {
    get(target, property) {
      if (property === "handle") {
        return (type: string, handler: Handler) => {
          handlers.set(type, handler);
          target.handle(type, lying(type, handler));
        };
      }
      if (property === "send") return send;
      const value = Reflect.get(target, property, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/** The same shape as `body` with every byte field flipped and every number off by one. */
function forgeBody(body: Record<string, unknown>): Record<string, unknown> {
  const forged: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(body)) {
    forged[key] = value instanceof Uint8Array
      ? flipped(value, 0)
      : typeof value === "number"
      ? value + 1
      : Array.isArray(value)
      ? []
      : value;
  }
  return forged;
}

if (import.meta.main) {
  await serveWrapped(Deno.args, {
    name: "liar.ts",
    flag: "--lie",
    modes: LIE_MODES,
    wrap: lyingHost,
  });
}
