/**
 * The settings in effect as `secshrnet config` shows them: every setting with
 * its value (defaults filled in, in the file's units), where it comes from (the
 * config file, the default, or SECSHRNET_REDIS_URL) and what it means, as TOML
 * with comments or as JSON. The Redis password is masked.
 *
 * @module
 */

import { parse } from "smol-toml";
import { DEFAULT_TIMEOUTS } from "../core/client/session.ts";
import {
  type Config,
  DEFAULT_LOG_FILE,
  DEFAULT_LOG_KEEP,
  DEFAULT_LOG_MAX_BYTES,
  defaultRoot,
  parseConfig,
  redactUrl,
  REDIS_URL_ENV,
} from "../core/config.ts";
import { defaultWorkers } from "../core/segment_workers.ts";
import { isTable } from "../core/config_values.ts";
import { tomlString } from "../core/config_template.ts";
import { DEFAULT_SCRUB_INTERVAL_MS, DEFAULT_SCRUB_RATE } from "../server/scrub.ts";
import { formatSize } from "./format.ts";
import { trustFilePath } from "./trust.ts";

/** `[server] upload_timeout` when unset, in seconds (server/protocol.ts). */
const DEFAULT_UPLOAD_TIMEOUT_SECONDS = 60;
/** The tables, in the order the example config documents them. */
const TABLES = ["redis", "network", "client", "server", "kdf"] as const;
/** The `[redis]` keys that make the url. */
const URL_KEYS = ["url", "host", "port", "username", "password", "tls"];

/** Where a setting's value comes from. */
type Origin = "file" | "default" | "environment";

/** One setting in effect. */
interface Setting {
  readonly table: (typeof TABLES)[number];
  readonly key: string;
  /** The value, in the file's units (seconds, bytes); null when unset with nothing in its place. */
  readonly value: string | number | boolean | string[] | null;
  readonly origin: Origin;
  /** What the value means, for people. */
  readonly note?: string;
}

/** Where the config was looked for, and the root it applies to. */
export interface ConfigWhere {
  /** The config file path in use (-c, or ROOT/secshrnet.conf). */
  readonly path: string;
  /** The root given with -r; undefined means the default root. */
  readonly root?: string;
  /** The environment (HOME, SECSHRNET_REDIS_URL). */
  readonly env: Record<string, string | undefined>;
}

/** The settings in effect, ready to print. */
export interface EffectiveConfig {
  /** TOML: every setting, commented with where it comes from. */
  toml(): string;
  /** One JSON-ready object. */
  json(): Record<string, unknown>;
}

/** The settings of `config` (loaded from `where`), with where each comes from. */
export async function effectiveConfig(
  config: Config,
  where: ConfigWhere,
): Promise<EffectiveConfig> {
  const text = config.source === undefined
    ? undefined
    : await Deno.readTextFile(config.source).catch(() => undefined);
  const inFile = fileKeys(text);
  const envUrl = where.env[REDIS_URL_ENV];
  const fromEnv = envUrl !== undefined && envUrl !== "";
  let root: string | undefined = where.root;
  if (root === undefined) {
    try {
      root = defaultRoot(where.env);
    } catch {
      root = undefined; // HOME unset; -c named the file
    }
  }
  const settings = listSettings(config, { inFile, fromEnv, text, root });
  const log = config.server.log ?? DEFAULT_LOG_FILE;
  const serverLog = log === "-" ? null : resolveIn(root, log);
  const trustFile = trustFilePath(where.path);

  return {
    toml() {
      const lines = [
        "# secshrnet settings in effect (passwords shown as ***)",
        config.source === undefined
          ? `# no config file at ${where.path}; using the defaults`
          : `# config file: ${config.source}`,
      ];
      if (fromEnv) lines.push(`# ${REDIS_URL_ENV} is set and replaces the Redis URL`);
      lines.push(
        root === undefined
          ? "# root: none, HOME is not set ('secshrnet serve' needs -r ROOT)"
          : where.root === undefined
          ? `# root: ${root} (the default; 'secshrnet serve -r ROOT' takes another)`
          : `# root: ${root}`,
        `# trust file: ${trustFile}`,
        `# "default" marks a setting the config file does not set`,
      );
      for (const table of TABLES) {
        lines.push("", `[${table}]`);
        for (const setting of settings.filter((s) => s.table === table)) {
          lines.push(tomlLine(setting));
        }
      }
      return lines.join("\n");
    },
    json() {
      const tables: Record<string, Record<string, unknown>> = {};
      for (const { table, key, value } of settings) (tables[table] ??= {})[key] = value;
      return {
        configFile: where.path,
        configFileRead: config.source !== undefined,
        redisUrlFrom: settings.find((s) => s.key === "url")?.origin,
        root: root ?? null,
        trustFile,
        serverLog,
        settings: tables,
        defaults: settings.filter((s) => s.origin === "default").map((s) => `${s.table}.${s.key}`),
      };
    },
  };
}

/** The "table.key" names the config file `text` sets. */
function fileKeys(text: string | undefined): Set<string> {
  const keys = new Set<string>();
  if (text === undefined) return keys;
  try {
    const doc = parse(text.replace(/^\uFEFF/, ""));
    for (const [table, values] of Object.entries(doc)) {
      if (!isTable(values)) continue;
      for (const key of Object.keys(values)) keys.add(`${table}.${key}`);
    }
  } catch {
    // loadConfig read it a moment ago; if it changed since, show no file keys.
  }
  return keys;
}

/** The `[redis]` settings in effect: one node's url, or the Sentinel or cluster keys (passwords masked). */
function redisSettings(
  config: Config,
  from: { inFile: Set<string>; fromEnv: boolean; text?: string },
  setting: (name: string, value: Setting["value"], note?: string) => Setting,
): Setting[] {
  const { inFile, fromEnv } = from;
  const sentinel = config.redis.sentinel;
  const masked = (value: string | undefined) => value === undefined ? null : "***";
  const cluster = config.redis.cluster;
  if (cluster !== undefined) {
    return [
      setting("redis.cluster", cluster.nodes, "Redis Cluster: sharded pub/sub"),
      setting("redis.username", cluster.username ?? null),
      setting("redis.password", masked(cluster.password)),
    ];
  }
  if (sentinel !== undefined) {
    return [
      setting("redis.sentinels", sentinel.sentinels, "Sentinel: they name the master"),
      setting("redis.master_name", sentinel.masterName),
      setting("redis.username", sentinel.username ?? null),
      setting("redis.password", masked(sentinel.password)),
      setting("redis.sentinel_password", masked(sentinel.sentinelPassword)),
    ];
  }
  const urlInFile = URL_KEYS.some((key) => inFile.has(`redis.${key}`));
  const built = urlInFile && !inFile.has("redis.url");
  let url: Setting = {
    table: "redis",
    key: "url",
    value: redactUrl(config.redis.url),
    origin: urlInFile ? "file" : "default",
    note: built ? "built from host/port/username/password/tls" : undefined,
  };
  if (fromEnv) {
    const replaced = urlInFile ? fileUrl(from.text, config.source) : undefined;
    const note = `from ${REDIS_URL_ENV}` +
      (replaced === undefined ? "" : `, replacing the file's ${redactUrl(replaced)}`);
    url = { ...url, origin: "environment", note };
  }
  return [url];
}

/** Every setting in effect, in the order the example config documents them. */
function listSettings(
  config: Config,
  from: { inFile: Set<string>; fromEnv: boolean; text?: string; root?: string },
): Setting[] {
  const { inFile, root } = from;
  const origin = (name: string): Origin => inFile.has(name) ? "file" : "default";
  const setting = (name: string, value: Setting["value"], note?: string): Setting => {
    const [table, key] = name.split(".") as [Setting["table"], string];
    return { table, key, value, origin: origin(name), note };
  };
  const { server, kdf } = config;
  const settings = redisSettings(config, from, setting);
  const tls = config.redis.tls;
  if (tls !== undefined) {
    settings.push(
      setting("redis.ca_file", tls.caFile ?? null, tls.caFile ? undefined : "the system's CAs"),
      setting(
        "redis.tls_reject_unauthorized",
        tls.rejectUnauthorized,
        tls.rejectUnauthorized ? undefined : "certificate checks are OFF",
      ),
    );
  }
  const scrubRate = server.scrubRate ?? DEFAULT_SCRUB_RATE;
  const log = server.log ?? DEFAULT_LOG_FILE;
  const logMax = server.logMaxBytes ?? DEFAULT_LOG_MAX_BYTES;
  settings.push(
    setting("network.name", config.network.name),
    setting(
      "client.timeout",
      (config.client.timeoutMs ?? DEFAULT_TIMEOUTS.transferIdleMs) / 1000,
      "seconds",
    ),
    workersSetting(config.client.workers),
    setting(
      "server.upload_timeout",
      (server.uploadTimeoutMs ?? DEFAULT_UPLOAD_TIMEOUT_SECONDS * 1000) / 1000,
      "seconds",
    ),
    size("server.max_object_bytes", server.maxObjectBytes),
    size("server.max_total_bytes", server.maxTotalBytes),
    setting(
      "server.scrub_rate",
      scrubRate,
      scrubRate === 0 ? "the scrub is off" : `${formatSize(scrubRate)}/s`,
    ),
    setting(
      "server.scrub_interval",
      (server.scrubIntervalMs ?? DEFAULT_SCRUB_INTERVAL_MS) / 1000,
      "seconds",
    ),
    setting("server.log", log, log === "-" ? "stderr only" : `${resolveIn(root, log)}, and stderr`),
    setting("server.log_max_bytes", logMax, logMax === 0 ? "never rotated" : formatSize(logMax)),
    setting("server.log_keep", server.logKeep ?? DEFAULT_LOG_KEEP, "rotated files kept"),
    setting("kdf.log_n", kdf.logN, `scrypt needs ${formatSize(2 ** (kdf.logN + 10))}`),
    setting("kdf.min_log_n", kdf.minLogN, "the lowest work factor acted on"),
  );
  return settings;

  function workersSetting(workers: number | undefined): Setting {
    if (workers === undefined) return setting("client.workers", defaultWorkers(), "one per core");
    const cores = `${defaultWorkers()} core(s) here`;
    return setting(
      "client.workers",
      workers,
      workers === 0 ? `all on one thread; ${cores}` : cores,
    );
  }

  function size(name: string, bytes: number | undefined): Setting {
    return setting(name, bytes ?? null, bytes === undefined ? "no limit" : formatSize(bytes));
  }
}

/** The Redis URL the file alone gives (what SECSHRNET_REDIS_URL replaces), if it can be read. */
function fileUrl(text: string | undefined, source: string | undefined): string | undefined {
  if (text === undefined || source === undefined) return undefined;
  try {
    return parseConfig(text, source).redis.url;
  } catch {
    return undefined; // valid only with the environment's URL (e.g. its TLS settings)
  }
}

/** `value` as TOML: a string quoted, a list of strings in brackets, the rest as is. */
function tomlValue(value: string | number | boolean | string[]): string {
  if (typeof value === "string") return tomlString(value);
  if (Array.isArray(value)) return `[${value.map(tomlString).join(", ")}]`;
  return String(value);
}

/** `path` taken in `root` unless absolute (ROOT/path when there is no root). */
function resolveIn(root: string | undefined, path: string): string {
  if (/^([/\\]|[A-Za-z]:[/\\])/.test(path)) return path;
  return `${root ?? "ROOT"}/${path}`;
}

/** `key = value  # notes` (or the key commented out, when it has no value). */
function tomlLine(setting: Setting): string {
  const { key, value, origin, note } = setting;
  const left = value === null ? `# ${key} (not set)` : `${key} = ${tomlValue(value)}`;
  const notes = [note, origin === "default" ? "default" : undefined].filter((n) => n);
  return notes.length === 0 ? left : `${left.padEnd(30)}  # ${notes.join("; ")}`;
}
