/**
 * Bulk transfer over pub/sub, which loses messages on a reconnect and whose
 * subscribers Redis disconnects when too much is queued for them. Data moves
 * as numbered chunks; the receiver acknowledges the highest sequence it has
 * taken in order (cumulative acks); the sender keeps at most a window of
 * unacknowledged chunks and, when acks stop coming, sends them all again
 * (go-back-N). So what is queued for any subscriber never exceeds one window
 * per peer, whatever the file size.
 *
 * @module
 */

/** Tuning of a sender. */
export interface WindowOptions {
  /** Most chunks unacknowledged at once. */
  windowChunks: number;
  /** Most bytes unacknowledged at once (one chunk is always allowed). */
  windowBytes: number;
  /** Resend everything unacknowledged when no ack arrives for this long. */
  resendAfterMs: number;
  /** Fail when no ack arrives for this long. */
  giveUpAfterMs: number;
  /**
   * Asked while acks are overdue; two `false` answers in a row (a peer that
   * left the network) fail the transfer at once instead of at `giveUpAfterMs`.
   */
  isPeerOnline?: () => Promise<boolean | undefined>;
  /** Called with each chunk once it is acknowledged (it will not be sent again): e.g. to reuse it. */
  onAcked?: (chunk: Uint8Array) => void;
}

/** Defaults: about 2 MiB in flight per peer, resend after 1.5 s, give up after 20 s. */
export const DEFAULT_WINDOW: WindowOptions = {
  windowChunks: 8,
  windowBytes: 2 * 2 ** 20,
  resendAfterMs: 1500,
  giveUpAfterMs: 20_000,
};

/** Thrown when a transfer's peer stops acknowledging. */
export class TransferTimeoutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TransferTimeoutError";
  }
}

/** Sends numbered chunks with a bounded window and retransmission. */
export class WindowedSender {
  readonly #send: (seq: number, chunk: Uint8Array) => Promise<boolean>;
  readonly #options: WindowOptions;
  readonly #unacked: { seq: number; chunk: Uint8Array }[] = [];
  #unackedBytes = 0;
  #nextSeq = 0;
  #lastProgress = Date.now();
  #failure: Error | undefined;
  #offlineChecks = 0;
  #checking = false;
  #wake: (() => void) | undefined;
  #timer: ReturnType<typeof setInterval>;

  /** `send(seq, chunk)` publishes one chunk; it resolves whether anyone received it. */
  constructor(
    send: (seq: number, chunk: Uint8Array) => Promise<boolean>,
    options: Partial<WindowOptions> = {},
  ) {
    this.#send = send;
    this.#options = { ...DEFAULT_WINDOW, ...options };
    const tick = Math.max(50, Math.min(500, this.#options.resendAfterMs / 3));
    this.#timer = setInterval(() => this.#check(), tick);
  }

  /** Number of chunks pushed so far (the next sequence number). */
  get sent(): number {
    return this.#nextSeq;
  }

  /** Sends `chunk` as the next sequence number, first waiting for room in the window. */
  async push(chunk: Uint8Array): Promise<void> {
    while (this.#full()) {
      this.#throwIfFailed();
      await new Promise<void>((resolve) => this.#wake = resolve);
    }
    this.#throwIfFailed();
    if (this.#unacked.length === 0) this.#lastProgress = Date.now();
    const seq = this.#nextSeq++;
    this.#unacked.push({ seq, chunk });
    this.#unackedBytes += chunk.length;
    // Not awaited: publishes on one connection stay in order, and the window
    // (not the publish round trip) is what paces the sender.
    this.#send(seq, chunk);
  }

  /** Records a cumulative ack: every chunk up to and including `seq` arrived. */
  ack(seq: number): void {
    let progressed = false;
    while (this.#unacked.length > 0 && this.#unacked[0].seq <= seq) {
      const { chunk } = this.#unacked.shift()!;
      this.#unackedBytes -= chunk.length;
      this.#options.onAcked?.(chunk);
      progressed = true;
    }
    if (progressed) {
      this.#lastProgress = Date.now();
      this.#notify();
    }
  }

  /** Resolves once every chunk pushed has been acknowledged. */
  async drain(): Promise<void> {
    while (this.#unacked.length > 0) {
      this.#throwIfFailed();
      await new Promise<void>((resolve) => this.#wake = resolve);
    }
    this.#throwIfFailed();
  }

  /** Sends every unacknowledged chunk again now (after a reconnect). */
  resend(): void {
    this.#lastProgress = Math.min(this.#lastProgress, Date.now());
    for (const { seq, chunk } of this.#unacked) this.#send(seq, chunk);
  }

  /** Stops the transfer: pending and later calls reject with `error`. */
  fail(error: Error): void {
    this.#failure ??= error;
    this.close();
    this.#notify();
  }

  /** Stops the retransmission timer. */
  close(): void {
    clearInterval(this.#timer);
  }

  #full(): boolean {
    if (this.#unacked.length === 0) return false;
    return this.#unacked.length >= this.#options.windowChunks ||
      this.#unackedBytes >= this.#options.windowBytes;
  }

  #check(): void {
    if (this.#unacked.length === 0 || this.#failure) return;
    const idle = Date.now() - this.#lastProgress;
    if (idle >= this.#options.giveUpAfterMs) {
      this.fail(new TransferTimeoutError(`no acknowledgement for ${Math.round(idle / 1000)} s`));
    } else if (idle >= this.#options.resendAfterMs) {
      this.#checkPeer();
      const first = this.#unacked[0];
      this.#send(first.seq, first.chunk).then((received) => {
        if (received) {
          for (const { seq, chunk } of this.#unacked.slice(1)) this.#send(seq, chunk);
        }
      });
    }
  }

  #checkPeer(): void {
    const isOnline = this.#options.isPeerOnline;
    if (isOnline === undefined || this.#checking) return;
    this.#checking = true;
    isOnline().then((online) => {
      this.#checking = false;
      // Undefined (Redis could not be asked) neither counts nor clears.
      if (online === true) this.#offlineChecks = 0;
      if (online === false) this.#offlineChecks++;
      if (this.#offlineChecks >= 2) {
        this.fail(new TransferTimeoutError("the peer left the network"));
      }
    });
  }

  #throwIfFailed(): void {
    if (this.#failure) throw this.#failure;
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}

/** The receiving side's bookkeeping: in-order acceptance and what to ack. */
export class InOrderReceiver {
  #expected = 0;

  /** Next sequence number wanted. */
  get expected(): number {
    return this.#expected;
  }

  /**
   * Whether chunk `seq` is the next one wanted (then it counts as taken).
   * Duplicates and chunks after a gap return false; the caller acks
   * `expected - 1` either way so the sender learns where it stands.
   */
  accept(seq: number): boolean {
    if (seq !== this.#expected) return false;
    this.#expected++;
    return true;
  }
}
