/**
 * The configuration file, `secshrnet.conf` (TOML), read by every command:
 * how to reach Redis, the network name, the client's timeout and segment
 * workers, server storage limits, upload timeout and scrub, and the KDF work
 * factor. Every key is optional;
 * `secshrnet.example.toml` documents them with their defaults. Unknown tables and keys, wrong types and bad values are
 * refused with a one-line {@linkcode ConfigError} naming the file and key.
 *
 * @module
 */

import { redactUrl } from "./net/url.ts";
export { redactUrl };
import {
  DEFAULT_REDIS_URL,
  readRedisConfig,
  REDIS_KEYS,
  REDIS_URL_ENV,
  type RedisConfig,
} from "./config_redis.ts";
export { DEFAULT_REDIS_URL, REDIS_URL_ENV, type RedisConfig };
import { parse, TomlError } from "smol-toml";
import {
  ConfigError,
  integer,
  isTable,
  parseByteSize,
  type Section,
  section as checkedSection,
  string,
  type Table,
  wrongValue,
} from "./config_values.ts";

export { ConfigError, parseByteSize };
import { ABSOLUTE_MAX_LOG_N, DEFAULT_LOG_N, DEFAULT_MIN_LOG_N, MIN_LOG_N } from "./keys.ts";
import { MAX_WORKERS } from "./segment_workers.ts";
export { MAX_WORKERS };

/** The whole configuration, defaults filled in. */
export interface Config {
  /** How to reach Redis. */
  redis: RedisConfig;
  /** The network: its name prefixes every Redis channel. */
  network: { name: string };
  /**
   * Client commands: how long a silent server is waited for (undefined = the default, 20 s),
   * and how many Web Workers seal and open segments (0 to {@linkcode MAX_WORKERS}, 0 = on the
   * calling thread; undefined = the default, one per core).
   */
  client: { timeoutMs?: number; workers?: number };
  /**
   * `secshrnet serve`: storage limits in bytes (undefined = no limit), how long an upload
   * may receive nothing before it is dropped (undefined = the default, 60 s), and the scrub
   * (server/scrub.ts): most bytes read per second (0 = off; undefined = the default, 4 MiB/s)
   * and the pause between passes (undefined = the default, an hour). The log: `log` is a file
   * (relative to the root), or "-" for stderr only (undefined = ROOT/secshrnetd.log);
   * `logMaxBytes` is the size at which the file is rotated (0 = never; undefined = 10 MiB) and
   * `logKeep` how many rotated files are kept (undefined = 3).
   */
  server: {
    maxObjectBytes?: number;
    maxTotalBytes?: number;
    uploadTimeoutMs?: number;
    scrubRate?: number;
    scrubIntervalMs?: number;
    log?: string;
    logMaxBytes?: number;
    logKeep?: number;
  };
  /**
   * scrypt work factor (log2 N) used when sealing, and the lowest a client
   * acts on when opening, replacing or removing (docs/SECURITY.md).
   */
  kdf: { logN: number; minLogN: number };
  /** The file the config was read from, or undefined when defaults were used. */
  source?: string;
}

/** Network name used when the file names none. */
export const DEFAULT_NETWORK = "secshrnet";
/** Name of the config file inside the root directory. */
export const CONFIG_FILE_NAME = "secshrnet.conf";
/** What a network name may be: it becomes part of Redis channel names. */
export const NETWORK_NAME_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

type Env = Record<string, string | undefined>;

/** The known keys of each table, in the order they are documented. */
const KNOWN: Record<string, readonly string[]> = {
  redis: REDIS_KEYS,
  network: ["name"],
  client: ["timeout", "workers"],
  server: [
    "max_object_bytes",
    "max_total_bytes",
    "upload_timeout",
    "scrub_rate",
    "scrub_interval",
    "log",
    "log_max_bytes",
    "log_keep",
  ],
  kdf: ["log_n", "min_log_n"],
};
/** Longest timeout (`[client] timeout`, `[server] upload_timeout`, `--timeout`), in seconds: a day. */
export const MAX_TIMEOUT_SECONDS = 86_400;
/** The server log's file name in the root when `[server] log` is not set. */
export const DEFAULT_LOG_FILE = "secshrnetd.log";
/** Size at which the server log is rotated when `[server] log_max_bytes` is not set: 10 MiB. */
export const DEFAULT_LOG_MAX_BYTES = 10 * 2 ** 20;
/** Rotated server log files kept when `[server] log_keep` is not set. */
export const DEFAULT_LOG_KEEP = 3;
/** Most rotated server log files `[server] log_keep` may ask for. */
export const MAX_LOG_KEEP = 100;
/** Longest `[server] scrub_interval`, in seconds: 30 days. */
export const MAX_SCRUB_INTERVAL_SECONDS = 30 * 86_400;

/** `$HOME/.secshrnet` (`USERPROFILE` stands in on Windows); throws ConfigError when unset. */
export function defaultRoot(env: Env = Deno.env.toObject()): string {
  const home = env.HOME || env.USERPROFILE;
  if (!home) {
    throw new ConfigError(
      "HOME is not set, so there is no default root $HOME/.secshrnet; set HOME or give a config file with -c",
    );
  }
  return `${home.replace(/[/\\]+$/, "")}/.secshrnet`;
}

/** The config file in use: `path` (from -c) if given, else ROOT/secshrnet.conf (ROOT = `root` ?? $HOME/.secshrnet). */
export function configPath(
  options: { path?: string; root?: string; env?: Env } = {},
): string {
  if (options.path !== undefined) return options.path;
  const root = options.root ?? defaultRoot(options.env ?? Deno.env.toObject());
  return `${root.replace(/[/\\]+$/, "")}/${CONFIG_FILE_NAME}`;
}

/**
 * Loads the config. `path` (from -c) must exist, else ConfigError "config file X not found".
 * Without `path`, reads ROOT/secshrnet.conf if it exists (root = options.root ?? defaultRoot()),
 * else uses defaults. Env SECSHRNET_REDIS_URL (from options.env ?? Deno.env.toObject()) overrides
 * the Redis URL from the file. A relative `ca_file` is taken beside the config file; it must exist.
 */
export async function loadConfig(
  options: { path?: string; root?: string; env?: Env } = {},
): Promise<Config> {
  const env = options.env ?? Deno.env.toObject();
  const file = configPath({ ...options, env });
  let text: string | undefined;
  try {
    text = await Deno.readTextFile(file);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) {
      throw new ConfigError(`${file}: cannot read: ${(error as Error).message}`);
    }
    if (options.path !== undefined) throw new ConfigError(`config file ${file} not found`);
  }
  const config = text === undefined
    ? buildConfig(Object.create(null), undefined, env)
    : parseConfig(text, file, env);
  const caFile = config.redis.tls?.caFile;
  if (caFile !== undefined) {
    const info = await Deno.stat(caFile).catch(() => undefined);
    if (!info?.isFile) {
      throw new ConfigError(`${file}: [redis] ca_file ${caFile} not found or not a file`);
    }
  }
  return config;
}

/**
 * Parses TOML text (exported for tests); `source` names the file in messages and is the base of a
 * relative `ca_file`. `env` (default: none) may hold SECSHRNET_REDIS_URL, as in {@linkcode loadConfig}.
 */
export function parseConfig(text: string, source: string, env: Env = {}): Config {
  let doc: Table;
  try {
    doc = parse(text.replace(/^\uFEFF/, ""), { integersAsBigInt: true });
  } catch (error) {
    if (error instanceof TomlError) {
      const reason = error.message.split("\n")[0].replace(/^Invalid TOML document:\s*/, "");
      throw new ConfigError(`${source}:${error.line}:${error.column}: invalid TOML: ${reason}`);
    }
    throw new ConfigError(`${source}: invalid TOML: ${(error as Error).message}`);
  }
  return buildConfig(doc, source, env);
}

/** The table `name` of `doc`, its keys checked against {@linkcode KNOWN}. */
function section(doc: Table, name: string, file: string): Section {
  return checkedSection(doc, name, file, KNOWN[name]);
}

/** Validates the parsed document and fills in defaults; `source` undefined means no file. */
function buildConfig(doc: Table, source: string | undefined, env: Env): Config {
  const file = source ?? "(defaults)";
  for (const [name, value] of Object.entries(doc)) {
    if (Object.hasOwn(KNOWN, name)) continue;
    const known = Object.keys(KNOWN).map((table) => `[${table}]`).join(", ");
    throw new ConfigError(
      isTable(value)
        ? `${file}: [${name}]: unknown table (known: ${known})`
        : `${file}: ${name}: unknown top-level key; every setting belongs in a table (${known})`,
    );
  }
  const redis = section(doc, "redis", file);
  const network = section(doc, "network", file);
  const client = section(doc, "client", file);
  const server = section(doc, "server", file);
  const kdf = section(doc, "kdf", file);

  const config: Config = {
    redis: { url: DEFAULT_REDIS_URL },
    network: { name: DEFAULT_NETWORK },
    client: {},
    server: {},
    kdf: { logN: DEFAULT_LOG_N, minLogN: DEFAULT_MIN_LOG_N },
  };
  if (source !== undefined) config.source = source;

  config.redis = readRedisConfig(redis, source, env);

  const name = string(network, "name");
  if (name !== undefined) {
    if (!NETWORK_NAME_PATTERN.test(name)) {
      throw new ConfigError(
        `${file}: [network] name ${JSON.stringify(name)} is not allowed: use 1 to 64 characters ` +
          `from A-Z, a-z, 0-9, ".", "_" and "-"`,
      );
    }
    config.network.name = name;
  }

  const timeout = integer(client, "timeout", 1, MAX_TIMEOUT_SECONDS);
  if (timeout !== undefined) config.client.timeoutMs = timeout * 1000;
  const workers = integer(client, "workers", 0, MAX_WORKERS);
  if (workers !== undefined) config.client.workers = workers;
  const uploadTimeout = integer(server, "upload_timeout", 1, MAX_TIMEOUT_SECONDS);
  if (uploadTimeout !== undefined) config.server.uploadTimeoutMs = uploadTimeout * 1000;

  const objectSize = server.values.max_object_bytes;
  const totalSize = server.values.max_total_bytes;
  if (objectSize !== undefined) {
    config.server.maxObjectBytes = parseByteSize(objectSize, "[server] max_object_bytes", file);
  }
  if (totalSize !== undefined) {
    config.server.maxTotalBytes = parseByteSize(totalSize, "[server] max_total_bytes", file);
  }
  const scrubRate = server.values.scrub_rate;
  if (scrubRate !== undefined) config.server.scrubRate = parseRate(scrubRate, file);
  const scrubInterval = integer(server, "scrub_interval", 1, MAX_SCRUB_INTERVAL_SECONDS);
  if (scrubInterval !== undefined) config.server.scrubIntervalMs = scrubInterval * 1000;
  const log = string(server, "log");
  if (log !== undefined) {
    if (log === "" || log.includes("\0")) {
      throw wrongValue(server, "log", 'a file name or "-" (stderr)', JSON.stringify(log));
    }
    config.server.log = log;
  }
  const logMaxBytes = server.values.log_max_bytes;
  if (logMaxBytes !== undefined) {
    config.server.logMaxBytes = logMaxBytes === 0n || logMaxBytes === "0"
      ? 0
      : parseByteSize(logMaxBytes, "[server] log_max_bytes (0 = never rotate)", file);
  }
  const logKeep = integer(server, "log_keep", 1, MAX_LOG_KEEP);
  if (logKeep !== undefined) config.server.logKeep = logKeep;
  const { maxObjectBytes, maxTotalBytes } = config.server;
  if (
    maxObjectBytes !== undefined && maxTotalBytes !== undefined && maxObjectBytes > maxTotalBytes
  ) {
    throw new ConfigError(
      `${file}: [server] max_object_bytes (${maxObjectBytes}) is larger than max_total_bytes ` +
        `(${maxTotalBytes})`,
    );
  }

  const logN = integer(kdf, "log_n", MIN_LOG_N, ABSOLUTE_MAX_LOG_N);
  if (logN !== undefined) config.kdf.logN = logN;
  const minLogN = integer(kdf, "min_log_n", MIN_LOG_N, ABSOLUTE_MAX_LOG_N);
  if (minLogN !== undefined) config.kdf.minLogN = minLogN;
  if (config.kdf.logN < config.kdf.minLogN) {
    throw new ConfigError(
      `${file}: [kdf] log_n ${config.kdf.logN} is below min_log_n ${config.kdf.minLogN}: this ` +
        `client would refuse to open what it stores; raise log_n or lower min_log_n`,
    );
  }
  return config;
}

/**
 * `[server] scrub_rate`: 0 (off), or bytes per second as a byte size (a number, or a string
 * like "4 MiB", optionally ending in "/s").
 */
function parseRate(value: unknown, file: string): number {
  if (value === 0n || (typeof value === "string" && /^\s*0+(\.0*)?\s*(\/\s*s)?\s*$/i.test(value))) {
    return 0;
  }
  const size = typeof value === "string" ? value.replace(/\s*\/\s*s\s*$/i, "") : value;
  return parseByteSize(size, "[server] scrub_rate (bytes per second, 0 = off)", file);
}
