/**
 * What the client commands share: loading the config named by `-c` and the
 * trust list beside it, and connecting to the network.
 *
 * @module
 */

import { Client, type ClientTimeouts, DEFAULT_TIMEOUTS } from "../core/client/session.ts";
import type { HeaderPolicy } from "../core/client/vetting.ts";
import { NetworkUnavailableError, UsageError } from "../core/errors.ts";
import { DEFAULT_MAX_LOG_N } from "../core/keys.ts";
import { openTargetWarning, redisLabel, targetOptions } from "../core/net/redis_target.ts";
import { redisTarget } from "../core/config_redis.ts";
import { DEFAULT_CONNECT_TIMEOUT_MS } from "../core/net/connection.ts";
import { noPasswordWarning } from "../core/net/connection.ts";
import { redisUrlOrigin } from "../core/redis_origin.ts";
import { intFlag, type Parsed } from "./args.ts";
import { type Config, configPath, loadConfig, MAX_TIMEOUT_SECONDS } from "../core/config.ts";
import { readTrust, trustFilePath } from "./trust.ts";

/** A client command's settings: the config, and the trust list that belongs to it. */
export interface ClientConfig extends Config {
  /** The trust file beside the config in use (cli/trust.ts). */
  readonly trustFile: string;
  /** The config file looked for (-c, or the default); `source` says whether it was read. */
  readonly configFile: string;
}

/**
 * Set by the shell for the commands it runs: it has shown the connection
 * warnings once already, so they are not repeated for every command.
 */
export const WARNED_ENV = "SECSHRNET_WARNED";

/** Loads the config of `-c`, or the default one; `--timeout`, when the command has it, wins. */
export async function configFrom(parsed: Parsed): Promise<ClientConfig> {
  const value = parsed.values.config;
  const path = typeof value === "string" ? value : undefined;
  const timeout = intFlag(parsed.values.timeout, "timeout", 1, MAX_TIMEOUT_SECONDS);
  const config = await loadConfig({ path });
  if (timeout !== undefined) config.client.timeoutMs = timeout * 1000;
  const configFile = configPath({ path });
  return { ...config, trustFile: trustFilePath(configFile), configFile };
}

/**
 * What the client accepts from a header before acting on it: the config's
 * floor, `--max-log-n`, and `-k 1` (the object was stored with `-k 1`).
 */
export function headerPolicy(parsed: Parsed, config: Config): HeaderPolicy {
  const k = parsed.values.k;
  if (k !== undefined && k !== "1") {
    throw new UsageError(
      "-k takes only 1 here: it accepts an object that was stored with -k 1 (k is in its header)",
    );
  }
  return { minLogN: config.kdf.minLogN, maxLogN: maxLogN(parsed), allowSingleShare: k === "1" };
}

/**
 * The client timeouts for a configured timeout: a server silent that long in
 * a transfer is given up, and a request's three attempts fit in it too (3 s
 * apart at most, as by default). Undefined keeps the defaults (20 s; 3 × 3 s).
 */
export function clientTimeouts(timeoutMs: number | undefined): Partial<ClientTimeouts> {
  if (timeoutMs === undefined) return {};
  return {
    transferIdleMs: timeoutMs,
    requestMs: Math.min(DEFAULT_TIMEOUTS.requestMs, Math.ceil(timeoutMs / 3)),
  };
}

/** The warning for a config that turns TLS certificate checks off; undefined when they are on. */
export function insecureTlsWarning(config: Config): string | undefined {
  if (config.redis.tls?.rejectUnauthorized !== false) return undefined;
  return "TLS certificate checks are off (tls_reject_unauthorized = false): " +
    "whoever sits between this host and Redis can read and change its traffic";
}

/**
 * Connects to the network `config` names, as a client that uses the servers
 * of its trust file; prints the connection's warnings (once per shell). When
 * Redis cannot be reached, the error says where its URL came from
 * (core/redis_origin.ts).
 */
export async function connect(config: ClientConfig): Promise<Client> {
  const warn = Deno.env.get(WARNED_ENV) !== "1";
  const insecure = insecureTlsWarning(config);
  if (insecure !== undefined && warn) console.error(`secshrnet: warning: ${insecure}`);
  const caFile = config.redis.tls?.caFile;
  const trusted = await readTrust(config.trustFile);
  const target = redisTarget(config.redis);
  const noPassword = noPasswordWarning(redisLabel(target));
  let client: Client;
  try {
    client = await Client.connect(
      {
        ...targetOptions(target),
        tls: {
          ca: caFile === undefined ? undefined : await Deno.readTextFile(caFile),
          rejectUnauthorized: config.redis.tls?.rejectUnauthorized,
        },
        network: config.network.name,
        // A shorter --timeout (or [client] timeout) shortens connecting too.
        connectTimeoutMs: Math.min(
          config.client.timeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
          DEFAULT_CONNECT_TIMEOUT_MS,
        ),
        // The host's own log goes nowhere for a client, but for this one warning.
        log: (level, message) => {
          if (level === "warn" && message === noPassword && warn) {
            console.error(`secshrnet: warning: ${message}`);
          }
        },
      },
      { ids: new Set(trusted.map((entry) => entry.id)), source: config.trustFile },
      clientTimeouts(config.client.timeoutMs),
    );
  } catch (error) {
    // Client.connect throws a NetworkUnavailableError only for Redis it cannot reach.
    if (!(error instanceof NetworkUnavailableError)) throw error;
    throw new NetworkUnavailableError(
      `${error.message}; ${redisUrlOrigin(config, config.configFile)}`,
    );
  }
  const open = openTargetWarning(target);
  if (open !== undefined && warn) console.error(`secshrnet: warning: ${open}`);
  return client;
}

/** Runs `task` with a connected client, closing it afterwards. */
export async function withClient<T>(
  config: ClientConfig,
  task: (client: Client) => Promise<T>,
): Promise<T> {
  const client = await connect(config);
  try {
    return await task(client);
  } catch (error) {
    throw refusal(error);
  } finally {
    await client.close();
  }
}

/**
 * A command Redis refused to the configured user (an ioredis ReplyError
 * "NOPERM ...": the ACL lacks it) as a one-line NetworkUnavailableError;
 * any other error unchanged.
 */
function refusal(error: unknown): unknown {
  if (!(error instanceof Error && error.name === "ReplyError")) return error;
  if (!/^NOPERM\b/.test(error.message)) return error;
  return new NetworkUnavailableError(
    `Redis refused a command: ${error.message}; the Redis user's ACL must allow it (docs/REDIS.md)`,
  );
}

/** The --max-log-n flag, default {@linkcode DEFAULT_MAX_LOG_N}. */
export function maxLogN(parsed: Parsed): number {
  return intFlag(parsed.values["max-log-n"], "max-log-n", 10, 30) ?? DEFAULT_MAX_LOG_N;
}
