/**
 * `secshrnet put TAG FILE|- [-k K] [-n N] [--force] [--json]`.
 *
 * @module
 */

import { checkKdfMemory } from "../../core/keys.ts";
import { SCRYPT_P, SCRYPT_R } from "../../core/header.ts";
import { displayName } from "../../core/net/envelope.ts";
import { put as putObject } from "../../core/client/put.ts";
import { UsageError } from "../../core/errors.ts";
import {
  CLIENT_OPTIONS,
  intFlag,
  parse,
  PASSWORD_OPTIONS,
  positionals,
  WORKERS_HELP,
  WORKERS_OPTIONS,
  workersFlag,
} from "../args.ts";
import { configFrom, maxLogN, withClient } from "../context.ts";
import { password } from "../password_flags.ts";
import { EXIT, interruptible } from "../exit.ts";
import { formatSize, printJson } from "../format.ts";
import { counting, countingSource } from "../io.ts";
import { Progress } from "../progress.ts";
import type { Command } from "./command.ts";

/** The `put` command. */
export const put: Command = {
  name: "put",
  summary: "store a file under a tag",
  help: `Usage: secshrnet put TAG FILE|- [-k K] [-n N] [--force] [--json]

Encrypts FILE (or standard input for -) with your password and stores one
share on each of n trusted servers online; any k of them rebuild it. With
the default k and n it needs 3 trusted servers online, so that one share is
a spare; give -k to store on fewer (a warning says when no share is spare).

Options:
  -n N                  servers to use (default: every trusted server online)
  -k K                  shares needed to rebuild (default: floor(n/2) + 1)
      --force           replace an existing object of TAG (needs its password)
      --log-n N         scrypt work factor, log2 N (default [kdf] log_n, else 20)
      --password-file F read the password from file F
      --password-fd N   read the password from file descriptor N
      --password-command CMD
                        run CMD and read the password from its output
      --max-log-n N     highest work factor accepted for the object replaced (default 22)
      --timeout S       give up on a server silent for S seconds (default [client]
                        timeout, else 20)
${WORKERS_HELP}
      --json            print the result as JSON
  -q, --quiet           no progress on stderr
  -c, --config CONFIG   config file (default $HOME/.secshrnet/secshrnet.conf)
  -h, --help            show this help

Without a password flag, SECSHRNET_PASSWORD or SECSHRNET_PASSWORD_COMMAND
(a command, as --password-command) is used, else a hidden prompt on the
terminal (asked twice).

Exit codes: 0 stored on every server; 3 stored on at least k but not all
(recoverable; the missing servers are named); 5 wrong password for --force;
6 the tag exists and --force was not given; 1 not stored (also: no trusted
server online, fewer than 3 without -k, or another put of the tag in
progress); 2 usage.

Examples:
  secshrnet put /keys/wallet.dat ~/wallet.dat
  tar c ~/notes | secshrnet put /backup/notes.tar - -k 2`,
  options: {
    ...CLIENT_OPTIONS,
    ...PASSWORD_OPTIONS,
    ...WORKERS_OPTIONS,
    k: { type: "string", short: "k" },
    n: { type: "string", short: "n" },
    force: { type: "boolean" },
    json: { type: "boolean" },
    timeout: { type: "string" },
    quiet: { type: "boolean", short: "q" },
    "log-n": { type: "string" },
  },
  async run(args) {
    const parsed = parse(args, this.options);
    const [tag, file] = positionals(parsed, 2, 2, "secshrnet put TAG FILE|-");
    const k = intFlag(parsed.values.k, "k", 1, 255);
    const n = intFlag(parsed.values.n, "n", 1, 255);
    if (k !== undefined && n !== undefined && k > n) {
      throw new UsageError(`-k ${k} is more than -n ${n}: k shares of n are needed to rebuild`);
    }
    const workersGiven = workersFlag(parsed);
    const config = await configFrom(parsed);
    const workers = workersGiven ?? config.client.workers;
    const logN = intFlag(parsed.values["log-n"], "log-n", 10, 30) ?? config.kdf.logN;
    if (logN < config.kdf.minLogN) {
      throw new UsageError(
        `--log-n ${logN} is below the floor ${config.kdf.minLogN} ([kdf] min_log_n), so this ` +
          `client would refuse to open what it stores; lower min_log_n in the config first`,
      );
    }
    // Before any server is contacted or a password asked for.
    checkKdfMemory({ logN, r: SCRYPT_R, p: SCRYPT_P });
    // A regular file fills each segment in place; standard input or a pipe given as FILE
    // (which may wait for its writer) streams, so that Ctrl-C fails it at once.
    const opened = file === "-" ? undefined : await openInput(file);
    const size = opened?.size;
    const progress = new Progress(`put ${tag}`, parsed.values.quiet === true);
    const counted = (total: number) => progress.bytes(total, size);
    const inputFor = (signal: AbortSignal) =>
      opened?.regular
        ? countingSource(opened.file, counted, signal)
        : counting(opened?.file.readable ?? Deno.stdin.readable, counted)
          .pipeThrough(new TransformStream(), { signal });
    let result;
    try {
      // Ctrl-C fails the input: the put then aborts every upload it began.
      result = await interruptible((signal) =>
        withClient(
          config,
          (client) =>
            putObject(client, inputFor(signal), {
              tag,
              password: () => password(parsed, tag, true),
              k,
              n,
              force: parsed.values.force === true,
              logN,
              workers,
              maxLogN: maxLogN(parsed),
              minLogN: config.kdf.minLogN,
              allowSingleShare: k === 1,
              onKdfProgress: progress.kdf,
              onStored: progress.stored,
            }),
        )
      );
    } finally {
      if (opened?.regular) opened.file.close(); // a stream closes its file itself
    }
    progress.done();
    const stored = result.servers.filter((s) => s.stored);
    const trustedOnline = result.n + result.skipped.length;
    if (parsed.values.json) printJson(result);
    else {
      console.log(
        `stored ${JSON.stringify(tag)} (${
          formatSize(result.size)
        }) on ${stored.length} of ${trustedOnline} servers; any ${result.k} rebuild it`,
      );
    }
    if (stored.length === result.k) {
      console.error(
        `secshrnet: warning: no spare share: all ${result.k} shares stored are needed, so ` +
          `losing any one of these servers loses the file; for a spare, put it again with --force ` +
          `once more servers are online`,
      );
    }
    if (result.status === "reduced") {
      const missing = [
        ...result.servers.filter((s) => !s.stored).map((s) => [s.server, s.error ?? "no answer"]),
        ...result.skipped.map((s) => [s.server, s.error]),
      ].map(([server, error]) => `${displayName(server)} (${error})`).join(", ");
      console.error(`secshrnet: warning: reduced redundancy, not stored on ${missing}`);
      return EXIT.reduced;
    }
    return EXIT.ok;
  },
};

async function openInput(
  path: string,
): Promise<{ file: Deno.FsFile; size: number; regular: boolean }> {
  try {
    const info = await Deno.stat(path);
    if (info.isDirectory) {
      throw new UsageError(`${path} is a directory; store a file or use - for stdin`);
    }
    return { file: await Deno.open(path, { read: true }), size: info.size, regular: info.isFile };
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(
      `cannot read ${path}: ${(error as Error).message.replace(/[:,] .*$/, "")}`,
    );
  }
}
