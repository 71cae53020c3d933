/**
 * Reading typed values out of a parsed TOML document, with one-line errors
 * that name the file, table and key: strings, booleans, bounded integers,
 * byte sizes such as "512 MiB", and table checks against known keys.
 *
 * @module
 */

import { UsageError } from "./errors.ts";

/** A parsed TOML table. */
export type Table = Record<string, unknown>;

/** The config file or SECSHRNET_REDIS_URL is missing, unreadable or invalid (one-line message). */
export class ConfigError extends UsageError {
  constructor(message: string) {
    super(message.replace(/\s*[\r\n]+\s*/g, " "));
  }
}

/**
 * Reads a byte count: a positive integer, or a string like "512 MiB", "1.5GiB", "2 GB", "123"
 * (B, KB, MB, GB, TB are powers of 1000; KiB, MiB, GiB, TiB of 1024; case-insensitive; decimals
 * are floored to whole bytes). `key` and `source` name the setting in the error.
 */
export function parseByteSize(value: unknown, key: string, source: string): number {
  const expected = `${source}: ${key} must be a positive whole number of bytes or a size like ` +
    `"512 MiB" (units B, KB, MB, GB, TB, KiB, MiB, GiB, TiB)`;
  let bytes: bigint;
  if (typeof value === "bigint") {
    bytes = value;
  } else if (typeof value === "number" && Number.isSafeInteger(value)) {
    bytes = BigInt(value);
  } else if (typeof value === "string") {
    const match = /^\s*(\d+)(?:\.(\d+))?\s*([A-Za-z]*)\s*$/.exec(value);
    const unit = match ? BYTE_UNITS.get(match[3].toLowerCase()) : undefined;
    if (!match || unit === undefined) {
      throw new ConfigError(`${expected}, not ${JSON.stringify(value)}`);
    }
    const fraction = match[2] ?? "";
    bytes = BigInt(match[1] + fraction) * unit / 10n ** BigInt(fraction.length);
  } else {
    throw new ConfigError(`${expected}, not ${describe(value)}`);
  }
  if (bytes < 1n) {
    throw new ConfigError(`${expected}, not ${formatValue(value)} (less than 1 byte)`);
  }
  if (bytes > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new ConfigError(`${source}: ${key} is too large: ${formatValue(value)}`);
  }
  return Number(bytes);
}

/** Multiplier of each size unit, by lower-case name. */
const BYTE_UNITS = new Map<string, bigint>([["", 1n], ["b", 1n]]);
for (const [i, prefix] of ["k", "m", "g", "t"].entries()) {
  BYTE_UNITS.set(`${prefix}b`, 1000n ** BigInt(i + 1));
  BYTE_UNITS.set(`${prefix}ib`, 1024n ** BigInt(i + 1));
}

/** One table of the config file, with where it came from for messages. */
export interface Section {
  readonly file: string;
  readonly name: string;
  readonly values: Table;
}

/** The table `name` of `doc` (empty when absent); a key not in `known` is refused. */
export function section(
  doc: Table,
  name: string,
  file: string,
  known: readonly string[],
): Section {
  const values = doc[name] ?? Object.create(null);
  if (!isTable(values)) {
    throw new ConfigError(`${file}: [${name}] must be a table, not ${describe(values)}`);
  }
  for (const key of Object.keys(values)) {
    if (!known.includes(key)) {
      throw new ConfigError(`${file}: [${name}] ${key}: unknown key (known: ${known.join(", ")})`);
    }
  }
  return { file, name, values };
}

/** The error for `key` of `table` holding `got` where `expected` was wanted. */
export function wrongValue(
  table: Section,
  key: string,
  expected: string,
  got: string,
): ConfigError {
  return new ConfigError(`${table.file}: [${table.name}] ${key} must be ${expected}, not ${got}`);
}

/** `key` of `table` as a string; undefined when absent. */
export function string(table: Section, key: string): string | undefined {
  const value = table.values[key];
  if (value === undefined || typeof value === "string") return value;
  throw wrongValue(table, key, "a string", describe(value));
}

/** `key` of `table` as a boolean; undefined when absent. */
export function boolean(table: Section, key: string): boolean | undefined {
  const value = table.values[key];
  if (value === undefined || typeof value === "boolean") return value;
  throw wrongValue(table, key, "true or false", describe(value));
}

/** `key` of `table` as an integer from `min` to `max`; undefined when absent. */
export function integer(table: Section, key: string, min: number, max: number): number | undefined {
  const value = table.values[key];
  if (value === undefined) return undefined;
  if (typeof value === "bigint" && value >= BigInt(min) && value <= BigInt(max)) {
    return Number(value);
  }
  const got = typeof value === "bigint" ? String(value) : describe(value);
  throw wrongValue(table, key, `an integer from ${min} to ${max}`, got);
}

/** Whether a parsed TOML value is a table (not an array or a date-time). */
export function isTable(value: unknown): value is Table {
  return typeof value === "object" && value !== null && !Array.isArray(value) &&
    !(value instanceof Date);
}

/** The TOML type of a parsed value, for messages ("a string", "a float", ...). */
export function describe(value: unknown): string {
  if (typeof value === "string") return "a string";
  if (typeof value === "boolean") return "a boolean";
  if (typeof value === "bigint") return "an integer";
  if (typeof value === "number") return "a float"; // TOML integers are parsed as bigint
  if (Array.isArray(value)) return "an array";
  if (isTable(value)) return "a table";
  if (value instanceof Date) return "a date-time";
  return typeof value;
}

/** `value` as written, for messages about byte sizes. */
function formatValue(value: unknown): string {
  return typeof value === "string" ? JSON.stringify(value) : String(value);
}
