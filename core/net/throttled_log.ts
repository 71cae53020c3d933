/**
 * A log that a flood cannot turn into a flood of lines: a few lines a minute,
 * and a count of the rest. Hosts log dropped messages through one, servers
 * their per-request notes.
 *
 * @module
 */

/** Lines written per minute by default before the rest are only counted. */
export const LINES_PER_MINUTE = 20;

/** Writes at most `perMinute` lines a minute to `log`; counts and reports the rest. */
export class ThrottledLog {
  readonly #log: (level: "info" | "warn", message: string) => void;
  readonly #level: "info" | "warn";
  readonly #perMinute: number;
  #windowStart = 0;
  #written = 0;
  #suppressed = 0;

  constructor(
    log: (level: "info" | "warn", message: string) => void,
    level: "info" | "warn" = "warn",
    perMinute = LINES_PER_MINUTE,
  ) {
    this.#log = log;
    this.#level = level;
    this.#perMinute = perMinute;
  }

  /** Logs `text`, unless this minute's lines are used up. */
  line(text: string, now = Date.now()): void {
    if (now - this.#windowStart > 60_000) {
      if (this.#suppressed > 0) {
        this.#log(this.#level, `(${this.#suppressed} more such lines in the last minute)`);
      }
      this.#windowStart = now;
      this.#written = 0;
      this.#suppressed = 0;
    }
    if (this.#written < this.#perMinute) {
      this.#written++;
      this.#log(this.#level, text);
    } else this.#suppressed++;
  }
}
