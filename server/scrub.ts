/**
 * The scrub: a server re-reads every share it stores in the background, no
 * faster than `[server] scrub_rate` bytes per second, and compares each
 * 256 KiB block with the checksums written at commit (server/checksums.ts).
 * A mismatch, or a share missing, shorter or longer than its header says,
 * marks the object `damaged` (a file beside the share, server/paths.ts) and
 * is logged; the share is still served (clients check every frame), and
 * `head` and `list` say it is damaged so that `check` and `repair` see it.
 * An object committed without checksums (by an older version) gets them on
 * its first scrub: this blesses whatever its share holds then.
 *
 * No password is needed, and no tag's lock is held while reading: an object
 * removed or replaced meanwhile is skipped. Passes start at start-up and
 * then `[server] scrub_interval` after the end of the one before.
 *
 * @module
 */

import { equalBytes } from "../core/bytes.ts";
import { shareStreamLength } from "../core/header.ts";
import { blockChecksum, BlockHasher, CHECKSUM_BLOCK, CHECKSUM_LENGTH } from "./checksums.ts";
import type { Store, StoredObject } from "./store.ts";
import { readFull } from "../core/byte_reader.ts";

/** Default `[server] scrub_rate`: 4 MiB per second. */
export const DEFAULT_SCRUB_RATE = 4 * 2 ** 20;
/** Default `[server] scrub_interval`: an hour, in milliseconds. */
export const DEFAULT_SCRUB_INTERVAL_MS = 3_600_000;

/** How the scrub runs. */
export interface ScrubOptions {
  /** Most share bytes read per second; 0 turns the scrub off. */
  rate: number;
  /** Milliseconds from the end of one pass to the start of the next. */
  intervalMs: number;
  /** Where to log. */
  log: (level: "info" | "warn" | "debug", message: string) => void;
}

/** What the scrub has done since the server started (`info` replies carry it). */
export interface ScrubStatus {
  /** Most share bytes read per second (0: off). */
  rate: number;
  /** Share bytes read and checked. */
  bytesChecked: number;
  /** Passes completed. */
  passes: number;
  /** When the last complete pass ended, in ms since the epoch. */
  lastPassEnded?: number;
}

/** The background scrub of one store. */
export class Scrubber {
  readonly #store: Store;
  readonly #options: ScrubOptions;
  readonly #abort = new AbortController();
  #running: Promise<void> | undefined;
  #bytesChecked = 0;
  #passes = 0;
  #lastPassEnded: number | undefined;
  #passStart = 0;
  #passBytes = 0;

  constructor(store: Store, options: ScrubOptions) {
    this.#store = store;
    this.#options = options;
  }

  /** What it has done so far. */
  get status(): ScrubStatus {
    return {
      rate: this.#options.rate,
      bytesChecked: this.#bytesChecked,
      passes: this.#passes,
      lastPassEnded: this.#lastPassEnded,
    };
  }

  /** Starts the passes in the background (nothing when the rate is 0). */
  start(): void {
    if (this.#options.rate <= 0 || this.#running !== undefined) return;
    this.#running = this.#loop();
  }

  /** Stops promptly: the pass in progress ends after the block it is reading. */
  async stop(): Promise<void> {
    this.#abort.abort();
    await this.#running;
  }

  async #loop(): Promise<void> {
    const { signal } = this.#abort;
    while (!signal.aborted) {
      try {
        await this.pass();
      } catch (error) {
        if (signal.aborted) break;
        this.#options.log("warn", `scrub pass failed: ${(error as Error).message}`);
      }
      await sleep(this.#options.intervalMs, signal);
    }
  }

  /** Runs one whole pass over every stored share (tests call it directly). */
  async pass(): Promise<void> {
    const { signal } = this.#abort;
    this.#passStart = Date.now();
    this.#passBytes = 0;
    let shares = 0;
    let damaged = 0;
    for await (const { hash, objects } of this.#store.tags()) {
      for (const object of objects) {
        if (signal.aborted) return;
        if (object.damaged) continue; // found already; a repair replaces it
        shares++;
        if (await this.#check(hash, object)) damaged++;
      }
    }
    if (signal.aborted) return;
    this.#passes++;
    this.#lastPassEnded = Date.now();
    const seconds = ((this.#lastPassEnded - this.#passStart) / 1000).toFixed(1);
    this.#options.log(
      damaged > 0 ? "warn" : "info",
      `scrub checked ${shares} shares (${this.#passBytes} bytes) in ${seconds} s: ` +
        `${damaged} newly damaged`,
    );
  }

  /** Checks one share; returns whether it was found damaged (and marked so). */
  async #check(hash: string, object: StoredObject): Promise<boolean> {
    const { dir } = object;
    const sums = await Deno.readFile(`${dir}/checksums`).catch(() => undefined);
    let file: Deno.FsFile;
    try {
      file = await Deno.open(`${dir}/share`, { read: true });
    } catch {
      return await this.#damaged(hash, object, 0, "its share file is missing");
    }
    const expected = shareStreamLength(object.info);
    const hasher = sums === undefined ? new BlockHasher() : undefined;
    const buffer = new Uint8Array(CHECKSUM_BLOCK);
    let offset = 0;
    let bad: { offset: number; why: string } | undefined;
    try {
      for (let block = 0;; block++) {
        if (this.#abort.signal.aborted) return false;
        const read = await readFull(file, buffer);
        if (read === 0) break;
        await this.#pace(read);
        const data = buffer.subarray(0, read);
        if (hasher !== undefined) {
          await hasher.update(data);
        } else {
          const want = sums!.subarray(block * CHECKSUM_LENGTH, (block + 1) * CHECKSUM_LENGTH);
          if (!equalBytes(await blockChecksum(data), want)) {
            bad = { offset, why: "a block does not match its checksum" };
            break;
          }
        }
        offset += read;
      }
    } finally {
      file.close();
    }
    if (bad === undefined && offset < expected) {
      bad = { offset, why: `the share has ${offset} bytes, its header says ${expected}` };
    }
    if (bad === undefined && offset > expected) {
      bad = { offset: expected, why: `the share has ${offset} bytes, its header says ${expected}` };
    }
    if (bad !== undefined) return await this.#damaged(hash, object, bad.offset, bad.why);
    // False when it was removed or replaced meanwhile: nothing to add then.
    if (hasher !== undefined) await this.#store.addChecksums(object, await hasher.digest());
    return false;
  }

  /** Marks `object` damaged and logs it, unless it was removed or replaced meanwhile. */
  async #damaged(hash: string, object: StoredObject, offset: number, why: string) {
    if (!await this.#store.markDamaged(object, offset)) return false;
    const id = object.dir.slice(object.dir.lastIndexOf("-") + 1);
    this.#options.log(
      "warn",
      `scrub: share ${object.index} of object ${id} (tag directory ${hash}) is damaged at ` +
        `byte ${offset}: ${why}; it is still served, and 'secshrnet repair' replaces it`,
    );
    return true;
  }

  /** Counts `bytes` read, then waits as long as keeps the pass at the rate. */
  async #pace(bytes: number): Promise<void> {
    this.#bytesChecked += bytes;
    this.#passBytes += bytes;
    if (this.#options.rate <= 0) return;
    const due = this.#passStart + (this.#passBytes / this.#options.rate) * 1000;
    const wait = due - Date.now();
    if (wait > 0) await sleep(wait, this.#abort.signal);
  }
}

/** Resolves after `ms`, or at once when `signal` aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done);
  });
}
