/**
 * Which Redis a host talks through: one node by URL, the master of a
 * Sentinel group found through its sentinels (docs/REDIS.md, "Sentinel"), or
 * a Redis Cluster reached through some of its nodes (docs/REDIS.md,
 * "Cluster"; hosts then use sharded pub/sub, docs/PROTOCOL.md).
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

/** A Redis Cluster. */
export interface ClusterTarget {
  /** Some of its nodes, as "host:port" (IPv6 hosts in brackets); the rest are discovered. */
  readonly nodes: readonly string[];
  /** The Redis user of every node, if not `default`. */
  readonly username?: string;
  /** Its password. */
  readonly password?: string;
  /** Whether the nodes speak TLS. */
  readonly tls: boolean;
}

/** One Redis node (`url`, redis:// or rediss://), a Sentinel master (`sentinel`) or a cluster. */
export type RedisTarget =
  | { readonly url: string; readonly sentinel?: undefined; readonly cluster?: undefined }
  | { readonly url?: undefined; readonly sentinel: SentinelTarget; readonly cluster?: undefined }
  | { readonly url?: undefined; readonly sentinel?: undefined; readonly cluster: ClusterTarget };

/**
 * `target` for people: the URL without its password,
 * `the Sentinel master "NAME" (sentinels H:P, H:P)` or
 * `the Redis Cluster of H:P, H:P`.
 */
export function redisLabel(target: RedisTarget): string {
  if (target.url !== undefined) return redactUrl(target.url);
  if (target.cluster !== undefined) {
    return `the Redis Cluster of ${target.cluster.nodes.join(", ")}`;
  }
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
  const { password, entries } = target.cluster !== undefined
    ? { password: target.cluster.password, entries: target.cluster.nodes }
    : { password: target.sentinel.password, entries: target.sentinel.sentinels };
  if (password !== undefined) return undefined;
  for (const entry of entries) {
    const warning = openRedisWarning(`redis://${entry}`);
    if (warning !== undefined) return warning;
  }
  return undefined;
}

/** `target` as Host.connect's options take it: `redisUrl`, `sentinel` or `cluster`. */
export function targetOptions(
  target: RedisTarget,
): { redisUrl: string } | { sentinel: SentinelTarget } | { cluster: ClusterTarget } {
  if (target.url !== undefined) return { redisUrl: target.url };
  return target.cluster !== undefined ? { cluster: target.cluster } : { sentinel: target.sentinel };
}
