/**
 * `secshrnet serve [-c CONFIG] [-r ROOT] [-v]`: run a storage server until
 * SIGINT or SIGTERM (SIGHUP reopens its log file). Exit codes tell systemd
 * what is fatal: 2 for a bad command line, config, root or log path, 1 for a
 * root in use or a Redis that refuses its credentials or certificate.
 *
 * @module
 */

import { parse, positionals } from "../args.ts";
import { defaultRoot, loadConfig } from "../../core/config.ts";
import { EXIT } from "../exit.ts";
import { UsageError } from "../../core/errors.ts";
import { insecureTlsWarning } from "../context.ts";
import { SERVER_MMAP_THRESHOLD_BYTES, tuneAllocator } from "../../core/memory.ts";
import type { Command } from "./command.ts";

/** The `serve` command. */
export const serve: Command = {
  name: "serve",
  summary: "run a storage server",
  help: `Usage: secshrnet serve [-c CONFIG] [-r ROOT] [-v]

Runs a storage server: it keeps shares under ROOT and serves clients through
Redis pub/sub. It never sees a password or plaintext. Several servers may run
on one machine with different roots; a root in use by another server is
refused (exit 1). In the background it re-reads its shares against their
checksums ([server] scrub_rate, scrub_interval) and marks damaged ones, which
'secshrnet check' reports. Stops on Ctrl-C or SIGTERM.

It logs to stderr and to ROOT/secshrnetd.log, rotated at 10 MiB keeping 3 old
files ([server] log, log_max_bytes, log_keep; log = "-" logs to stderr only).
SIGHUP reopens the log file, for logrotate. A Redis it cannot reach is waited
for, and reconnected to when it restarts.

Options:
  -r, --root ROOT      where shares, the server id and the log live (default $HOME/.secshrnet)
  -c, --config CONFIG  config file (default ROOT/secshrnet.conf; none means redis://127.0.0.1:6379)
  -v, --verbose        log debug lines too
  -h, --help           show this help

Environment: SECSHRNET_REDIS_URL overrides the Redis URL of the config.

Exit codes: 0 stopped (SIGINT, SIGTERM); 1 the root is in use by another
server, or Redis refused its credentials or certificate; 2 a bad command
line, config file, root or log file (fix it, restarting will not help).

Example:
  secshrnet serve -r /srv/secshrnet`,
  options: {
    root: { type: "string", short: "r" },
    config: { type: "string", short: "c" },
    verbose: { type: "boolean", short: "v" },
    help: { type: "boolean", short: "h" },
  },
  async run(args) {
    const parsed = parse(args, this.options);
    positionals(parsed, 0, 0, "secshrnet serve [-c CONFIG] [-r ROOT]");
    // The server's modules are loaded here, not at start: every client command starts faster.
    const { runServer, StoppedWhileStartingError } = await import("../../server/main.ts");
    const { RootBusyError } = await import("../../server/lock.ts");
    const { checkRoot } = await import("../../server/path_errors.ts");
    tuneAllocator(SERVER_MMAP_THRESHOLD_BYTES);
    const root = typeof parsed.values.root === "string" ? parsed.values.root : defaultRoot();
    if (root === "") throw new UsageError("-r needs a directory; run 'secshrnet serve --help'");
    checkRoot(root); // before the config is looked for in it
    const path = parsed.values.config;
    const config = await loadConfig(typeof path === "string" ? { path, root } : { root });
    const insecure = insecureTlsWarning(config);
    if (insecure !== undefined) console.error(`secshrnet: warning: ${insecure}`);
    // Listening from the start: a SIGTERM while the server joins (or waits for Redis) stops
    // it as cleanly as one later, instead of killing it with the lock and log still open.
    const { promise: stopped, resolve } = Promise.withResolvers<void>();
    const starting = new AbortController();
    const stop = () => {
      starting.abort();
      resolve();
    };
    Deno.addSignalListener("SIGINT", stop);
    Deno.addSignalListener("SIGTERM", stop);
    let server;
    try {
      server = await runServer(root, config, parsed.values.verbose === true, {}, starting.signal);
      await stopped;
    } catch (error) {
      if (error instanceof StoppedWhileStartingError) return EXIT.ok;
      if (!(error instanceof RootBusyError)) throw error;
      console.error(`secshrnet: ${error.message}`);
      return EXIT.failure;
    } finally {
      Deno.removeSignalListener("SIGINT", stop);
      Deno.removeSignalListener("SIGTERM", stop);
    }
    await server.stop();
    return EXIT.ok;
  },
};
