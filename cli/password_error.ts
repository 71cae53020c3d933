/**
 * The one error every password source throws (cli/password.ts and its
 * modules); cli/exit.ts maps it to exit 2, or 130 when cancelled.
 *
 * @module
 */

/** A password could not be obtained; the message is one line and never holds the password. */
export class PasswordError extends Error {
  /** True when the user pressed Ctrl-C (or the process got SIGINT) at the prompt or command. */
  readonly cancelled: boolean;
  constructor(message: string, options: { cancelled?: boolean } = {}) {
    super(message);
    this.name = "PasswordError";
    this.cancelled = options.cancelled ?? false;
  }
}
