/**
 * Command-line parsing for every command, on `node:util` parseArgs: strict
 * (an unknown flag is an error naming it), with the flags shared by the
 * client commands declared once.
 *
 * @module
 */

import { parseArgs, type ParseArgsConfig } from "node:util";
import { UsageError } from "../core/errors.ts";
import { MAX_WORKERS } from "../core/segment_workers.ts";
import { closest } from "./suggest.ts";

/** Option declarations in parseArgs form. */
export type Options = NonNullable<ParseArgsConfig["options"]>;

/** Flags every client command takes. */
export const CLIENT_OPTIONS: Options = {
  config: { type: "string", short: "c" },
  help: { type: "boolean", short: "h" },
};

/** Flags of commands that need a password. */
export const PASSWORD_OPTIONS: Options = {
  "password-file": { type: "string" },
  "password-fd": { type: "string" },
  "password-command": { type: "string" },
  "max-log-n": { type: "string" },
};

/** The `--workers N` flag of the commands that seal or open objects (put, get, repair, check). */
export const WORKERS_OPTIONS: Options = {
  workers: { type: "string" },
};

/** The `--workers N` line of those commands' --help. */
export const WORKERS_HELP =
  `      --workers N       threads for encryption and erasure coding, 0 to ${MAX_WORKERS}
                        (0 = one thread; default [client] workers, else one per core)`;

/** Parsed flags and positional arguments. */
export interface Parsed {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

/** Parses `args` against `options`; throws a UsageError naming the bad flag. */
export function parse(args: string[], options: Options): Parsed {
  try {
    const { values, positionals } = parseArgs({
      args: splitShortEquals(args, options),
      options,
      allowPositionals: true,
      strict: true,
    });
    return { values: values as Parsed["values"], positionals };
  } catch (error) {
    const message = (error as Error).message.replace(/\. To specify a positional.*$/s, "");
    const unknown = /Unknown option '(-{1,2}[^']+)'/.exec(message)?.[1];
    if (unknown === undefined) throw new UsageError(message.split("\n")[0]);
    const flags = Object.entries(options).flatMap(([name, option]) => [
      `--${name}`,
      ...(option.short ? [`-${option.short}`] : []),
    ]);
    const guess = closest(unknown, flags);
    throw new UsageError(`unknown option ${unknown}${guess ? `; did you mean ${guess}?` : ""}`);
  }
}

/**
 * `-k=2` as `-k 2` (parseArgs takes `=2` as the value of a short flag), for
 * the short flags of `options` that take a value; `--` ends the flags.
 */
function splitShortEquals(args: string[], options: Options): string[] {
  const valued = new Set(
    Object.values(options).filter((o) => o.type === "string" && o.short).map((o) => o.short),
  );
  const out: string[] = [];
  for (const [i, arg] of args.entries()) {
    if (arg === "--") return [...out, ...args.slice(i)];
    const match = /^-([A-Za-z])=(.*)$/s.exec(arg);
    if (match && valued.has(match[1])) out.push(`-${match[1]}`, match[2]);
    else out.push(arg);
  }
  return out;
}

/** How a flag is written on the command line: `-k` for a one-letter name, else `--name`. */
export function flagName(name: string): string {
  return name.length === 1 ? `-${name}` : `--${name}`;
}

/** An integer flag value within `min..max`, or `undefined` when absent. */
export function intFlag(
  value: unknown,
  name: string,
  min: number,
  max: number,
): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (typeof value !== "string" || !/^\d+$/.test(value) || number < min || number > max) {
    throw new UsageError(`${flagName(name)} must be an integer from ${min} to ${max}`);
  }
  return number;
}

/** Exactly `min` to `max` positional arguments, else a UsageError with `usage`. */
export function positionals(parsed: Parsed, min: number, max: number, usage: string): string[] {
  if (parsed.positionals.length < min || parsed.positionals.length > max) {
    throw new UsageError(`usage: ${usage}`);
  }
  return parsed.positionals;
}

/**
 * `--workers N`: 0 to {@linkcode MAX_WORKERS} (a UsageError otherwise), or
 * undefined when not given (then `[client] workers`, else one per core).
 */
export function workersFlag(parsed: Parsed): number | undefined {
  return intFlag(parsed.values.workers, "workers", 0, MAX_WORKERS);
}
