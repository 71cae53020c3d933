/**
 * `secshrnet serve`: a storage server. It takes its root's lock (one server
 * per root), keeps its id, log and objects under the root, scrubs its shares
 * in the background, joins the network through Redis, and stays up across
 * Redis restarts. Servers are storage only: they never see a password or
 * plaintext.
 *
 * @module
 */

import { NetworkUnavailableError } from "../core/errors.ts";
import { Host, NetworkError } from "../core/net/host.ts";
import { openTargetWarning, targetOptions } from "../core/net/redis_target.ts";
import { redisTarget } from "../core/config_redis.ts";
import { Identity } from "../core/net/identity.ts";
import {
  type Config,
  configPath,
  DEFAULT_LOG_KEEP,
  DEFAULT_LOG_MAX_BYTES,
} from "../core/config.ts";
import { redisUrlOrigin } from "../core/redis_origin.ts";
import { type Logger, openLog } from "./log.ts";
import { lockRoot } from "./lock.ts";
import { DEFAULT_SCRUB_INTERVAL_MS, DEFAULT_SCRUB_RATE, Scrubber } from "./scrub.ts";
import { makePrivateDir, probeWritable, RootPaths, syncDir, writeDurable } from "./paths.ts";
import { inRoot, logFileError, ServerPathError } from "./path_errors.ts";
import { displayName } from "../core/net/envelope.ts";
import { serveProtocol } from "./protocol.ts";
import { Store } from "./store.ts";

/** A running server. */
export interface RunningServer {
  /** Its address on the network. */
  readonly address: string;
  /**
   * Stops it: leaves the network, drops sessions, stops the scrub, closes the
   * log (and stops listening for SIGHUP), lets the root go.
   */
  stop(): Promise<void>;
}

/**
 * Hooks of {@linkcode runServer} for tests (tests/harness/liar.ts runs the
 * real server as an adversary through them). Production callers pass none.
 */
/** `runServer` was stopped (its `stop` signal) before it had joined the network. */
export class StoppedWhileStartingError extends Error {
  constructor() {
    super("stopped before joining the network");
    this.name = "StoppedWhileStartingError";
  }
}

export interface ServerHooks {
  /**
   * Called once connected, before the protocol handlers are registered: the
   * host returned (e.g. a wrapper around `host`) is the one they register on
   * and send through. `store` is the server's store.
   */
  wrapHost?: (host: Host, store: Store) => Host;
}

/**
 * Reads the server's key pair from the root, creating one on first start, and
 * writes its id (the public key) next to it.
 */
export async function serverIdentity(paths: RootPaths): Promise<Identity> {
  let identity: Identity;
  try {
    const bytes = await Deno.readFile(paths.serverKey);
    try {
      identity = await Identity.fromPkcs8(bytes);
    } catch {
      throw new ServerPathError(
        `${paths.serverKey} holds no valid server key; restore it from a backup, or move it ` +
          `away to start as a new server (clients must then trust its new id)`,
      );
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    identity = await Identity.generate();
    // Written aside and renamed, so a crash never leaves a torn key.
    await writeDurable(`${paths.serverKey}.new`, await identity.pkcs8());
    await Deno.rename(`${paths.serverKey}.new`, paths.serverKey);
    await syncDir(paths.root);
  }
  const recorded = await Deno.readTextFile(paths.serverId).catch(() => "");
  if (recorded.trim() !== identity.id) {
    await writeDurable(paths.serverId, new TextEncoder().encode(identity.id + "\n"));
  }
  return identity;
}

/** Errors that retrying will not fix (credentials, certificates). */
function isPermanent(error: Error): boolean {
  return /WRONGPASS|NOAUTH|NOPERM|certificate|self.signed|ERR_TLS|unable to verify/i.test(
    error.message,
  );
}

/**
 * Starts a server under `root` with `config`; waits for Redis while it is
 * unreachable. Throws a RootBusyError (server/lock.ts), having touched
 * nothing else, when another server holds the root; a ServerPathError
 * (server/path_errors.ts) when the root or the log file cannot be used; a
 * NetworkUnavailableError when Redis refuses for good (credentials,
 * certificates). Until stopped, SIGHUP reopens the log file (after
 * logrotate moved it). `stop`, once aborted, ends the wait for Redis with a
 * StoppedWhileStartingError. `hooks` are for tests only.
 */
export async function runServer(
  root: string,
  config: Config,
  verbose = false,
  hooks: ServerHooks = {},
  stop?: AbortSignal,
): Promise<RunningServer> {
  const paths = new RootPaths(root);
  await inRoot(root, () => makePrivateDir(paths.root));
  const lock = await inRoot(root, () => lockRoot(paths));
  let log: Logger;
  const file = paths.logFile(config.server.log);
  try {
    await inRoot(root, () => probeWritable(paths.root));
    try {
      log = openLog({
        file,
        maxBytes: config.server.logMaxBytes ?? DEFAULT_LOG_MAX_BYTES,
        keep: config.server.logKeep ?? DEFAULT_LOG_KEEP,
        verbose,
      });
    } catch (error) {
      throw logFileError(file ?? "", error);
    }
  } catch (error) {
    lock.release();
    throw error;
  }
  const reopen = () => {
    try {
      if (log.reopen()) log("info", "log reopened");
    } catch (error) {
      const reason = (error as Error).message;
      log("warn", `cannot reopen the log file ${file}: ${reason}; logging to stderr until SIGHUP`);
    }
  };
  const hangUps = Deno.build.os !== "windows"; // SIGHUP is Unix's
  if (hangUps) Deno.addSignalListener("SIGHUP", reopen);
  let scrubber: Scrubber | undefined;
  try {
    const identity = await inRoot(root, () => serverIdentity(paths));
    const store = await inRoot(root, () => Store.open(root, config.server));
    const scrub = new Scrubber(store, {
      rate: config.server.scrubRate ?? DEFAULT_SCRUB_RATE,
      intervalMs: config.server.scrubIntervalMs ?? DEFAULT_SCRUB_INTERVAL_MS,
      log,
    });
    scrubber = scrub;
    // Before connecting: once the server is on the bus (what tests wait for), it has been said.
    const target = redisTarget(config.redis);
    const open = openTargetWarning(target);
    if (open !== undefined) log("warn", open);
    const caFile = config.redis.tls?.caFile;
    const ca = caFile === undefined ? undefined : await Deno.readTextFile(caFile);
    let host: Host | undefined;
    for (let attempt = 1; host === undefined; attempt++) {
      if (stop?.aborted) throw new StoppedWhileStartingError();
      try {
        host = await Host.connect({
          ...targetOptions(target),
          tls: { ca, rejectUnauthorized: config.redis.tls?.rejectUnauthorized },
          network: config.network.name,
          role: "server",
          identity,
          log,
        });
      } catch (error) {
        if (!(error instanceof NetworkError)) throw error;
        // A deliberate error: the command prints its message alone, not as "unexpected".
        const origin = redisUrlOrigin(config, config.source ?? configPath({ root }), {
          init: `secshrnet config init -r ${root} --redis URL`,
        });
        if (isPermanent(error)) throw new NetworkUnavailableError(`${error.message}; ${origin}`);
        const wait = Math.min(attempt, 10);
        log("warn", `${error.message}; ${origin}; retrying in ${wait} s`);
        await pause(wait * 1000, stop);
      }
    }
    if (stop?.aborted) {
      await host.close();
      throw new StoppedWhileStartingError();
    }
    const served = hooks.wrapHost?.(host, store) ?? host;
    const stopProtocol = serveProtocol(served, store, {
      serverId: identity.id,
      sessionTimeoutMs: config.server.uploadTimeoutMs,
      log,
      scrub: () => scrub.status,
    });
    // Once connected: a server that cannot start (a refused password) has nothing to scrub for.
    scrub.start();
    const { objects, bytes } = store.stats;
    // People see a server as the first 16 hex digits of its id (`secshrnet servers`).
    log(
      "info",
      `serving as server ${displayName(host.address)} on network ${config.network.name} ` +
        `(root ${root}, ${objects} objects, ${bytes} bytes)`,
    );
    log("debug", `server id ${identity.id}`);
    return {
      address: host.address,
      stop: async () => {
        await stopProtocol();
        await scrub.stop();
        await host.close();
        log("info", "stopped");
        if (hangUps) Deno.removeSignalListener("SIGHUP", reopen);
        log.close();
        lock.release();
      },
    };
  } catch (error) {
    await scrubber?.stop();
    if (error instanceof StoppedWhileStartingError) log("info", "stopped");
    else log("warn", `cannot start: ${(error as Error).message}`);
    if (hangUps) Deno.removeSignalListener("SIGHUP", reopen);
    log.close();
    lock.release();
    throw error;
  }
}

/** Waits `ms`, or less when `stop` is aborted meanwhile. */
function pause(ms: number, stop: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    stop?.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      stop?.removeEventListener("abort", done);
      resolve();
    }
  });
}
