/**
 * Where the Redis URL in use came from, said after "cannot reach Redis at
 * URL: REASON" so the user knows what to change: the environment, the
 * config file read, or no config file at all (the default URL).
 *
 * @module
 */

import { type Config, DEFAULT_REDIS_URL, REDIS_URL_ENV } from "./config.ts";

type Env = Record<string, string | undefined>;

/** How {@linkcode redisUrlOrigin} words its advice. */
export interface OriginOptions {
  /** The command that writes a config file; default `secshrnet config init --redis URL`. */
  init?: string;
  /** The environment the config was loaded with; default the process's. */
  env?: Env;
}

/**
 * Where `config`'s Redis URL comes from, and what to do about it:
 * `SECSHRNET_REDIS_URL`; `[redis]` in the file read; that file not naming
 * one; or no file at `lookedAt` (the path looked for), so the default was used.
 */
export function redisUrlOrigin(
  config: Config,
  lookedAt: string,
  options: OriginOptions = {},
): string {
  const env = options.env ?? Deno.env.toObject();
  const init = options.init ?? "secshrnet config init --redis URL";
  const fromEnv = env[REDIS_URL_ENV];
  if (fromEnv !== undefined && fromEnv !== "") return `the URL comes from ${REDIS_URL_ENV}`;
  if (config.redis.sentinel !== undefined) {
    return `the sentinels come from [redis] in ${config.source}`;
  }
  if (config.redis.cluster !== undefined) {
    return `the cluster nodes come from [redis] in ${config.source}`;
  }
  if (config.source === undefined) {
    return `no config file at ${lookedAt}, so the default URL was used: run '${init}' or pass -c`;
  }
  if (config.redis.url === DEFAULT_REDIS_URL) {
    return `${config.source} sets no other Redis URL, so the default was used: set url ` +
      `under [redis] there`;
  }
  return `the URL comes from [redis] in ${config.source}`;
}
