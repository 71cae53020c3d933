/**
 * One share arriving from a server as numbered chunks. Chunks are taken in
 * order and acknowledged only when the reader pulls them, so what a server
 * may have in flight toward this client is bounded by its window however
 * slowly the client consumes.
 *
 * @module
 */

import type { Address } from "../net/envelope.ts";
import type { Host } from "../net/host.ts";
import { InOrderReceiver } from "../net/transfer.ts";

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
  #consumed = 0;
  #wake: (() => void) | undefined;
  #controller!: ReadableStreamDefaultController<Uint8Array>;
  #ended = false;

  constructor(
    host: Host,
    server: Address,
    id: string,
    size: number,
    idleTimeoutMs: number,
    onEnd: () => void,
  ) {
    this.#host = host;
    this.server = server;
    this.#id = id;
    this.#onEnd = onEnd;
    this.stream = new ReadableStream<Uint8Array>({
      start: (controller) => {
        this.#controller = controller;
        if (size === 0) this.#end();
      },
      pull: async (controller) => {
        // Wait for data, checking every second that the server is still on
        // the network: a server that left fails the stream in about 2 s, one
        // that hangs after `idleTimeoutMs`.
        const since = Date.now();
        let offline = 0;
        while (this.#queue.length === 0 && !this.#ended) {
          const arrived = new Promise<boolean>((resolve) => {
            const timer = setTimeout(() => resolve(false), 1000);
            this.#wake = () => {
              clearTimeout(timer);
              resolve(true);
            };
          });
          if (await arrived) continue;
          offline = await host.isOnline(server) ? 0 : offline + 1;
          const failure = offline >= 2
            ? `${server} left the network`
            : Date.now() - since >= idleTimeoutMs
            ? `${server} sent nothing for ${idleTimeoutMs / 1000} s`
            : undefined;
          if (failure !== undefined) {
            controller.error(new Error(failure));
            this.abort();
            return;
          }
        }
        const chunk = this.#queue.shift();
        if (chunk === undefined) return;
        this.#consumed += chunk.length;
        controller.enqueue(chunk);
        host.send(server, "get-ack", {
          download: id,
          seq: this.#receiver.expected - 1 - this.#queue.length,
        });
        if (this.#consumed >= size) {
          controller.close();
          this.#end();
        }
      },
      cancel: () => this.abort(),
    }, { highWaterMark: 0 });
  }

  /** Takes chunk `seq` if it is the next one; duplicates are re-acknowledged. */
  deliver(seq: number, data: Uint8Array): void {
    if (this.#ended) return;
    if (this.#receiver.accept(seq)) {
      this.#queue.push(data.slice());
      const wake = this.#wake;
      this.#wake = undefined;
      wake?.();
    } else {
      const taken = this.#receiver.expected - 1 - this.#queue.length;
      if (taken >= 0) this.#host.send(this.server, "get-ack", { download: this.#id, seq: taken });
    }
  }

  /** Stops the download, tells the server, and fails a pending read. */
  abort(): void {
    if (this.#ended) return;
    this.#host.send(this.server, "get-cancel", { download: this.#id });
    this.#end();
    try {
      this.#controller.error(new Error("download aborted"));
    } catch {
      // Already closed or cancelled.
    }
  }

  #end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#queue.length = 0;
    this.#wake?.();
    this.#onEnd();
  }
}
