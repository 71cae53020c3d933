/**
 * The entry point shared by the test servers that misbehave on purpose
 * (tests/harness/liar.ts, tests/harness/rogue.ts): the real server
 * (`runServer` of server/main.ts) with its Host wrapped, started with
 * `-r ROOT [FLAG MODE] [-v]` like `secshrnet serve`, and stopped by SIGINT or
 * SIGTERM.
 *
 * @module
 */

import { loadConfig } from "../../core/config.ts";
import type { Host } from "../../core/net/host.ts";
import { runServer } from "../../server/main.ts";
import type { Store } from "../../server/store.ts";

/** How one kind of wrapped server reads its command line and wraps the host. */
export interface WrappedServer<Mode extends string> {
  /** The script's name, for the usage line. */
  readonly name: string;
  /** The flag that names the initial mode (e.g. `--lie`). */
  readonly flag: string;
  /** Every mode. */
  readonly modes: readonly Mode[];
  /** Wraps the real host of a server under `root`, starting in `mode`. */
  wrap(host: Host, store: Store, root: string, mode: Mode): Host;
}

/** Parses `args`, runs the wrapped server until SIGINT or SIGTERM, stops it and exits. */
export async function serveWrapped<Mode extends string>(
  args: string[],
  server: WrappedServer<Mode>,
): Promise<void> {
  let root: string | undefined;
  let mode = "honest" as Mode;
  let verbose = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "-r" || arg === "--root") root = args[++i];
    else if (arg === server.flag) {
      const value = args[++i] ?? "";
      if (!(server.modes as readonly string[]).includes(value)) {
        throw new Error(`unknown mode ${value}; one of ${server.modes.join(", ")}`);
      }
      mode = value as Mode;
    } else if (arg === "-v" || arg === "--verbose") verbose = true;
    else throw new Error(`unknown argument ${arg}`);
  }
  if (root === undefined) {
    throw new Error(`usage: ${server.name} -r ROOT [${server.flag} MODE] [-v]`);
  }
  const serverRoot = root;
  const config = await loadConfig({ root: serverRoot });
  const running = await runServer(serverRoot, config, verbose, {
    wrapHost: (host, store) => server.wrap(host, store, serverRoot, mode),
  });
  const { promise: stopped, resolve } = Promise.withResolvers<void>();
  Deno.addSignalListener("SIGINT", resolve);
  Deno.addSignalListener("SIGTERM", resolve);
  await stopped;
  await running.stop();
  Deno.exit(0);
}
