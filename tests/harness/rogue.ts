/**
 * A rogue storage server, for the attack tests (tests/attack_rogue_*_test.ts):
 * the real server (`runServer` of server/main.ts) whose {@linkcode Host} is
 * wrapped so that it misbehaves as its mode says, and which records every
 * message it receives. Like tests/harness/liar.ts it acts only through the
 * Host API (`handle`, `listen`, `send`), so every message it sends is a
 * valid, authenticated one: what it does, any trusted server could do.
 *
 * ```sh
 * deno run -A tests/harness/rogue.ts -r ROOT [--mode MODE] [-v]
 * ```
 *
 * The mode is re-read from `ROOT/rogue` at every message received
 * (`setRogue` of tests/harness/rogues.ts writes it); without the file the
 * `--mode` argument (default `honest`) holds. Every message received is
 * appended to `ROOT/requests.jsonl` ({@linkcode LoggedMessage}), and every
 * forged header to `ROOT/forged.jsonl` ({@linkcode ForgedRecord}).
 *
 * @module
 */

import { serveWrapped } from "./wrapped_server.ts";
import { toHex } from "../../core/bytes.ts";
import { encodeHeader, MAX_TAG_VERSION } from "../../core/header.ts";
import type { Envelope } from "../../core/net/envelope.ts";
import type { Handler, Host, Listener } from "../../core/net/host.ts";
import type { Store } from "../../server/store.ts";

/** The entry script of a rogue server. */
export const ROGUE_SCRIPT = new URL(import.meta.url).pathname;

/** What a rogue server does. */
export const ROGUE_MODES = [
  /** Nothing: the real server, unchanged (it still logs what it receives). */
  "honest",
  /**
   * Answers `head` of any tag with a forged header (its own salt, logN 10,
   * k = n = 1, created 10 years ahead, the highest tag version, index 1),
   * and adds the forged header of every tag it was asked about to `list`:
   * the offline guessing oracle.
   */
  "forge-weak",
  /** The same with logN 22 (a 4 GiB scrypt for a client that would derive keys from it). */
  "forge-costly",
  /** Answers every `list` with 200 entries and the same `next` cursor, forever. */
  "list-loop",
  /** Answers every `list` with 200 fresh, distinct headers of ~4 KiB tags and an advancing cursor, forever. */
  "list-forever",
  /**
   * On `get-begin`, publishes the whole share at once (ignoring the window and
   * the acks) and {@linkcode FLOOD_JUNK_BURST} junk chunks beyond it, all
   * before its reply (which announces the size), then keeps sending junk
   * until the client cancels (at most {@linkcode FLOOD_JUNK_CHUNKS}).
   */
  "flood-download",
] as const;

/** One rogue mode. */
export type RogueMode = typeof ROGUE_MODES[number];

/** One line of `ROOT/requests.jsonl`: a message the rogue received. */
export interface LoggedMessage {
  /** Message type (`head`, `challenge`, `get-ack`, ...). */
  type: string;
  /** `request` (has a handler, gets a reply) or `message` (`get-ack`, `get-cancel`, `put-data`, ...). */
  kind: "request" | "message";
  /** The sender's address. */
  from: string;
  /** The body's `objectId` in hex, when it has one. */
  objectId?: string;
  /** Whether the body carries a `nonce`. */
  nonce: boolean;
  /** Whether the body carries a `proof`. */
  proof: boolean;
  /** The body's `after` (a `list` cursor), when it is a string. */
  after?: string;
  /** The rogue's mode when it arrived. */
  mode: RogueMode;
}

/** One line of `ROOT/forged.jsonl`: a header the rogue forged. */
export interface ForgedRecord {
  tag: string;
  logN: number;
  /** The forged object id, hex. */
  objectId: string;
}

/** Entries per rogue `list` page (what real servers send). */
export const ROGUE_PAGE = 200;
/** Tag length (bytes) of the `list-forever` entries: ~4 KiB headers. */
export const FOREVER_TAG_BYTES = 4000;
/** Junk chunks a `flood-download` rogue sends right after its share, before its reply. */
export const FLOOD_JUNK_BURST = 4;
/** Most junk chunks a `flood-download` rogue sends after a share (unless cancelled first). */
export const FLOOD_JUNK_CHUNKS = 256;

const TEN_YEARS_MS = 10 * 365 * 24 * 3600 * 1000;

function isMode(value: string): value is RogueMode {
  return (ROGUE_MODES as readonly string[]).includes(value);
}

/** A valid format-2 header of `tag` with the given fields (random object id). */
function header(
  tag: string,
  fields: {
    logN: number;
    salt: Uint8Array;
    k: number;
    n: number;
    created: number;
    version: number;
  },
): Uint8Array {
  return encodeHeader({
    kdf: { logN: fields.logN, r: 8, p: 1, salt: fields.salt },
    objectId: crypto.getRandomValues(new Uint8Array(16)),
    k: fields.k,
    n: fields.n,
    segmentSize: 2 ** 16,
    created: fields.created,
    size: 4096,
    tag,
    version: fields.version,
  });
}

/**
 * Wraps `host` of a server under `root` so that it misbehaves as the mode in
 * `ROOT/rogue` (else `initial`) says, logging every message it receives.
 */
export function rogueHost(host: Host, store: Store, root: string, initial: RogueMode): Host {
  let mode: RogueMode = initial;
  const readMode = () => {
    try {
      const text = Deno.readTextFileSync(`${root}/rogue`).trim();
      if (isMode(text)) mode = text;
    } catch {
      // No control file: keep the mode.
    }
    return mode;
  };
  const record = (message: Envelope, kind: LoggedMessage["kind"]) => {
    const { body } = message;
    const line: LoggedMessage = {
      type: message.type,
      kind,
      from: message.from,
      objectId: body.objectId instanceof Uint8Array ? toHex(body.objectId) : undefined,
      nonce: body.nonce !== undefined,
      proof: body.proof !== undefined,
      after: typeof body.after === "string" ? body.after : undefined,
      mode: readMode(),
    };
    Deno.writeTextFileSync(`${root}/requests.jsonl`, JSON.stringify(line) + "\n", { append: true });
  };

  // One salt for every victim and tag, as the attack in the issue.
  const salt = crypto.getRandomValues(new Uint8Array(32));
  const forged = new Map<string, Uint8Array>(); // `${logN}/${tag}` → header
  const forge = (tag: string, logN: number) => {
    const key = `${logN}/${tag}`;
    let bytes = forged.get(key);
    if (bytes === undefined) {
      bytes = header(tag, {
        logN,
        salt,
        k: 1,
        n: 1,
        created: Date.now() + TEN_YEARS_MS,
        version: MAX_TAG_VERSION,
      });
      forged.set(key, bytes);
      const record: ForgedRecord = { tag, logN, objectId: toHex(bytes.subarray(41, 57)) };
      Deno.writeTextFileSync(`${root}/forged.jsonl`, JSON.stringify(record) + "\n", {
        append: true,
      });
    }
    return bytes;
  };
  const forgeLogN = (current: RogueMode) => current === "forge-weak" ? 10 : 22;

  // list-loop: the same page every time; list-forever: a new page per cursor.
  let loopPage: { header: Uint8Array; index: number }[] | undefined;
  const page = (prefix: string, tagBytes = 0) =>
    Array.from({ length: ROGUE_PAGE }, (_, i) => {
      const tag = `/rogue/${prefix}/${String(i).padStart(3, "0")}/`.padEnd(tagBytes, "x");
      const fields = { logN: 16, k: 2, n: 3, created: Date.now(), version: 1 };
      return {
        header: header(tag, { ...fields, salt: crypto.getRandomValues(new Uint8Array(32)) }),
        index: 1,
      };
    });

  // Downloads being flooded: real `get-data` of the server's own sender is held back.
  const flooded = new Map<string, { cancelled: boolean }>();

  /**
   * Publishes the whole share of the download `request` began and the first
   * junk chunks at once (before the reply that announces the size, which the
   * caller sends after it returns); then keeps sending junk until cancelled.
   */
  const flood = async (request: Envelope, state: { cancelled: boolean }) => {
    const download = String(request.body.download);
    const objectId = toHex(request.body.objectId as Uint8Array);
    const objects = await store.objects(String(request.body.tag));
    const object = objects.find((o) => toHex(o.info.objectId) === objectId);
    if (object === undefined) return;
    const offset = typeof request.body.offset === "number" ? request.body.offset : 0;
    const share = (await Deno.readFile(`${object.dir}/share`)).subarray(offset);
    const asked = typeof request.body.chunk === "number" ? request.body.chunk : 256 * 1024;
    const chunk = Math.min(256 * 1024, Math.max(16 * 1024, Math.floor(asked)));
    const junk = new Uint8Array(chunk).fill(0x5a);
    let seq = 0;
    // Every chunk and the first junk now, in order: no window, no waiting for acks.
    for (let at = 0; at < share.length; at += chunk) {
      void host.send(request.from, "get-data", {
        download,
        seq: seq++,
        data: share.slice(at, at + chunk),
      });
    }
    for (let i = 0; i < FLOOD_JUNK_BURST; i++) {
      void host.send(request.from, "get-data", { download, seq: seq++, data: junk });
    }
    (async () => {
      for (let i = FLOOD_JUNK_BURST; i < FLOOD_JUNK_CHUNKS && !state.cancelled; i++) {
        await new Promise((resolve) => setTimeout(resolve, 10));
        await host.send(request.from, "get-data", { download, seq: seq++, data: junk });
      }
    })();
  };

  const rogue = (type: string, handler: Handler): Handler => async (request: Envelope) => {
    record(request, "request");
    const current = readMode();
    const forging = current === "forge-weak" || current === "forge-costly";
    if (type === "head" && forging) {
      const tag = String(request.body.tag);
      const real = await handler(request) as { objects: unknown[] };
      return { objects: [{ header: forge(tag, forgeLogN(current)), index: 1 }, ...real.objects] };
    }
    if (type === "list" && forging) {
      const real = await handler(request) as { entries: unknown[]; next?: string };
      if (real.next !== undefined) return real;
      const logN = forgeLogN(current);
      const extra = [...forged.entries()].filter(([key]) => key.startsWith(`${logN}/`))
        .map(([, bytes]) => ({ header: bytes, index: 1 }));
      return { entries: [...real.entries, ...extra] };
    }
    if (type === "list" && current === "list-loop") {
      loopPage ??= page("loop");
      return { entries: loopPage, next: "ffffffffffffffff" };
    }
    if (type === "list" && current === "list-forever") {
      const after = typeof request.body.after === "string" ? request.body.after : "";
      const number = /^p\d{12}$/.test(after) ? Number(after.slice(1)) + 1 : 0;
      return {
        entries: page(`forever-${number}`, FOREVER_TAG_BYTES),
        next: `p${String(number).padStart(12, "0")}`,
      };
    }
    if (type === "get-begin" && current === "flood-download") {
      // Held back before the server's own sender can send its first chunk.
      const state = { cancelled: false };
      flooded.set(String(request.body.download), state);
      const reply = await handler(request);
      await flood(request, state);
      return reply;
    }
    return await handler(request);
  };

  const listening = (type: string, listener: Listener): Listener => (message: Envelope) => {
    record(message, "message");
    if (type === "get-cancel") {
      const state = flooded.get(String(message.body.download));
      if (state !== undefined) state.cancelled = true;
    }
    return listener(message);
  };

  const send: Host["send"] = async (to, type, body, replyTo) => {
    // The server's own windowed sender of a flooded download sends nothing.
    if (type === "get-data" && flooded.has(String(body.download))) return true;
    return await host.send(to, type, body, replyTo);
  };

  return new Proxy(host, {
    get(target, property) {
      if (property === "handle") {
        return (type: string, handler: Handler) => target.handle(type, rogue(type, handler));
      }
      if (property === "listen") {
        return (type: string, listener: Listener) => target.listen(type, listening(type, listener));
      }
      if (property === "send") return send;
      const value = Reflect.get(target, property, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

if (import.meta.main) {
  await serveWrapped(Deno.args, {
    name: "rogue.ts",
    flag: "--mode",
    modes: ROGUE_MODES,
    wrap: rogueHost,
  });
}
