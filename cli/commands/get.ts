/**
 * `secshrnet get TAG [FILE|-] [--force] [--json]`.
 *
 * @module
 */

import { displayName } from "../../core/net/envelope.ts";
import { get as getObject } from "../../core/client/get.ts";
import { ExistsError, UsageError } from "../../core/errors.ts";
import {
  CLIENT_OPTIONS,
  parse,
  PASSWORD_OPTIONS,
  positionals,
  WORKERS_HELP,
  WORKERS_OPTIONS,
  workersFlag,
} from "../args.ts";
import { configFrom, headerPolicy, withClient } from "../context.ts";
import { password } from "../password_flags.ts";
import { EXIT, interruptible } from "../exit.ts";
import { formatSize, printJson } from "../format.ts";
import { counting, writeStream } from "../io.ts";
import { Progress } from "../progress.ts";
import type { Command } from "./command.ts";

/** The `get` command. */
export const get: Command = {
  name: "get",
  summary: "retrieve the file stored under a tag",
  help: `Usage: secshrnet get TAG [FILE|-] [--force] [--json]

Rebuilds the newest object of TAG from any k trusted servers and writes it
to FILE (default: the last part of TAG, in the current directory; when FILE
is a directory, the last part of TAG inside it), or to standard output for -.
The file appears only once complete and verified; an existing file is
replaced only with --force. Only an object that at least k trusted servers
vouch for is used (see 'secshrnet trust').

With -, standard output must not be a terminal (give FILE, or redirect it)
unless --force. When the reader of - stops early (e.g. '| head -c 10'), the
download is cancelled and get exits 141 without a message, as a Unix tool
killed by SIGPIPE does.

Options:
      --force           overwrite FILE if it exists; with -, write to a terminal
  -k 1                  the object was stored with -k 1 (accept k = 1 headers)
      --password-file F read the password from file F
      --password-fd N   read the password from file descriptor N
      --password-command CMD
                        run CMD and read the password from its output
      --max-log-n N     highest scrypt work factor accepted (default 22)
      --timeout S       give up on a server silent for S seconds (default [client]
                        timeout, else 20)
${WORKERS_HELP}
      --json            print the result as JSON (not with -)
  -q, --quiet           no progress on stderr
  -c, --config CONFIG   config file (default $HOME/.secshrnet/secshrnet.conf)
  -h, --help            show this help

Exit codes: 0 retrieved; 4 tag not found or fewer than k intact shares;
5 wrong password; 6 FILE exists; 1 other failure; 2 usage;
141 the reader of - closed the pipe early.

Examples:
  secshrnet get /keys/wallet.dat ~/wallet.dat
  secshrnet get /backup/notes.tar - | tar x`,
  options: {
    ...CLIENT_OPTIONS,
    ...PASSWORD_OPTIONS,
    ...WORKERS_OPTIONS,
    force: { type: "boolean" },
    json: { type: "boolean" },
    timeout: { type: "string" },
    quiet: { type: "boolean", short: "q" },
    k: { type: "string", short: "k" },
  },
  async run(args) {
    const parsed = parse(args, this.options);
    const [tag, given] = positionals(parsed, 1, 2, "secshrnet get TAG [FILE|-]");
    const force = parsed.values.force === true;
    const workersGiven = workersFlag(parsed);
    if (given === "-" && parsed.values.json) {
      throw new UsageError("--json cannot be used with -: the file goes to standard output");
    }
    refuseTerminal(given, force, Deno.stdout.isTerminal());
    const file = await outputPath(tag, given);
    if (file !== "-" && !force && await exists(file)) {
      throw new ExistsError(`${file} exists; use --force to overwrite it`);
    }
    const config = await configFrom(parsed);
    const policy = headerPolicy(parsed, config);
    return await withClient(config, async (client) => {
      const progress = new Progress(`get ${tag}`, parsed.values.quiet === true);
      const retrieval = await getObject(client, {
        tag,
        password: () => password(parsed, tag, false),
        ...policy,
        workers: workersGiven ?? config.client.workers,
        onKdfProgress: progress.kdf,
      });
      const size = retrieval.header.size;
      const plaintext = counting(retrieval.plaintext, (bytes) => progress.bytes(bytes, size));
      const closed = await interruptible(async (signal) => {
        if (file !== "-") {
          await writeAtomically(plaintext, file, force, signal);
          return false;
        }
        try {
          await writeStream(plaintext, Deno.stdout, signal, true);
          return false;
        } catch (error) {
          // The reader stopped: writeStream's loop has cancelled the download.
          if (error instanceof Deno.errors.BrokenPipe) return true;
          throw error;
        }
      }).finally(() => progress.done());
      if (closed) return EXIT_BROKEN_PIPE;
      const rejected = retrieval.rejected();
      for (const r of rejected) {
        console.error(`secshrnet: warning: did not use ${displayName(r.server)}: ${r.reason}`);
      }
      const summary = {
        tag,
        file,
        size: retrieval.header.size,
        k: retrieval.header.k,
        n: retrieval.header.n,
        servers: retrieval.sources.map((s) => s.server),
        rejected,
      };
      if (parsed.values.json && file !== "-") printJson(summary);
      else if (file !== "-") {
        console.log(`retrieved ${JSON.stringify(tag)} (${formatSize(summary.size)}) to ${file}`);
      }
      return EXIT.ok;
    });
  },
};

/** Exit code when the reader of `-` closed the pipe: 128 + SIGPIPE, as a shell reports a tool killed by it. */
export const EXIT_BROKEN_PIPE = 141;

/**
 * Refuses to write the file to standard output when that is a terminal
 * (binary on the screen), unless --force, as age does.
 */
export function refuseTerminal(file: string | undefined, force: boolean, terminal: boolean): void {
  if (file === "-" && terminal && !force) {
    throw new UsageError(
      "refusing to write binary to a terminal; give a FILE, redirect, or use --force",
    );
  }
}

/**
 * Where get writes: `-`; FILE; the last part of TAG inside FILE when FILE is
 * a directory (or a link to one); or the last part of TAG when FILE is not
 * given. Decided before anything is downloaded.
 */
export async function outputPath(tag: string, file: string | undefined): Promise<string> {
  if (file === undefined) return defaultFile(tag);
  if (file === "-") return file;
  let directory = false;
  try {
    directory = (await Deno.stat(file)).isDirectory;
  } catch {
    // Not there (or a dangling link): the file itself; writing reports problems.
  }
  if (!directory) return file;
  return `${file.replace(/\/+$/, "") || ""}/${defaultFile(tag)}`;
}

/** The last part of `tag`, as a file name in the current directory. */
function defaultFile(tag: string): string {
  const name = tag.split("/").pop() ?? "";
  if (name === "" || name === "." || name === "..") {
    throw new UsageError(`cannot name a file after tag ${JSON.stringify(tag)}; give FILE`);
  }
  return name;
}

/** Whether anything (a file, a directory, a link) is at `path`. */
export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/**
 * Removes the temporary files that earlier gets of `dir/base` left when they
 * were killed: those named after a process that no longer runs (Linux only,
 * where /proc tells; elsewhere nothing is removed).
 */
async function removeStalePartials(dir: string, base: string): Promise<void> {
  if (Deno.build.os !== "linux") return;
  const prefix = `.${base}.`;
  try {
    for await (const entry of Deno.readDir(dir)) {
      if (!entry.isFile || !entry.name.startsWith(prefix)) continue;
      const match = /^(\d+)-[0-9a-f]{8}\.partial$/.exec(entry.name.slice(prefix.length));
      if (match === null || Number(match[1]) === Deno.pid) continue;
      const running = await Deno.stat(`/proc/${match[1]}`).then(() => true, () => false);
      if (!running) await Deno.remove(`${dir}/${entry.name}`).catch(() => {});
    }
  } catch {
    // An unreadable directory: the open below reports it.
  }
}

/**
 * Streams `plaintext` into a private temporary file beside `path`, fsyncs it
 * and only then puts it in place: by a hard link that fails if `path`
 * appeared meanwhile, or with --force by a rename. A failure removes the
 * temporary file, so no partial output is ever left.
 */
export async function writeAtomically(
  plaintext: ReadableStream<Uint8Array>,
  path: string,
  force: boolean,
  signal: AbortSignal,
): Promise<void> {
  const slash = path.lastIndexOf("/");
  const dir = slash < 0 ? "." : path.slice(0, slash) || "/";
  const base = path.slice(slash + 1);
  await removeStalePartials(dir, base);
  const temp = `${dir}/.${base}.${Deno.pid}-${crypto.randomUUID().slice(0, 8)}.partial`;
  let file: Deno.FsFile;
  try {
    file = await Deno.open(temp, { write: true, createNew: true, mode: 0o600 });
  } catch (error) {
    throw new UsageError(
      `cannot write to ${dir}: ${(error as Error).message.replace(/[:,] .*$/, "")}`,
    );
  }
  try {
    await writeStream(plaintext, file, signal, true);
    await file.sync();
    file.close();
    if (force) await Deno.rename(temp, path);
    else {
      try {
        await Deno.link(temp, path);
      } catch (error) {
        if (error instanceof Deno.errors.AlreadyExists) {
          throw new ExistsError(`${path} appeared while retrieving; use --force to overwrite it`);
        }
        throw error;
      }
      await Deno.remove(temp);
    }
  } catch (error) {
    try {
      file.close();
    } catch {
      // Already closed.
    }
    await Deno.remove(temp).catch(() => {});
    throw error;
  }
}
