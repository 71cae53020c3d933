/**
 * The `secshrnet` command. `deno task secshrnet ARGS` and the compiled
 * binary both start here, with the same permissions and V8 flags.
 *
 * @module
 */

import { FORMAT_VERSION, SecshrnetError, VERSION } from "../mod.ts";
import { PROTOCOL_VERSION } from "../core/net/envelope.ts";
import {
  errorCodeFor,
  EXIT,
  exitCodeFor,
  failureJson,
  InterruptedError,
  wantsJson,
} from "./exit.ts";
import type { Command } from "./commands/command.ts";
import { serve } from "./commands/serve.ts";
import { put } from "./commands/put.ts";
import { get } from "./commands/get.ts";
import { ls, servers } from "./commands/ls.ts";
import { rm } from "./commands/rm.ts";
import { recover } from "./commands/recover.ts";
import { check } from "./commands/check.ts";
import { repair } from "./commands/repair.ts";
import { trust, untrust } from "./commands/trust.ts";
import { configCommand } from "./commands/config.ts";
import { completionsCommand } from "./commands/completions.ts";
import { shellCommand } from "./commands/shell.ts";
import { PasswordError } from "./password.ts";
import { tuneAllocator } from "../core/memory.ts";
import { closest } from "./suggest.ts";
import { clearProgress } from "./progress.ts";

/** Every command, in the order `--help` lists them. */
export const COMMANDS: readonly Command[] = [
  serve,
  put,
  get,
  ls,
  servers,
  rm,
  check,
  repair,
  recover,
  trust,
  untrust,
  configCommand,
  shellCommand(() => COMMANDS),
  completionsCommand(() => COMMANDS),
];

function help(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  const lines = COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return `secshrnet ${VERSION}: keep confidential files safe and durable on servers you do not fully trust

Usage: secshrnet COMMAND [OPTIONS]

Commands:
${lines.join("\n")}

Run 'secshrnet COMMAND --help' for a command's options and examples.

Options:
  -h, --help      show this help
  -V, --version   show the version

Exit codes: 0 ok, 1 failure, 2 usage, 3 stored with reduced redundancy,
4 not found or not recoverable, 5 wrong password, 6 exists (use --force).`;
}

/** Runs the command line `args`; resolves to the exit code. */
export async function main(args: string[]): Promise<number> {
  const [name, ...rest] = configFirst(args);
  const json = wantsJson(rest);
  if (name === undefined) {
    // No command is a usage error: the help goes to stderr, exit 2.
    console.error(help());
    return EXIT.usage;
  }
  if (name === "help" || name === "-h" || name === "--help") {
    console.log(help());
    return EXIT.ok;
  }
  if (name === "version" || name === "-V" || name === "--version") {
    if (rest.length > 0) return usage(`'${name}' takes no arguments`, json);
    console.log(`secshrnet ${VERSION} (format ${FORMAT_VERSION}, protocol ${PROTOCOL_VERSION})`);
    return EXIT.ok;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (command === undefined) {
    const guess = closest(name, COMMANDS.map((c) => c.name));
    return usage(
      `unknown command '${name}'${guess ? ` (did you mean '${guess}'?)` : ""}`,
      json,
    );
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    console.log(command.help);
    return EXIT.ok;
  }
  try {
    return await command.run(rest);
  } catch (error) {
    report(error, json);
    return exitCodeFor(error);
  }
}

/**
 * `secshrnet -c CONF COMMAND ...` as `secshrnet COMMAND -c CONF ...`: the
 * config flag may come before the command, as in git or restic.
 */
function configFirst(args: string[]): string[] {
  const [first, second] = args;
  if ((first === "-c" || first === "--config") && second !== undefined) {
    const [, , command, ...rest] = args;
    return command === undefined ? [] : [command, first, second, ...rest];
  }
  const joined = /^(?:-c=?|--config=)(.+)$/s.exec(first ?? "");
  if (joined) {
    const [, command, ...rest] = args;
    return command === undefined ? [] : [command, "-c", joined[1], ...rest];
  }
  return args;
}

function usage(message: string, json: boolean): number {
  fail("usage", `${message}; run 'secshrnet --help'`, EXIT.usage, json);
  return EXIT.usage;
}

/**
 * Prints `error` as one line on stderr and, for a command run with `--json`,
 * as one JSON object on stdout too (exit.ts, failureJson). Only errors a
 * command throws come here: a command that printed its JSON result and then
 * exits non-zero (put 3, check 3/4) returns its code instead.
 */
function report(error: unknown, json: boolean): void {
  clearProgress(); // never "…99%secshrnet: wrong password"
  let message: string;
  if (
    error instanceof SecshrnetError || error instanceof PasswordError ||
    error instanceof InterruptedError
  ) {
    message = error.message;
  } else {
    const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    message = `unexpected error: ${text.split("\n")[0]}`;
  }
  fail(errorCodeFor(error), message, exitCodeFor(error), json);
}

/** Prints "secshrnet: MESSAGE" on stderr, and with `json` the failure object on stdout. */
function fail(code: string, message: string, exit: number, json: boolean): void {
  console.error(`secshrnet: ${message}`);
  if (json) console.log(failureJson(code, message, exit));
}

if (import.meta.main) {
  tuneAllocator();
  Deno.exit(await main(Deno.args));
}
