/**
 * Why opening a Redis connection failed, in words that say what to do: the
 * socket and parser errors of ioredis (ECONNREFUSED, a "Protocol error ...
 * Please report this" from a server that is not Redis) restated, and hints
 * for the causes that are commonly misread.
 *
 * @module
 */

import { splitAuthority } from "./url.ts";
import type { ClusterTarget, RedisTarget, SentinelTarget } from "./redis_target.ts";

/** What went wrong while connecting, as {@linkcode openConnections} saw it. */
export interface ConnectFailure {
  /** The first error a connection reported, or what ended the attempt. */
  readonly error: Error;
  /** Whether a TCP connection was made (so something listens at the address). */
  readonly connected: boolean;
  /** Whether the attempt was given up after `timeoutMs`. */
  readonly timedOut: boolean;
  /** The time allowed for the whole attempt. */
  readonly timeoutMs: number;
}

/** The reason part of "cannot reach Redis at TARGET: REASON", with what to do. */
export function connectFailureReason(target: RedisTarget, failure: ConnectFailure): string {
  if (target.sentinel !== undefined) return sentinelFailureReason(target.sentinel, failure);
  if (target.cluster !== undefined) return clusterFailureReason(target.cluster, failure);
  const url = target.url;
  const { error, connected, timedOut } = failure;
  const seconds = `${Math.ceil(failure.timeoutMs / 1000)} s`;
  const plain = url.startsWith("redis:");
  const tlsHint = plain ? "; if that port speaks TLS, use a rediss:// URL" : "";
  // Over TLS, ioredis counts as connected only once the handshake is done.
  const silent = plain
    ? `no answer within ${seconds} (check the host and port, and that no firewall drops ` +
      `the traffic)`
    : `no TLS handshake within ${seconds} (check the host and port, and that no firewall ` +
      `drops the traffic; if that port speaks plain Redis, use a redis:// URL)`;
  const message = error.message;
  if (error.name === "ParserError" || /^Protocol error\b/.test(message)) {
    // A TLS record starts with 0x15 (alert) or 0x16 (handshake).
    if (plain && /got "\\u001[56]"/.test(message)) {
      return "the server there speaks TLS (use a rediss:// URL)";
    }
    return "the server there does not speak the Redis protocol (check the host and port)";
  }
  if (timedOut) {
    return connected
      ? `connected, but no Redis reply within ${seconds} (check that the server there is ` +
        `Redis${tlsHint})`
      : silent;
  }
  if (/\bECONNREFUSED\b/.test(message)) {
    return "connection refused (start Redis there, or correct the host and port)";
  }
  if (/\bETIMEDOUT\b/.test(message)) return silent;
  if (/\b(ENOTFOUND|EAI_AGAIN|EAI_NONAME)\b/.test(message)) {
    return `host ${hostOf(url)} not found (check the host name)`;
  }
  if (/\b(EHOSTUNREACH|ENETUNREACH)\b/.test(message)) {
    return `host ${hostOf(url)} unreachable (check the address, and this machine's network)`;
  }
  if (plain && /EPIPE|ECONNRESET|connection closed/.test(message)) {
    const how = message === "connection closed" ? "" : `${message}: `;
    return `the server closed the connection (${how}check that it is Redis; if that port ` +
      `speaks TLS, use a rediss:// URL)`;
  }
  // Redis's own words first (they name the case); its full stop gives way to the hint.
  const said = message.replace(/\.$/, "");
  if (/^NOAUTH\b/.test(message)) {
    return `${said} (Redis needs a password: give it in the URL, or under [redis])`;
  }
  if (/^WRONGPASS\b/.test(message)) return `${said} (check the username and password)`;
  if (/^NOPERM\b/.test(message)) {
    return `${said} (the Redis user's ACL must allow it: see docs/REDIS.md)`;
  }
  return `${message}${connectHint(url, message)}`;
}

/** The host name of `url`, for messages (never its credentials). */
function hostOf(url: string): string {
  try {
    return new URL(url).hostname;
  } catch {
    return splitAuthority(url)?.hostport ?? url;
  }
}

/** A hint for a connection failure whose cause is commonly misread; "" when none. */
function connectHint(url: string, reason: string): string {
  if (/CertificateRequired|certificate required/i.test(reason)) {
    return " (Redis asks for a client certificate, which secshrnet does not send: " +
      "set tls-auth-clients to no or optional there)";
  }
  if (url.startsWith("rediss:") && /EPIPE|ECONNRESET/.test(reason)) {
    // The certificate alert may lose the race with our first write.
    return " (Redis closed the TLS connection; if it asks for a client certificate, which " +
      "secshrnet does not send, set tls-auth-clients to no or optional there)";
  }
  return "";
}

/** The reason a master could not be reached through its sentinels, with what to do. */
function sentinelFailureReason(sentinel: SentinelTarget, failure: ConnectFailure): string {
  const { message } = failure.error;
  const seconds = `${Math.ceil(failure.timeoutMs / 1000)} s`;
  if (/All sentinels are unreachable/.test(message)) {
    return `no sentinel answered with the address of master ${
      JSON.stringify(sentinel.masterName)
    } (check the sentinels' addresses, that they monitor that master_name, and ` +
      `sentinel_password)`;
  }
  if (/^NOAUTH\b/.test(message)) {
    return `${message} (the master needs a password: set password under [redis])`;
  }
  if (/^WRONGPASS\b/.test(message)) {
    return `${message} (check username and password under [redis])`;
  }
  if (failure.timedOut) {
    return `no answer within ${seconds} (check the sentinels and the master they name, and ` +
      `that no firewall drops the traffic)`;
  }
  if (/\bECONNREFUSED\b/.test(message)) {
    return "the master the sentinels name refused the connection (is a failover under way? " +
      "try again in a few seconds)";
  }
  return message;
}

/** The reason a Redis Cluster could not be reached through its listed nodes, with what to do. */
export function clusterFailureReason(cluster: ClusterTarget, failure: ConnectFailure): string {
  const { message } = failure.error;
  const said = message.replace(/\.$/, "");
  const seconds = `${Math.ceil(failure.timeoutMs / 1000)} s`;
  if (/cluster support disabled/.test(message)) {
    return "a node listed is not in cluster mode (for one node, give url instead of cluster)";
  }
  if (/^NOAUTH\b/.test(message)) {
    return `${said} (the nodes need a password: set password under [redis])`;
  }
  if (/^WRONGPASS\b/.test(message)) return `${said} (check username and password under [redis])`;
  if (/^NOPERM\b/.test(message)) {
    return `${said} (the Redis user's ACL must allow it: see docs/REDIS.md, "Cluster")`;
  }
  if (/^CLUSTERDOWN\b/.test(message)) {
    return "the cluster is down: some hash slots have no master it can reach (a failover may " +
      "be under way: try again once a replica has taken over; CLUSTER INFO on a node shows " +
      "cluster_state)";
  }
  if (failure.timedOut) {
    return `no answer within ${seconds} (check the nodes listed under cluster, and that no ` +
      `firewall drops the traffic)`;
  }
  if (
    /\bECONNREFUSED\b|None of startup nodes|Failed to refresh slots cache|Connection is closed/
      .test(message)
  ) {
    const count = cluster.nodes.length;
    return `no node of the ${count} listed answered (start the cluster, or correct ` +
      `cluster = [...] under [redis], or list more of its nodes there)`;
  }
  return said;
}
