/**
 * Where an object's segments are sealed or opened: on the calling thread, or
 * on a pool of Web Workers (`segment_worker.ts`) so that several segments are
 * in work at once, one per core. Results come back per segment; the caller
 * keeps them in segment order and bounds how many are in flight. The bytes
 * are the same either way (the same functions run, `segment_crypto.ts`).
 *
 * The pool starts its workers only when a second segment arrives, so a small
 * object pays nothing for them, and ends them (and the keys they hold) when
 * the sealing or opening closes it. No segment is sent before the workers
 * have loaded; where none can (a build that left the worker module out),
 * every segment runs on the calling thread instead.
 *
 * @module
 */

import { ErasureCoder } from "./erasure.ts";
import {
  type OpenedSegment,
  openSegmentFragments,
  sealSegmentFrames,
  type SegmentKeys,
} from "./segment_crypto.ts";
import type { WorkerReply, WorkerRequest } from "./segment_worker.ts";

/** Segment workers used unless the caller says otherwise: one per core. */
export function defaultWorkers(): number {
  return Math.max(1, navigator.hardwareConcurrency ?? 1);
}

/** The module each worker runs. */
const WORKER_MODULE = new URL("./segment_worker.ts", import.meta.url);

/** Most segment workers one sealing or opening may start. */
export const MAX_WORKERS = 64;

interface Pending {
  resolve: (reply: WorkerReply) => void;
  reject: (error: Error) => void;
}

/** One started worker and the requests it has not answered yet. */
interface Slot {
  worker: Worker;
  pending: Map<number, Pending>;
  /** Resolves true once its modules have loaded, false if it failed to start. */
  ready: Promise<boolean>;
}

/**
 * Seals and opens one object's segments, on `workers` workers (0: all on
 * the calling thread). Call {@linkcode close} when done, also on failure.
 */
export class SegmentWorkers {
  readonly #keys: SegmentKeys;
  readonly #coder: ErasureCoder;
  readonly #k: number;
  readonly #n: number;
  readonly #workers: number;
  #slots: Promise<Slot[]> | undefined;
  #calls = 0;
  #nextId = 1;
  #failure: Error | undefined;
  #closed = false;

  constructor(keys: SegmentKeys, k: number, n: number, workers: number) {
    if (!Number.isInteger(workers) || workers < 0 || workers > MAX_WORKERS) {
      throw new RangeError(`workers must be an integer from 0 to ${MAX_WORKERS}, got ${workers}`);
    }
    this.#keys = keys;
    this.#coder = new ErasureCoder(k, n);
    this.#k = k;
    this.#n = n;
    this.#workers = workers;
  }

  /**
   * How many segments to keep in flight: one per worker and one more, so a
   * worker that finishes early usually finds the next segment waiting (1 on
   * the calling thread). Measured on 2 cores, 2 workers, 256 MiB seal (3 runs
   * each): 2 per worker gave 60 to 65 MB/s at 163 to 171 MiB peak RSS, one per
   * worker plus one 61 to 63 MB/s at 153 to 158 MiB, one per worker 63 to 67
   * MB/s at 141 to 146 MiB; but 1 worker with 1 in flight lost a fifth of its
   * speed, and more cores leave more workers waiting on the oldest segment, so
   * one spare stays.
   */
  get depth(): number {
    return this.#workers === 0 ? 1 : this.#workers + 1;
  }

  /** Seals plaintext segment `counter`; `data` is handed over (its buffer may be detached). */
  async seal(counter: number, last: boolean, data: Uint8Array): Promise<Uint8Array[]> {
    if (!await this.#useWorkers()) {
      return await sealSegmentFrames(this.#keys, this.#coder, counter, last, data);
    }
    const reply = await this.#send(
      { type: "seal", id: 0, counter, last, data },
      transferable([data]),
    );
    if (!("frames" in reply)) throw new Error("segment worker: not a seal reply");
    return reply.frames;
  }

  /**
   * Opens segment `counter` from its verified fragments (see
   * openSegmentFragments); the fragments are handed over.
   */
  async open(
    counter: number,
    last: boolean,
    length: number,
    fragments: (Uint8Array | undefined)[],
    wantLayer2: boolean,
  ): Promise<OpenedSegment> {
    if (!await this.#useWorkers()) {
      const keys = this.#keys;
      return await openSegmentFragments(
        keys,
        this.#coder,
        counter,
        last,
        length,
        fragments,
        wantLayer2,
      );
    }
    const reply = await this.#send(
      { type: "open", id: 0, counter, last, length, fragments, wantLayer2 },
      transferable(fragments),
    );
    if (!("plaintext" in reply)) throw new Error("segment worker: not an open reply");
    return { plaintext: reply.plaintext, layer2: reply.layer2 };
  }

  /** Ends the workers, and with them their copies of the keys. */
  close(): void {
    this.#closed = true;
    this.#slots?.then((slots) => slots.forEach((slot) => this.#end(slot)));
  }

  /**
   * Whether this call goes to the workers: never for the first, so one
   * segment starts none; not when no worker could start.
   */
  async #useWorkers(): Promise<boolean> {
    if (this.#closed) throw new Error("segment workers closed");
    if (this.#workers === 0 || this.#calls++ === 0) return false;
    this.#slots ??= this.#startAll();
    const slots = await this.#slots;
    if (this.#closed) throw new Error("segment workers closed");
    return slots.length > 0;
  }

  /** Starts the workers and waits until each has loaded; those that failed are ended. */
  async #startAll(): Promise<Slot[]> {
    if (!moduleFound(WORKER_MODULE)) return [];
    const started = Array.from({ length: this.#workers }, () => this.#start());
    const ready = await Promise.all(started.map((slot) => slot.ready));
    const slots = started.filter((slot, i) => {
      if (!ready[i]) this.#end(slot);
      return ready[i];
    });
    if (this.#closed) slots.forEach((slot) => this.#end(slot));
    return slots;
  }

  /** Sends `request` to the least busy worker; resolves to its reply. */
  async #send(
    request: WorkerRequest & { id: number },
    transfer: Transferable[],
  ): Promise<WorkerReply> {
    if (this.#failure !== undefined) throw this.#failure;
    const slots = await this.#slots!;
    const slot = slots.reduce((a, b) => b.pending.size < a.pending.size ? b : a);
    const id = this.#nextId++;
    return await new Promise<WorkerReply>((resolve, reject) => {
      slot.pending.set(id, { resolve, reject });
      slot.worker.postMessage({ ...request, id }, transfer);
    });
  }

  /** Starts one worker and gives it the keys. */
  #start(): Slot {
    const worker = new Worker(WORKER_MODULE, { type: "module" });
    let loaded: (ok: boolean) => void = () => {};
    const ready = new Promise<boolean>((resolve) => loaded = resolve);
    let started = false;
    const slot: Slot = { worker, pending: new Map(), ready };
    worker.onmessage = (event: MessageEvent<WorkerReply>) => {
      const reply = event.data;
      if ("ready" in reply) {
        started = true;
        return loaded(true);
      }
      const pending = slot.pending.get(reply.id);
      slot.pending.delete(reply.id);
      if ("error" in reply) pending?.reject(new Error(`segment worker: ${reply.error}`));
      else pending?.resolve(reply);
    };
    worker.onerror = (event: ErrorEvent) => {
      event.preventDefault();
      loaded(false);
      // One that never loaded is left out (#startAll); one that crashed fails the work.
      if (!started) return;
      this.#failure = new Error(`segment worker failed: ${event.message}`);
      for (const pending of slot.pending.values()) pending.reject(this.#failure);
      slot.pending.clear();
    };
    const keys: WorkerRequest = { type: "keys", keys: this.#keys, k: this.#k, n: this.#n };
    worker.postMessage(keys);
    return slot;
  }

  /** Ends `slot`'s worker and fails what it had not answered. */
  #end(slot: Slot): void {
    slot.worker.terminate();
    for (const pending of slot.pending.values()) {
      pending.reject(new Error("segment workers closed"));
    }
    slot.pending.clear();
  }
}

/**
 * Whether the module at `url` is there to load: a program bundled into one
 * file, or compiled without `--include core/segment_worker.ts`, has no file
 * beside it, and Deno would print an error of its own for the failed worker.
 */
function moduleFound(url: URL): boolean {
  if (url.protocol !== "file:") return true;
  try {
    return Deno.statSync(url).isFile;
  } catch {
    return false;
  }
}

/** The distinct buffers under `views` (a segment's pieces may share one). */
function transferable(views: readonly (Uint8Array | undefined)[]): Transferable[] {
  const buffers = new Set<ArrayBuffer>();
  for (const view of views) if (view !== undefined) buffers.add(view.buffer as ArrayBuffer);
  return [...buffers];
}
