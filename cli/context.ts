/**
 * What the client commands share: loading the config named by `-c`,
 * connecting to the network, and reading the password from the sources the
 * flags and environment give.
 *
 * @module
 */

import { Client, type ClientTimeouts, DEFAULT_TIMEOUTS } from "../core/client/session.ts";
import { NetworkUnavailableError } from "../core/errors.ts";
import { DEFAULT_MAX_LOG_N } from "../core/keys.ts";
import { intFlag, type Parsed } from "./args.ts";
import { type Config, loadConfig, MAX_TIMEOUT_SECONDS } from "./config.ts";
import { readPassword } from "./password.ts";

/** Loads the config of `-c`, or the default one; `--timeout`, when the command has it, wins. */
export async function configFrom(parsed: Parsed): Promise<Config> {
  const path = parsed.values.config;
  const timeout = intFlag(parsed.values.timeout, "timeout", 1, MAX_TIMEOUT_SECONDS);
  const config = await loadConfig(typeof path === "string" ? { path } : {});
  if (timeout !== undefined) config.client.timeoutMs = timeout * 1000;
  return config;
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

/** Connects to the network `config` names. */
export async function connect(config: Config): Promise<Client> {
  const insecure = insecureTlsWarning(config);
  if (insecure !== undefined) console.error(`secshrnet: warning: ${insecure}`);
  const caFile = config.redis.tls?.caFile;
  return await Client.connect({
    redisUrl: config.redis.url,
    tls: {
      ca: caFile === undefined ? undefined : await Deno.readTextFile(caFile),
      rejectUnauthorized: config.redis.tls?.rejectUnauthorized,
    },
    network: config.network.name,
  }, clientTimeouts(config.client.timeoutMs));
}

/** Runs `task` with a connected client, closing it afterwards. */
export async function withClient<T>(
  config: Config,
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

/** Reads the password for `tag` from --password-file, --password-fd, the environment or the terminal. */
export async function password(parsed: Parsed, tag: string, confirm: boolean): Promise<string> {
  const fd = intFlag(parsed.values["password-fd"], "password-fd", 0, 65535);
  const file = parsed.values["password-file"];
  return await readPassword({
    source: { passwordFile: typeof file === "string" ? file : undefined, passwordFd: fd },
    prompt: `Password for ${tag}: `,
    confirm,
    confirmPrompt: "Repeat the password: ",
  });
}

/** The --max-log-n flag, default {@linkcode DEFAULT_MAX_LOG_N}. */
export function maxLogN(parsed: Parsed): number {
  return intFlag(parsed.values["max-log-n"], "max-log-n", 10, 30) ?? DEFAULT_MAX_LOG_N;
}
