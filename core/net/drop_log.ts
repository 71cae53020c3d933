/**
 * Logging of dropped messages that a flood cannot turn into a flood of log
 * lines: a few lines a minute, and a count of the rest.
 *
 * @module
 */

/** Lines logged per minute before the rest are only counted. */
export const DROP_LINES_PER_MINUTE = 20;

/** Logs dropped messages, at most {@linkcode DROP_LINES_PER_MINUTE} lines a minute. */
export class DropLog {
  readonly #log: (level: "warn", message: string) => void;
  #windowStart = 0;
  #logged = 0;
  #suppressed = 0;

  constructor(log: (level: "warn", message: string) => void) {
    this.#log = log;
  }

  /** Records that `what` was dropped. */
  dropped(what: string, now = Date.now()): void {
    if (now - this.#windowStart > 60_000) {
      if (this.#suppressed > 0) {
        this.#log("warn", `dropped ${this.#suppressed} more messages in the last minute`);
      }
      this.#windowStart = now;
      this.#logged = 0;
      this.#suppressed = 0;
    }
    if (this.#logged < DROP_LINES_PER_MINUTE) {
      this.#logged++;
      this.#log("warn", `dropped ${what}`);
    } else this.#suppressed++;
  }
}
