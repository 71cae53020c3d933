/**
 * Which Redis a host talks through: one node by URL, or the master of a
 * Sentinel group found through its sentinels (docs/REDIS.md, "Sentinel").
 * Messages name a target with {@linkcode redisLabel}, never its passwords.
 *
 * @module
 */

import { openRedisWarning, redactUrl } from "./url.ts";

/** A master found through Redis Sentinel. */
export interface SentinelTarget {
  /** The sentinels, as "host:port" (IPv6 hosts in brackets). */
  readonly sentinels: readonly string[];
  /** The master group name the sentinels monitor. */
  readonly masterName: string;
  /** The Redis user of the master and replicas, if not `default`. */
  readonly username?: string;
  /** Their password. */
  readonly password?: string;
  /** The sentinels' own password, if they have one. */
  readonly sentinelPassword?: string;
  /** Whether the sentinels and the nodes speak TLS. */
  readonly tls: boolean;
}

/** One Redis node (`url`, redis:// or rediss://) or a Sentinel master (`sentinel`). */
export type RedisTarget =
  | { readonly url: string; readonly sentinel?: undefined }
  | { readonly url?: undefined; readonly sentinel: SentinelTarget };

/**
 * `target` for people: the URL without its password, or
 * `the Sentinel master "NAME" (sentinels H:P, H:P)`.
 */
export function redisLabel(target: RedisTarget): string {
  if (target.url !== undefined) return redactUrl(target.url);
  const { masterName, sentinels } = target.sentinel;
  return `the Sentinel master ${JSON.stringify(masterName)} (sentinels ${sentinels.join(", ")})`;
}

/** A "host:port" entry as ioredis takes it (brackets dropped from IPv6 hosts). */
export function hostAndPort(entry: string): { host: string; port: number } {
  const cut = entry.lastIndexOf(":");
  return {
    host: entry.slice(0, cut).replace(/^\[(.*)\]$/, "$1"),
    port: Number(entry.slice(cut + 1)),
  };
}

/**
 * The warning for a target reached without a password over a network
 * (core/net/url.ts, openRedisWarning); undefined when there is none.
 */
export function openTargetWarning(target: RedisTarget): string | undefined {
  if (target.url !== undefined) return openRedisWarning(target.url);
  if (target.sentinel.password !== undefined) return undefined;
  for (const entry of target.sentinel.sentinels) {
    const warning = openRedisWarning(`redis://${entry}`);
    if (warning !== undefined) return warning;
  }
  return undefined;
}

/** `target` as Host.connect's options take it: `redisUrl` or `sentinel`. */
export function targetOptions(
  target: RedisTarget,
): { redisUrl: string } | { sentinel: SentinelTarget } {
  return target.url !== undefined ? { redisUrl: target.url } : { sentinel: target.sentinel };
}
