/**
 * The `[redis]` table of the config file: one Redis node (`url`, or
 * `host`/`port`/`username`/`password`/`tls`), a Sentinel-managed master
 * (`sentinels`, `master_name`, `sentinel_password` for the sentinels), or a
 * Redis Cluster (`cluster`); `username`/`password`/`tls` apply to every node
 * of the last two. TLS extras, and the SECSHRNET_REDIS_URL override (always
 * one node). Every problem is a
 * one-line {@linkcode ConfigError} naming the file and key.
 *
 * @module
 */

import { redactUrl, splitAuthority } from "./net/url.ts";
import type { RedisTarget } from "./net/redis_target.ts";
import {
  boolean,
  ConfigError,
  describe,
  integer,
  type Section,
  string,
  wrongValue,
} from "./config_values.ts";

type Env = Record<string, string | undefined>;

/** TLS settings of every Redis connection. */
export interface RedisTls {
  /** PEM file of the certificate authority to trust instead of the system's. */
  caFile?: string;
  /** Whether to refuse a server certificate that does not verify. */
  rejectUnauthorized: boolean;
}

/** A master found through Redis Sentinel (docs/REDIS.md, "Sentinel"). */
export interface SentinelConfig {
  /** The sentinels, as "host:port" (IPv6 hosts in brackets). */
  sentinels: string[];
  /** The master group name the sentinels monitor. */
  masterName: string;
  /** The Redis user of the master and replicas, if not `default`. */
  username?: string;
  /** Their password. */
  password?: string;
  /** The sentinels' own password (`requirepass` of the sentinels), if they have one. */
  sentinelPassword?: string;
}

/** A Redis Cluster (docs/REDIS.md, "Cluster"): hosts use sharded pub/sub. */
export interface ClusterConfig {
  /** Some of its nodes, as "host:port": the rest are found through them. */
  nodes: string[];
  /** The Redis user of every node, if not `default`. */
  username?: string;
  /** Its password. */
  password?: string;
}

/**
 * Where and how to reach Redis: one node (`url`), a Sentinel master group
 * (`sentinel`) or a cluster (`cluster`), exactly one of them; `tls` present
 * exactly when TLS is used.
 */
export type RedisConfig =
  | { url: string; sentinel?: undefined; cluster?: undefined; tls?: RedisTls }
  | { url?: undefined; sentinel: SentinelConfig; cluster?: undefined; tls?: RedisTls }
  | { url?: undefined; sentinel?: undefined; cluster: ClusterConfig; tls?: RedisTls };

/** Redis URL used when neither the file nor the environment names one. */
export const DEFAULT_REDIS_URL = "redis://127.0.0.1:6379";
/** Environment variable that, when non-empty, replaces the Redis of the file with one node. */
export const REDIS_URL_ENV = "SECSHRNET_REDIS_URL";
/** What a Sentinel master group name may be. */
export const MASTER_NAME_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;
/** Most sentinels, or cluster nodes, one config may list. */
export const MAX_SENTINELS = 16;

/** The `[redis]` keys that build a url, so cannot come with `url`. */
const URL_PARTS = ["host", "port", "username", "password", "tls"] as const;
/** The `[redis]` keys that only Sentinel takes. */
const SENTINEL_KEYS = ["sentinels", "master_name", "sentinel_password"] as const;
/** The known `[redis]` keys, in the order they are documented. */
export const REDIS_KEYS: readonly string[] = [
  "url",
  ...URL_PARTS,
  ...SENTINEL_KEYS,
  "cluster",
  "ca_file",
  "tls_reject_unauthorized",
];
const DEFAULT_HOST = "127.0.0.1";
const DEFAULT_PORT = 6379;

/**
 * The Redis settings of `[redis]` (`redis`, from the file `source`, undefined
 * when there is none), with SECSHRNET_REDIS_URL from `env` replacing them.
 */
export function readRedisConfig(redis: Section, source: string | undefined, env: Env): RedisConfig {
  const file = redis.file;
  const envUrl = env[REDIS_URL_ENV];
  const fromEnv = envUrl !== undefined && envUrl !== "";
  checkOneTopology(redis);
  const sentinel = sentinelFromFile(redis);
  const cluster = clusterFromFile(redis);
  const fileUrl = sentinel === undefined && cluster === undefined
    ? redisUrlFromFile(redis)
    : undefined;
  let config: RedisConfig;
  if (fromEnv) {
    config = { url: checkRedisUrl(envUrl, `environment variable ${REDIS_URL_ENV}`) };
  } else if (sentinel !== undefined) {
    config = { sentinel };
  } else if (cluster !== undefined) {
    config = { cluster };
  } else {
    config = { url: fileUrl ?? DEFAULT_REDIS_URL };
  }
  const caFile = string(redis, "ca_file");
  const reject = boolean(redis, "tls_reject_unauthorized");
  if (caFile === "") throw wrongValue(redis, "ca_file", "a file name", "an empty string");
  const tls = config.url === undefined
    ? boolean(redis, "tls") === true
    : config.url.startsWith("rediss:");
  if (tls) {
    config.tls = { rejectUnauthorized: reject !== false };
    if (caFile !== undefined) config.tls.caFile = besideFile(source, caFile);
  } else if (caFile !== undefined || reject !== undefined) {
    const key = caFile !== undefined ? "ca_file" : "tls_reject_unauthorized";
    const why = fromEnv ? ` (${REDIS_URL_ENV} is set to a redis:// URL)` : "";
    throw new ConfigError(
      `${file}: [redis] ${key} needs TLS: use a rediss:// url or tls = true${why}`,
    );
  }
  return config;
}

/** The Sentinel settings of `[redis]`, or undefined when it names no `sentinels`. */
function sentinelFromFile(redis: Section): SentinelConfig | undefined {
  const given = SENTINEL_KEYS.filter((key) => redis.values[key] !== undefined);
  const list = redis.values.sentinels;
  if (list === undefined) {
    if (given.length > 0) {
      throw new ConfigError(
        `${redis.file}: [redis] ${given.join(", ")} only go with sentinels = ["host:port", ...]`,
      );
    }
    return undefined;
  }
  const sentinels = hostPortList(redis, "sentinels");
  const masterName = string(redis, "master_name");
  if (masterName === undefined) {
    throw new ConfigError(
      `${redis.file}: [redis] sentinels needs master_name: the master group the sentinels monitor`,
    );
  }
  if (!MASTER_NAME_PATTERN.test(masterName)) {
    throw wrongValue(
      redis,
      "master_name",
      'a name of 1 to 64 characters from A-Z, a-z, 0-9, ".", "_" and "-"',
      JSON.stringify(masterName),
    );
  }
  const sentinel: SentinelConfig = { sentinels, masterName };
  const username = string(redis, "username");
  const password = string(redis, "password");
  const sentinelPassword = string(redis, "sentinel_password");
  if (username !== undefined) sentinel.username = username;
  if (password !== undefined) sentinel.password = password;
  if (sentinelPassword !== undefined) sentinel.sentinelPassword = sentinelPassword;
  return sentinel;
}

/**
 * Throws unless `[redis]` names at most one of a url (`url`, or `host` and
 * `port` that build one), `sentinels` and `cluster`.
 */
function checkOneTopology(redis: Section): void {
  const given = ["url", "host", "port", "sentinels", "cluster"].filter((key) =>
    redis.values[key] !== undefined
  );
  const kinds = new Set(given.map((key) => ["host", "port"].includes(key) ? "url" : key));
  if (kinds.size < 2) return;
  throw new ConfigError(
    `${redis.file}: [redis] give exactly one of url, sentinels and cluster, not ` +
      `${given.join(" and ")} (host and port make a url; sentinels find a master; ` +
      `cluster lists the nodes of a Redis Cluster)`,
  );
}

/** The "host:port" strings of list `key` in `[redis]`, checked (1 to MAX_SENTINELS). */
function hostPortList(redis: Section, key: string): string[] {
  const list = redis.values[key];
  const expected = `a list of 1 to ${MAX_SENTINELS} "host:port" strings`;
  if (!Array.isArray(list) || list.length === 0 || list.length > MAX_SENTINELS) {
    const got = Array.isArray(list) ? `a list of ${list.length}` : describe(list);
    throw wrongValue(redis, key, expected, got);
  }
  return list.map((entry) => {
    if (typeof entry !== "string") throw wrongValue(redis, key, expected, describe(entry));
    if (!/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.test(entry)) {
      throw wrongValue(redis, key, expected, JSON.stringify(entry));
    }
    const port = Number(entry.slice(entry.lastIndexOf(":") + 1));
    if (port < 1 || port > 65535) {
      throw wrongValue(redis, key, `${expected} (port 1 to 65535)`, JSON.stringify(entry));
    }
    return entry;
  });
}

/** The cluster settings of `[redis]`, or undefined when it names no `cluster`. */
function clusterFromFile(redis: Section): ClusterConfig | undefined {
  if (redis.values.cluster === undefined) return undefined;
  const cluster: ClusterConfig = { nodes: hostPortList(redis, "cluster") };
  const username = string(redis, "username");
  const password = string(redis, "password");
  if (username !== undefined) cluster.username = username;
  if (password !== undefined) cluster.password = password;
  return cluster;
}

/** The `[redis]` url: `url`, or one built from host/port/username/password/tls, or undefined. */
function redisUrlFromFile(redis: Section): string | undefined {
  const url = string(redis, "url");
  const host = string(redis, "host");
  const port = integer(redis, "port", 1, 65535) ?? DEFAULT_PORT;
  const username = string(redis, "username");
  const password = string(redis, "password");
  const tls = boolean(redis, "tls");
  const parts = URL_PARTS.filter((key) => redis.values[key] !== undefined);
  if (url !== undefined) {
    if (parts.length > 0) {
      throw new ConfigError(
        `${redis.file}: [redis] url conflicts with ${parts.join(", ")}: give either url or ` +
          `host/port/username/password/tls, not both`,
      );
    }
    return checkRedisUrl(url, `${redis.file}: [redis] url`);
  }
  if (parts.length === 0) return undefined;
  const hostName = host ?? DEFAULT_HOST;
  const badHost = wrongValue(redis, "host", "a host name or IP address", JSON.stringify(hostName));
  if (hostName === "" || /[\s/?#@\\]/.test(hostName)) throw badHost;
  const bracketed = hostName.includes(":") && !hostName.startsWith("[")
    ? `[${hostName}]`
    : hostName;
  const userinfo = username === undefined && password === undefined
    ? ""
    : encodeURIComponent(username ?? "") +
      (password === undefined ? "" : `:${encodeURIComponent(password)}`) + "@";
  let parsed: URL;
  try {
    parsed = new URL(`${tls ? "rediss" : "redis"}://${userinfo}${bracketed}:${port}`);
  } catch {
    throw badHost;
  }
  const sameHost = bracketed.startsWith("[")
    ? parsed.hostname.startsWith("[")
    : parsed.hostname === hostName;
  if (!sameHost || parsed.port !== String(port)) throw badHost;
  return checkRedisUrl(
    parsed.href,
    `${redis.file}: [redis] the url built from host/port/username/password/tls,`,
  );
}

/**
 * Checks a Redis URL as ioredis will read it; returns its normalised form.
 * `label` starts every message ("FILE: [redis] url" or "SECSHRNET_REDIS_URL").
 */
function checkRedisUrl(raw: string, label: string): string {
  const shown = JSON.stringify(redactUrl(raw));
  const fail = (problem: string): never => {
    throw new ConfigError(`${label} ${shown} ${problem}`);
  };
  const port = splitAuthority(raw)?.hostport.match(/^(?:\[[^\]]*\]|[^:]*):(\d+)$/)?.[1];
  if (port !== undefined && !(Number(port) >= 1 && Number(port) <= 65535)) {
    fail(`has port ${port}: the port must be an integer from 1 to 65535`);
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return fail("is not a valid URL (expected redis://[user:password@]host[:port][/db])");
  }
  if (url.protocol !== "redis:" && url.protocol !== "rediss:") {
    fail(`must use redis:// or rediss://, not ${url.protocol}//`);
  }
  if (url.hostname === "") fail("has no host");
  if (url.hostname.includes("%")) fail("has a non-ASCII host name: write it in punycode (xn--...)");
  if (!/^(\/\d*)?$/.test(url.pathname)) fail("has a path other than a database number like /0");
  if (url.search !== "" || url.hash !== "") fail("must not have a query (?...) or fragment (#...)");
  try {
    decodeURIComponent(url.username);
    decodeURIComponent(url.password);
  } catch {
    fail("has a malformed %-escape in its username or password (write % as %25)");
  }
  if (new URL(url.href).href !== url.href) fail("does not survive URL normalisation");
  return url.href;
}

/** A relative `path` taken beside the config file `source` (unchanged without one). */
function besideFile(source: string | undefined, path: string): string {
  if (source === undefined || /^([/\\]|[A-Za-z]:[/\\])/.test(path)) return path;
  const cut = Math.max(source.lastIndexOf("/"), source.lastIndexOf("\\"));
  return cut < 0 ? path : source.slice(0, cut + 1) + path;
}

/** The Redis `redis` names, as the transport takes it (core/net/redis_target.ts). */
export function redisTarget(redis: RedisConfig): RedisTarget {
  if (redis.url !== undefined) return { url: redis.url };
  const tls = redis.tls !== undefined;
  if (redis.cluster !== undefined) return { cluster: { ...redis.cluster, tls } };
  return { sentinel: { ...redis.sentinel, tls } };
}
