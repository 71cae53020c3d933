/**
 * One producer, several readable streams, bounded memory: the producer waits
 * until every stream still being read has room before it makes the next
 * piece. A stream whose reader cancels it is dropped; the producer learns
 * when all of them are gone.
 *
 * @module
 */

/** Fans chunks out to `count` readable streams with a shared pace. */
export class FanOut {
  /** The output streams, one per destination. */
  readonly streams: ReadableStream<Uint8Array>[];
  readonly #controllers: ReadableStreamDefaultController<Uint8Array>[] = [];
  readonly #cancelled: boolean[];
  #wake: (() => void) | undefined;

  constructor(count: number, highWaterMark = 2) {
    this.#cancelled = new Array(count).fill(false);
    this.streams = Array.from({ length: count }, (_, i) =>
      new ReadableStream<Uint8Array>({
        start: (controller) => {
          this.#controllers[i] = controller;
        },
        pull: () => this.#notify(),
        cancel: () => {
          this.#cancelled[i] = true;
          this.#notify();
        },
      }, { highWaterMark }));
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  /** Which streams were cancelled by their readers. */
  get cancelled(): readonly boolean[] {
    return this.#cancelled;
  }

  /**
   * Resolves once every stream not cancelled has room for one more chunk;
   * resolves `false` when every stream has been cancelled.
   */
  async ready(): Promise<boolean> {
    while (true) {
      let waiting = false;
      let open = 0;
      for (let i = 0; i < this.#controllers.length; i++) {
        if (this.#cancelled[i]) continue;
        open++;
        if ((this.#controllers[i].desiredSize ?? 1) <= 0) waiting = true;
      }
      if (open === 0) return false;
      if (!waiting) return true;
      await new Promise<void>((resolve) => this.#wake = resolve);
    }
  }

  /** Queues `chunk` on stream `i` unless it was cancelled. */
  enqueue(i: number, chunk: Uint8Array): void {
    if (!this.#cancelled[i]) this.#controllers[i].enqueue(chunk);
  }

  /** Ends every stream normally. */
  close(): void {
    this.#controllers.forEach((controller, i) => {
      if (!this.#cancelled[i]) controller.close();
    });
  }

  /** Ends every stream with `reason`. */
  error(reason: unknown): void {
    this.#controllers.forEach((controller, i) => {
      if (!this.#cancelled[i]) controller.error(reason);
    });
  }
}
