/**
 * The `secshrnet` command. `deno task secshrnet ARGS` and the compiled
 * binary both start here, with the same permissions.
 *
 * @module
 */

import { FORMAT_VERSION, SecshrnetError, VERSION } from "../mod.ts";

/** Exit codes shared by every command (README, "Exit codes"). */
export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

const HELP =
  `secshrnet ${VERSION}: keep confidential files safe and durable on servers you do not fully trust

Usage: secshrnet COMMAND [OPTIONS]

Commands available in this version:
  help        show this help
  version     show the version and the format version

The storage network (serve, put, get, ls, servers, rm, shell) is not built
yet; the object format and its library (mod.ts) are. See README.md.

Options:
  -h, --help      show this help
  -V, --version   show the version`;

/** Runs the command line `args`; returns the exit code. */
export function main(args: string[]): number {
  const [command, ...rest] = args;
  if (command === undefined || command === "help" || command === "-h" || command === "--help") {
    console.log(HELP);
    return EXIT.ok;
  }
  if (command === "version" || command === "-V" || command === "--version") {
    console.log(`secshrnet ${VERSION} (format ${FORMAT_VERSION})`);
    return rest.length === 0 ? EXIT.ok : usage(`'${command}' takes no arguments`);
  }
  return usage(`unknown command '${command}'`);
}

function usage(message: string): number {
  console.error(`secshrnet: ${message}; run 'secshrnet --help'`);
  return EXIT.usage;
}

if (import.meta.main) {
  try {
    Deno.exit(main(Deno.args));
  } catch (error) {
    const message = error instanceof SecshrnetError ? error.message : String(error);
    console.error(`secshrnet: ${message}`);
    Deno.exit(EXIT.failure);
  }
}
