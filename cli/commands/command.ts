/**
 * The shape of a command: its name, one-line summary, help text and runner.
 *
 * @module
 */

import type { Options } from "../args.ts";

/** One `secshrnet` subcommand. */
export interface Command {
  /** What the user types. */
  readonly name: string;
  /** One line for `secshrnet --help`. */
  readonly summary: string;
  /** Full help for `secshrnet CMD --help`. */
  readonly help: string;
  /** Its flags, in node:util parseArgs form (also used for shell completion). */
  readonly options: Options;
  /** Runs with the arguments after the command name; resolves to the exit code. */
  run(args: string[]): Promise<number>;
}
