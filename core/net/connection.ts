/**
 * A host's two ioredis connections (one subscribed, one to publish): opening
 * them with errors that say what to do, a bounded wait, and a clean close.
 *
 * @module
 */

import { Redis, type RedisOptions } from "ioredis";
import { NetworkError } from "./errors.ts";
import { hostAndPort, redisLabel, type RedisTarget, type SentinelTarget } from "./redis_target.ts";
import { connectFailureReason } from "./connect_failure.ts";
import { ThrottledLog } from "./throttled_log.ts";

/** How long opening a host's connections (TCP, AUTH, ready check, SUBSCRIBE) may take by default. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

/** Redis's replies to AUTH when it has no password to check (Redis 6 and later; before 6). */
const NO_PASSWORD_REPLY = /without any password configured|no password is set/;

/** The warning for a password sent to a Redis (`label`, from redisLabel) that needs none. */
export function noPasswordWarning(label: string): string {
  return `Redis at ${label} needs no password, but one is configured; remove it from ` +
    `[redis] or set one on Redis (requirepass/ACL)`;
}

/**
 * Opens the publishing and the subscribed connection to `url` and subscribes
 * to `channels`, within `timeoutMs`. Throws a NetworkError "cannot reach
 * Redis at URL: REASON" naming the URL (without its password) and what to
 * do (core/net/connect_failure.ts); once open, both reconnect by themselves
 * and report errors to `log`. A password Redis does not need is logged as
 * {@linkcode noPasswordWarning}, never printed by ioredis.
 */
export async function openConnections(
  target: RedisTarget,
  tls: { ca?: string; rejectUnauthorized?: boolean } | undefined,
  channels: string[],
  log: (level: "info" | "warn", message: string) => void,
  timeoutMs: number = DEFAULT_CONNECT_TIMEOUT_MS,
): Promise<{ pub: Redis; sub: Redis }> {
  let connected = false;
  let tcpConnected = false;
  let cause: Error | undefined;
  const label = redisLabel(target);
  const retry = (times: number) => connected ? Math.min(100 * times, 2000) : null;
  const useTls = target.url?.startsWith("rediss:") || target.sentinel?.tls || tls?.ca;
  const tlsOptions = useTls
    ? { ca: tls?.ca, rejectUnauthorized: tls?.rejectUnauthorized ?? true }
    : undefined;
  const options: RedisOptions = {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    keepAlive: 10_000,
    maxRetriesPerRequest: 2,
    disableClientInfo: true, // no CLIENT SETINFO: one command fewer for a Redis ACL to allow
    retryStrategy: retry,
    tls: tlsOptions,
    ...sentinelOptions(target.sentinel, tlsOptions, retry),
  };
  const pub = connectionTo(target, { ...options, enableOfflineQueue: false });
  const sub = connectionTo(target, options);
  // A retry every 2 s while Redis is away: a few lines a minute, then a count.
  const errors = new ThrottledLog(log);
  let warned = false;
  const noPassword = () => {
    if (!warned) log("warn", noPasswordWarning(label));
    warned = true;
  };
  for (const [name, connection] of [["publisher", pub], ["subscriber", sub]] as const) {
    acceptAuthWithoutPassword(connection, noPassword);
    acceptInfoRefused(connection, () => log("warn", noInfoWarning(label)));
    connection.once("connect", () => tcpConnected = true);
    connection.on("error", (error: Error) => {
      // The last error says most (a TLS alert after a reset), but a reply that is not
      // Redis at all says more than the errors that follow it.
      if (cause?.name !== "ParserError") cause = error;
      if (connected) errors.line(`redis ${name}: ${retryReason(error)}`);
    });
  }
  // Any error or end while connecting is final. Under Deno, a TLS alert after the
  // handshake (e.g. a client certificate required) leaves connect() pending forever,
  // and so does a server that accepts and never answers: hence the deadline.
  let timedOut = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const ended = new Promise<never>((_, reject) => {
    for (const connection of [pub, sub]) {
      connection.once("end", () => reject(new Error("connection closed")));
      connection.once("error", reject);
    }
    timer = setTimeout(() => {
      timedOut = true;
      reject(new Error(`timed out after ${timeoutMs} ms`));
    }, timeoutMs);
  });
  ended.catch(() => {});
  try {
    await Promise.race([Promise.all([pub.connect(), sub.connect()]), ended]);
    await Promise.race([sub.subscribe(...channels), ended]);
  } catch (error) {
    pub.disconnect();
    sub.disconnect();
    const reason = connectFailureReason(target, {
      // A deadline says more than the errors the disconnect above may cause.
      error: timedOut ? new Error("timed out") : cause ?? (error as Error),
      connected: tcpConnected,
      timedOut,
      timeoutMs,
    });
    throw new NetworkError(`cannot reach Redis at ${label}: ${reason}`);
  } finally {
    clearTimeout(timer);
  }
  connected = true;
  return { pub, sub };
}

/**
 * What a reconnecting connection's `error` means. ioredis says "All sentinels
 * are unreachable" also when they answered but the master they named did
 * not, as during every failover.
 */
function retryReason(error: Error): string {
  return /^All sentinels are unreachable/.test(error.message)
    ? "no sentinel gave the address of a master that answers " +
      "(the sentinels are down, or a failover is under way); asking again"
    : error.message;
}

/** A connection to `target` with `options` (not yet connected: lazyConnect). */
function connectionTo(target: RedisTarget, options: RedisOptions): Redis {
  return target.url !== undefined ? new Redis(target.url, options) : new Redis(options);
}

/**
 * The ioredis options that reach a master through its sentinels (none for a
 * plain URL): ask each sentinel in turn on every (re)connect, which follows a
 * failover, and speak TLS to the sentinels as to the nodes.
 */
function sentinelOptions(
  sentinel: SentinelTarget | undefined,
  tls: RedisOptions["tls"],
  retry: (times: number) => number | null,
): Partial<RedisOptions> {
  if (sentinel === undefined) return {};
  return {
    sentinels: sentinel.sentinels.map(hostAndPort),
    name: sentinel.masterName,
    username: sentinel.username,
    password: sentinel.password,
    sentinelPassword: sentinel.sentinelPassword,
    sentinelRetryStrategy: retry,
    // Not ioredis's failover detector: its disconnect on +switch-master, landing while a
    // connection is still reconnecting, ended 2 of 5 servers' connections for good in tests.
    // A dead master refuses the reconnect, and each retry asks the sentinels afresh.
    failoverDetector: false,
    enableTLSForSentinelMode: tls !== undefined,
    sentinelTLS: tls,
  };
}

/**
 * Makes `connection` take Redis's "no password is set" reply to its AUTH as
 * success and call `onNoPassword`: ioredis itself would print a "[WARN]"
 * line to the console (redis/event_handler.js, connectHandler, which calls
 * `auth` with a callback) and go on just the same.
 */
function acceptAuthWithoutPassword(connection: Redis, onNoPassword: () => void): void {
  type Auth = (...args: unknown[]) => unknown;
  const target = connection as unknown as { auth: Auth };
  const auth = target.auth.bind(connection);
  target.auth = (...args: unknown[]) => {
    const callback = args.at(-1);
    if (typeof callback !== "function") return auth(...args);
    return auth(...args.slice(0, -1), (error: Error | null, result: unknown) => {
      if (error && NO_PASSWORD_REPLY.test(error.message)) {
        onNoPassword();
        callback(null, "OK");
      } else {
        callback(error, result);
      }
    });
  };
}

/** The warning for a Redis user whose ACL refuses INFO (logged for each connection). */
export function noInfoWarning(label: string): string {
  return `the Redis user of ${label} may not run INFO, so the check that Redis has ` +
    `finished loading is skipped; add +info to its ACL (docs/REDIS.md)`;
}

/**
 * Makes `connection` take a NOPERM reply to INFO (ioredis's ready check,
 * redis/Redis.js `_readyCheck`) as an empty INFO and call `onRefused`:
 * ioredis itself would print a "Skipping the ready check" line to the
 * console and go on just the same.
 */
function acceptInfoRefused(connection: Redis, onRefused: () => void): void {
  type Info = (...args: unknown[]) => unknown;
  const target = connection as unknown as { info: Info };
  const info = target.info.bind(connection);
  target.info = (...args: unknown[]) => {
    const callback = args.at(-1);
    if (typeof callback !== "function") return info(...args);
    return info(...args.slice(0, -1), (error: Error | null, result: unknown) => {
      if (error && /^NOPERM\b/.test(error.message)) {
        onRefused();
        callback(null, "");
      } else {
        callback(error, result);
      }
    });
  };
}

/**
 * QUITs `connection` and waits for it to end. `disconnect()` only when it
 * did not end by itself: called on a socket already closed, ioredis leaves a
 * timer running.
 */
export async function closeConnection(connection: Redis): Promise<void> {
  if (connection.status === "end") return;
  const ended = new Promise<void>((resolve) => connection.once("end", () => resolve()));
  try {
    await withTimeout(connection.quit(), 2000);
    await withTimeout(ended, 2000);
  } catch {
    // The status changes under us while awaiting; read it afresh.
    if ((connection.status as string) !== "end") connection.disconnect();
  }
}

/** `promise`, or a rejection after `ms` milliseconds, whichever comes first. */
export async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
