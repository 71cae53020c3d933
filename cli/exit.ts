/**
 * Exit codes, the same for every command (README, "Exit codes"), the
 * mapping from errors to them, and the error object `--json` prints.
 *
 * @module
 */

import { SecshrnetError } from "../core/errors.ts";
import { PasswordError } from "./password.ts";

/** The documented exit codes. */
export const EXIT = {
  /** Done, fully. */
  ok: 0,
  /** Failed: network, I/O, refused, or not stored. */
  failure: 1,
  /** Bad command line, config or input. */
  usage: 2,
  /** put stored the file on at least k but not all servers: recoverable, less redundant. */
  reduced: 3,
  /** The tag is not found, or not enough intact shares exist. */
  notFound: 4,
  /** The password is wrong. */
  wrongPassword: 5,
  /** Refused to replace an existing tag or file without --force. */
  exists: 6,
  /** Interrupted (Ctrl-C). */
  interrupted: 130,
} as const;

/** The user pressed Ctrl-C; what was started has been released. */
export class InterruptedError extends Error {
  constructor() {
    super("interrupted");
    this.name = "InterruptedError";
  }
}

/**
 * Runs `task` with a signal that aborts (with an InterruptedError) on
 * Ctrl-C, instead of the process dying with work half done.
 */
export async function interruptible<T>(task: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const interrupt = () => controller.abort(new InterruptedError());
  Deno.addSignalListener("SIGINT", interrupt);
  try {
    return await task(controller.signal);
  } finally {
    Deno.removeSignalListener("SIGINT", interrupt);
  }
}

/** The exit code for `error`. */
export function exitCodeFor(error: unknown): number {
  if (error instanceof InterruptedError) return EXIT.interrupted;
  if (error instanceof PasswordError) return error.cancelled ? EXIT.interrupted : EXIT.usage;
  if (!(error instanceof SecshrnetError)) return EXIT.failure;
  switch (error.code) {
    case "usage":
    case "kdf-limit":
      return EXIT.usage;
    case "not-found":
    case "not-enough-shares":
      return EXIT.notFound;
    case "wrong-password":
      return EXIT.wrongPassword;
    case "exists":
      return EXIT.exists;
    default:
      return EXIT.failure;
  }
}

/**
 * The `code` of `--json`'s error object for `error`: a SecshrnetError's own
 * code ("usage", "network", "wrong-password", ...), "password" for a password
 * that could not be read, "interrupted" for Ctrl-C, else "unexpected".
 */
export function errorCodeFor(error: unknown): string {
  if (error instanceof SecshrnetError) return error.code;
  if (error instanceof PasswordError) return error.cancelled ? "interrupted" : "password";
  if (error instanceof InterruptedError) return "interrupted";
  return "unexpected";
}

/**
 * The one JSON object a command run with `--json` prints on stdout when it
 * fails: `{"error":{"code":CODE,"message":MESSAGE},"exit":EXIT}`, MESSAGE
 * being the stderr line without its "secshrnet: " prefix.
 */
export function failureJson(code: string, message: string, exit: number): string {
  return JSON.stringify({ error: { code, message }, exit });
}

/** Whether `args` (after the command name) ask for JSON: `--json` before any `--`. */
export function wantsJson(args: readonly string[]): boolean {
  const end = args.indexOf("--");
  return (end < 0 ? args : args.slice(0, end)).includes("--json");
}
