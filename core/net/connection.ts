/**
 * A host's two ioredis connections (one subscribed, one to publish): opening
 * them with errors that say what to do, a bounded wait, and a clean close.
 *
 * @module
 */

import { Redis, type RedisOptions } from "ioredis";
import { NetworkError } from "./errors.ts";
import { redactUrl } from "./url.ts";

/**
 * Opens the publishing and the subscribed connection to `url` and subscribes
 * to `channels`. Throws a NetworkError naming the URL (without its password)
 * and the cause; once open, both reconnect by themselves and report errors
 * to `log`.
 */
export async function openConnections(
  url: string,
  tls: { ca?: string; rejectUnauthorized?: boolean } | undefined,
  channels: string[],
  log: (level: "warn", message: string) => void,
): Promise<{ pub: Redis; sub: Redis }> {
  let connected = false;
  let lastError = "";
  const options: RedisOptions = {
    lazyConnect: true,
    connectTimeout: 5000,
    keepAlive: 10_000,
    maxRetriesPerRequest: 2,
    disableClientInfo: true, // no CLIENT SETINFO: one command fewer for a Redis ACL to allow
    retryStrategy: (times) => connected ? Math.min(100 * times, 2000) : null,
    tls: url.startsWith("rediss:") || tls?.ca
      ? { ca: tls?.ca, rejectUnauthorized: tls?.rejectUnauthorized ?? true }
      : undefined,
  };
  const pub = new Redis(url, { ...options, enableOfflineQueue: false });
  const sub = new Redis(url, options);
  for (const [name, connection] of [["publisher", pub], ["subscriber", sub]] as const) {
    connection.on("error", (error: Error) => {
      lastError = error.message;
      if (connected) log("warn", `redis ${name}: ${error.message}`);
    });
  }
  // Any error or end while connecting is final. Under Deno, a TLS alert after the
  // handshake (e.g. a client certificate required) leaves connect() pending forever.
  const ended = new Promise<never>((_, reject) => {
    for (const connection of [pub, sub]) {
      connection.once("end", () => reject(new Error("connection closed")));
      connection.once("error", reject);
    }
  });
  ended.catch(() => {});
  try {
    await Promise.race([Promise.all([pub.connect(), sub.connect()]), ended]);
    await Promise.race([sub.subscribe(...channels), ended]);
  } catch (error) {
    pub.disconnect();
    sub.disconnect();
    const reason = lastError || (error as Error).message;
    throw new NetworkError(
      `cannot reach Redis at ${redactUrl(url)}: ${reason}${connectHint(url, reason)}`,
    );
  }
  connected = true;
  return { pub, sub };
}

/** A hint for a connection failure whose cause is commonly misread; "" when none. */
function connectHint(url: string, reason: string): string {
  if (/CertificateRequired|certificate required/i.test(reason)) {
    return " (Redis asks for a client certificate, which secshrnet does not send: " +
      "set tls-auth-clients to no or optional there)";
  }
  if (url.startsWith("redis:") && /EPIPE|ECONNRESET|connection closed/.test(reason)) {
    return " (if that port speaks TLS, use a rediss:// URL)";
  }
  if (url.startsWith("rediss:") && /EPIPE|ECONNRESET/.test(reason)) {
    // The certificate alert may lose the race with our first write.
    return " (Redis closed the TLS connection; if it asks for a client certificate, which " +
      "secshrnet does not send, set tls-auth-clients to no or optional there)";
  }
  return "";
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
