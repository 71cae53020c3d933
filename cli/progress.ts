/**
 * Progress on stderr, only when stderr is a terminal and not silenced with
 * -q: one line, rewritten in place, for key derivation (scrypt) and for the
 * bytes moved (with rate and time left). Nothing is ever printed on stdout,
 * and nothing at all when stderr is a file or a pipe.
 *
 * @module
 */

import { formatSize } from "./format.ts";

/** The progress line on screen now, if any. */
let shown: Progress | undefined;

/** Clears whatever progress line is on screen, so an error starts on a clean line. */
export function clearProgress(): void {
  shown?.done();
}

/** A progress line for one operation. */
export class Progress {
  readonly #enabled: boolean;
  readonly #label: string;
  #started = 0;
  #lastDraw = 0;
  #drawn = false;

  /** `label` names the operation, e.g. `put /keys/wallet.dat`. */
  constructor(label: string, quiet: boolean) {
    this.#enabled = !quiet && Deno.stderr.isTerminal();
    this.#label = label;
  }

  /** Reports scrypt progress, 0..1. */
  kdf = (fraction: number): void => {
    this.#draw(`${this.#label}: deriving the key from the password ${Math.floor(fraction * 100)}%`);
  };

  /** Reports `done` bytes of `total` (when known) moved so far. */
  bytes = (done: number, total?: number): void => {
    if (this.#started === 0) this.#started = performance.now();
    const seconds = (performance.now() - this.#started) / 1000;
    const rate = seconds > 0.2 ? done / seconds : 0;
    let text = `${this.#label}: ${formatSize(done)}`;
    if (total !== undefined) text += ` of ${formatSize(total)}`;
    if (rate > 0) text += `, ${formatSize(rate)}/s`;
    if (rate > 0 && total !== undefined && total > done) {
      text += `, ${Math.ceil((total - done) / rate)} s left`;
    }
    this.#draw(text);
  };

  /** Reports servers that confirmed storage (always drawn: it is the last step). */
  stored = (stored: number, total: number): void => {
    this.#lastDraw = 0;
    this.#draw(`${this.#label}: stored on ${stored} of ${total} servers`);
  };

  /** Clears the line (before the result is printed). */
  done(): void {
    if (this.#drawn) this.#write("\r\x1b[2K");
    this.#drawn = false;
    if (shown === this) shown = undefined;
  }

  #draw(text: string): void {
    if (!this.#enabled) return;
    const now = performance.now();
    if (now - this.#lastDraw < 100) return;
    this.#lastDraw = now;
    const width = Deno.consoleSize().columns - 1;
    this.#write(`\r\x1b[2K${text.slice(0, Math.max(10, width))}`);
    this.#drawn = true;
    shown = this;
  }

  #write(text: string): void {
    Deno.stderr.writeSync(new TextEncoder().encode(text));
  }
}
