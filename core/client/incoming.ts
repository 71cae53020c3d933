/**
 * One share arriving from a server as numbered chunks. The client names the
 * download and registers it before asking, so no chunk can arrive for an
 * unknown download; its length is learnt from the server's reply. Chunks are
 * taken in order and acknowledged only when the reader pulls them, so what a
 * server may have in flight toward this client is bounded by its window
 * however slowly the client consumes. A server that ignores the window, or
 * sends more than it announced, fails the download at once: what waits here
 * never exceeds one window and one chunk.
 *
 * @module
 */

import { type Address, displayName } from "../net/envelope.ts";
import type { Host } from "../net/host.ts";
import { InOrderReceiver } from "../net/transfer.ts";

/** Largest chunk a server sends (server/protocol.ts clamps what clients ask to it). */
export const MAX_DOWNLOAD_CHUNK = 512 * 1024;

/** Options of an {@linkcode IncomingShare}. */
export interface IncomingOptions {
  /** A server silent this long is given up. */
  idleTimeoutMs: number;
  /** The window the client asked for: bytes the server may send ahead of the reader. */
  windowBytes: number;
  /** Called once when the download ends, however it ends. */
  onEnd: () => void;
}

/** The receiving end of one download. */
export class IncomingShare {
  /** The server sending it. */
  readonly server: Address;
  /** The bytes, as the reader pulls them. */
  readonly stream: ReadableStream<Uint8Array>;
  readonly #host: Host;
  readonly #id: string;
  readonly #receiver = new InOrderReceiver();
  readonly #queue: Uint8Array[] = [];
  readonly #onEnd: () => void;
  readonly #maxQueued: number;
  #queued = 0;
  #size: number | undefined;
  #consumed = 0;
  #wake: (() => void) | undefined;
  #controller!: ReadableStreamDefaultController<Uint8Array>;
  #ended = false;

  constructor(host: Host, server: Address, id: string, options: IncomingOptions) {
    const { idleTimeoutMs } = options;
    this.#host = host;
    this.server = server;
    this.#id = id;
    this.#onEnd = options.onEnd;
    this.#maxQueued = options.windowBytes + MAX_DOWNLOAD_CHUNK;
    this.stream = new ReadableStream<Uint8Array>({
      start: (controller) => {
        this.#controller = controller;
      },
      pull: async (controller) => {
        // Wait for data, checking every second that the server is still on
        // the network: a server that left fails the stream in about 2 s, one
        // that hangs after `idleTimeoutMs`.
        const since = Date.now();
        let offline = 0;
        while (this.#queue.length === 0 && !this.#ended && !this.#complete()) {
          const arrived = new Promise<boolean>((resolve) => {
            const timer = setTimeout(() => resolve(false), 1000);
            this.#wake = () => {
              clearTimeout(timer);
              resolve(true);
            };
          });
          if (await arrived) continue;
          // Undefined (Redis could not be asked) neither counts nor clears.
          const online = await host.isOnline(server);
          if (online === true) offline = 0;
          if (online === false) offline++;
          const failure = offline >= 2
            ? `${displayName(server)} left the network`
            : Date.now() - since >= idleTimeoutMs
            ? `${displayName(server)} sent nothing for ${idleTimeoutMs / 1000} s`
            : undefined;
          if (failure !== undefined) {
            controller.error(new Error(failure));
            this.abort();
            return;
          }
        }
        if (this.#ended) return;
        const chunk = this.#queue.shift();
        if (chunk !== undefined) {
          this.#queued -= chunk.length;
          this.#consumed += chunk.length;
          controller.enqueue(chunk);
          host.send(server, "get-ack", { download: id, seq: this.#taken() });
        }
        if (this.#complete()) {
          controller.close();
          this.#end();
        }
      },
      cancel: () => this.abort(),
    }, { highWaterMark: 0 });
  }

  /** Sets the number of bytes the server will send (from its reply). */
  setSize(size: number): void {
    this.#size = size;
    this.#checkOverrun();
    this.#notify();
  }

  /**
   * Takes chunk `seq` if it is the next one; duplicates are re-acknowledged.
   * A chunk beyond the window or the announced size fails the download.
   */
  deliver(seq: number, data: Uint8Array): void {
    if (this.#ended) return;
    if (this.#receiver.accept(seq)) {
      this.#queue.push(data); // a view of its own message buffer, which nothing reuses
      this.#queued += data.length;
      if (this.#checkOverrun()) return;
      this.#notify();
    } else if (this.#taken() >= 0) {
      this.#host.send(this.server, "get-ack", { download: this.#id, seq: this.#taken() });
    }
  }

  /** Stops the download, tells the server, and fails a pending read (with `reason`). */
  abort(reason = "download aborted"): void {
    if (this.#ended) return;
    this.#host.send(this.server, "get-cancel", { download: this.#id });
    this.#end();
    try {
      this.#controller.error(new Error(reason));
    } catch {
      // Already closed or cancelled.
    }
  }

  /** Fails the download if the server sent beyond its window or its size; true when it did. */
  #checkOverrun(): boolean {
    const name = displayName(this.server);
    const failure = this.#queued > this.#maxQueued
      ? `${name} sent beyond the download window (${this.#queued} bytes unread)`
      : this.#size !== undefined && this.#consumed + this.#queued > this.#size
      ? `${name} sent more than the ${this.#size} bytes it announced`
      : undefined;
    if (failure !== undefined) this.abort(failure);
    return failure !== undefined;
  }

  /** Sequence number of the last chunk the reader has taken (−1 before the first). */
  #taken(): number {
    return this.#receiver.expected - 1 - this.#queue.length;
  }

  #complete(): boolean {
    return this.#size !== undefined && this.#queue.length === 0 && this.#consumed >= this.#size;
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  #end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#queue.length = 0;
    this.#notify();
    this.#onEnd();
  }
}
