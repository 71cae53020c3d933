/**
 * `secshrnet serve`: a storage server. It keeps its id, log and objects under
 * its root, joins the network through Redis, and stays up across Redis
 * restarts. Servers are storage only: they never see a password or plaintext.
 *
 * @module
 */

import { toHex } from "../core/bytes.ts";
import { Host, NetworkError } from "../core/net/host.ts";
import type { Config } from "../cli/config.ts";
import { openLog } from "./log.ts";
import { makePrivateDir, RootPaths, writeDurable } from "./paths.ts";
import { serveProtocol } from "./protocol.ts";
import { Store } from "./store.ts";

/** A running server. */
export interface RunningServer {
  /** Its address on the network. */
  readonly address: string;
  /** Stops it: leaves the network, drops sessions, closes the log. */
  stop(): Promise<void>;
}

/** Reads the server id from the root, creating one on first start. */
export async function serverId(paths: RootPaths): Promise<string> {
  try {
    const id = (await Deno.readTextFile(paths.serverId)).trim();
    if (/^[0-9a-f]{16}$/.test(id)) return id;
    throw new Error(`${paths.serverId} holds no valid server id; remove it to make a new one`);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  const id = toHex(crypto.getRandomValues(new Uint8Array(8)));
  await writeDurable(paths.serverId, new TextEncoder().encode(id + "\n"));
  return id;
}

/** Errors that retrying will not fix (credentials, certificates). */
function isPermanent(error: Error): boolean {
  return /WRONGPASS|NOAUTH|NOPERM|certificate|self.signed|ERR_TLS|unable to verify/i.test(
    error.message,
  );
}

/** Starts a server under `root` with `config`; waits for Redis while it is unreachable. */
export async function runServer(
  root: string,
  config: Config,
  verbose = false,
): Promise<RunningServer> {
  const paths = new RootPaths(root);
  await makePrivateDir(paths.root);
  const log = openLog(paths.log, verbose);
  try {
    const id = await serverId(paths);
    const store = await Store.open(root, config.server);
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
          id,
          log,
        });
      } catch (error) {
        if (!(error instanceof NetworkError) || isPermanent(error)) throw error;
        const wait = Math.min(attempt, 10);
        log("warn", `${error.message}; retrying in ${wait} s`);
        await new Promise((resolve) => setTimeout(resolve, wait * 1000));
      }
    }
    const stopProtocol = serveProtocol(host, store, {
      serverId: id,
      sessionTimeoutMs: config.server.uploadTimeoutMs,
      log,
    });
    const { objects, bytes } = store.stats;
    log(
      "info",
      `serving as ${host.address} on network ${config.network.name} (root ${root}, ${objects} objects, ${bytes} bytes)`,
    );
    return {
      address: host.address,
      stop: async () => {
        await stopProtocol();
        await host.close();
        log("info", "stopped");
        log.close();
      },
    };
  } catch (error) {
    log("warn", `cannot start: ${(error as Error).message}`);
    log.close();
    throw error;
  }
}
