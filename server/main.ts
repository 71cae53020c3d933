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
import { openRedisWarning } from "../core/net/url.ts";
import { Identity } from "../core/net/identity.ts";
import type { Config } from "../core/config.ts";
import { type Logger, openLog } from "./log.ts";
import { lockRoot } from "./lock.ts";
import { DEFAULT_SCRUB_INTERVAL_MS, DEFAULT_SCRUB_RATE, Scrubber } from "./scrub.ts";
import { makePrivateDir, RootPaths, syncDir, writeDurable } from "./paths.ts";
import { serveProtocol } from "./protocol.ts";
import { Store } from "./store.ts";

/** A running server. */
export interface RunningServer {
  /** Its address on the network. */
  readonly address: string;
  /** Stops it: leaves the network, drops sessions, stops the scrub, closes the log, lets the root go. */
  stop(): Promise<void>;
}

/**
 * Hooks of {@linkcode runServer} for tests (tests/harness/liar.ts runs the
 * real server as an adversary through them). Production callers pass none.
 */
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
      throw new Error(`${paths.serverKey} holds no valid server key`);
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
 * nothing else, when another server holds the root. `hooks` are for tests only.
 */
export async function runServer(
  root: string,
  config: Config,
  verbose = false,
  hooks: ServerHooks = {},
): Promise<RunningServer> {
  const paths = new RootPaths(root);
  await makePrivateDir(paths.root);
  const lock = await lockRoot(paths);
  let log: Logger;
  try {
    log = openLog(paths.log, verbose);
  } catch (error) {
    lock.release();
    throw error;
  }
  let scrubber: Scrubber | undefined;
  try {
    const identity = await serverIdentity(paths);
    const store = await Store.open(root, config.server);
    const scrub = new Scrubber(store, {
      rate: config.server.scrubRate ?? DEFAULT_SCRUB_RATE,
      intervalMs: config.server.scrubIntervalMs ?? DEFAULT_SCRUB_INTERVAL_MS,
      log,
    });
    scrubber = scrub;
    // Before connecting: once the server is on the bus (what tests wait for), it has been said.
    const open = openRedisWarning(config.redis.url);
    if (open !== undefined) log("warn", open);
    const caFile = config.redis.tls?.caFile;
    const ca = caFile === undefined ? undefined : await Deno.readTextFile(caFile);
    let host: Host | undefined;
    for (let attempt = 1; host === undefined; attempt++) {
      try {
        host = await Host.connect({
          redisUrl: config.redis.url,
          tls: { ca, rejectUnauthorized: config.redis.tls?.rejectUnauthorized },
          network: config.network.name,
          role: "server",
          identity,
          log,
        });
      } catch (error) {
        if (!(error instanceof NetworkError)) throw error;
        // A deliberate error: the command prints its message alone, not as "unexpected".
        if (isPermanent(error)) throw new NetworkUnavailableError(error.message);
        const wait = Math.min(attempt, 10);
        log("warn", `${error.message}; retrying in ${wait} s`);
        await new Promise((resolve) => setTimeout(resolve, wait * 1000));
      }
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
    log(
      "info",
      `serving as ${host.address} on network ${config.network.name} (root ${root}, ${objects} objects, ${bytes} bytes)`,
    );
    return {
      address: host.address,
      stop: async () => {
        await stopProtocol();
        await scrub.stop();
        await host.close();
        log("info", "stopped");
        log.close();
        lock.release();
      },
    };
  } catch (error) {
    await scrubber?.stop();
    log("warn", `cannot start: ${(error as Error).message}`);
    log.close();
    lock.release();
    throw error;
  }
}
