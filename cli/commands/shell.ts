/**
 * `secshrnet shell [-c CONFIG]`: the interactive prompt. Line editing, Tab
 * completion of commands and tags, persistent history (commands only; a
 * password is only ever typed at a hidden prompt), the number of online
 * servers in the prompt, and the one-shot commands with the same flags and
 * output, each run as a child process so Ctrl-C stops it and leaves the
 * shell usable. The original client's `save`, `load` and `serv` work too.
 *
 * @module
 */

import readline from "node:readline";
import process from "node:process";
import { listTags } from "../../core/client/catalog.ts";
import type { Client, Membership } from "../../core/client/session.ts";
import { CLIENT_OPTIONS, parse, positionals } from "../args.ts";
import { defaultRoot } from "../../core/config.ts";
import { type ClientConfig, configFrom, connect, WARNED_ENV } from "../context.ts";
import { readTrust } from "../trust.ts";
import { EXIT } from "../exit.ts";
import { selfCommand } from "../self.ts";
import { green, red, useColor } from "../style.ts";
import { splitWords } from "../shell/words.ts";
import type { Command } from "./command.ts";

const HISTORY_LIMIT = 1000;
const BUILTINS = ["help", "exit", "quit"];
const ALIASES = ["save", "load", "serv"];

const SHELL_HELP = `Commands:
  put TAG FILE [-k K] [-n N] [--force]   store a file        (alias: save FILE TAG [K])
  get TAG [FILE] [--force]               retrieve it         (alias: load TAG FILE)
  ls                                     list the tags
  servers                                list online servers (alias: serv)
  rm TAG                                 delete a tag
  trust [--all | ID...]                  trust servers (the only ones used)
  untrust ID...                          stop trusting servers
  help [COMMAND]                         this help, or a command's
  exit, quit, Ctrl-D                     leave
Ctrl-C stops the running command. Passwords are asked at a hidden prompt and
never stored in the history.`;

/** Rewrites the original client's command names into today's. */
export function translateAlias(words: string[]): string[] {
  const [name, ...rest] = words;
  if (name === "serv") return ["servers", ...rest];
  if (name === "load") return ["get", ...rest];
  if (name === "save") {
    const [file, tag, threshold, ...more] = rest;
    if (file === undefined || tag === undefined) return ["put", ...rest];
    return ["put", tag, file, ...(threshold === undefined ? [] : ["-k", threshold]), ...more];
  }
  return words;
}

/** Makes the `shell` command; `commands` are those it offers. */
export function shellCommand(commands: () => readonly Command[]): Command {
  return {
    name: "shell",
    summary: "interactive prompt with the same commands",
    help: `Usage: secshrnet shell [-c CONFIG]

An interactive prompt: the commands put, get, ls, servers and rm with the
same flags and output, Tab completion of commands and tags, history kept in
$HOME/.secshrnet/history (never passwords), and the number of online
servers in the prompt. Ctrl-C stops the running command; Ctrl-D or 'exit'
leaves.

Example:
  $ secshrnet shell
  secshrnet (3 online)> put /keys/wallet.dat wallet.dat
  secshrnet (3 online)> ls`,
    options: { ...CLIENT_OPTIONS },
    async run(args) {
      const parsed = parse(args, this.options);
      positionals(parsed, 0, 0, "secshrnet shell [-c CONFIG]");
      const config = await configFrom(parsed);
      const client = await connect(config);
      try {
        return await repl(client, commands(), config, parsed.values.config as string | undefined);
      } finally {
        await client.close();
      }
    },
  };
}

async function repl(
  client: Client,
  commands: readonly Command[],
  config: ClientConfig,
  configPath?: string,
) {
  const { trustFile } = config;
  const color = useColor(Deno.stdout);
  const historyPath = `${defaultRoot()}/history`;
  const history = await loadHistory(historyPath);
  const offered = commands.filter((c) => !["serve", "shell", "completions"].includes(c.name));
  const names = [...offered.map((c) => c.name), ...ALIASES, ...BUILTINS].sort();
  let tags: string[] = [];
  let membership: Membership = { trusted: [], untrusted: [], offline: [] };
  const prompt = () => {
    const { trusted, untrusted } = membership;
    const others = untrusted.length > 0 ? `, ${untrusted.length} untrusted` : "";
    const count = client.trusted.ids.size === 0
      ? `(none trusted${others})`
      : `(${trusted.length} online${others})`;
    return `secshrnet ${trusted.length > 0 ? green(count, color) : red(count, color)}> `;
  };

  let rl: readline.Interface | undefined;
  const update = async () => {
    try {
      // 'trust' and 'untrust' run as commands of their own: pick up what they changed.
      const ids = new Set((await readTrust(trustFile)).map((entry) => entry.id));
      client.useTrusted({ ids, source: trustFile });
      membership = await client.membership();
      tags = membership.trusted.length === 0
        ? []
        : (await listTags(client, { minLogN: config.kdf.minLogN })).tags.map((t) => t.tag);
    } catch {
      membership = { trusted: [], untrusted: [], offline: [] };
    }
    if (rl !== undefined) {
      rl.setPrompt(prompt());
      // deno-lint-ignore no-explicit-any
      (rl as any)._refreshLine?.();
    }
  };
  // One refresh at a time: a listing can take seconds (a server listing up to its bounds),
  // and overlapping ones would add up. The next is due 3 s after the last one ended.
  let running: Promise<void> | undefined;
  const refresh = () => running ??= update().finally(() => running = undefined);
  await refresh();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let leaving = false;
  const again = () => {
    timer = setTimeout(() => refresh().finally(() => leaving || again()), 3000);
  };
  again();
  const completer = (line: string): [string[], string] => {
    const words = line.split(/\s+/);
    const current = words[words.length - 1];
    const pool = words.length <= 1
      ? names
      : words.length === 2 && ["get", "rm", "load"].includes(words[0])
      ? tags.map(quoteIfNeeded)
      : [];
    const hits = pool.filter((candidate) => candidate.startsWith(current));
    return [hits.length > 0 ? hits.map((h) => words.length <= 1 ? `${h} ` : h) : [], current];
  };

  // SIGINT is the running child's to handle; at the prompt readline clears the line.
  const ignore = () => {};
  Deno.addSignalListener("SIGINT", ignore);
  try {
    console.log(`secshrnet shell — 'help' for commands, Ctrl-D to leave`);
    while (true) {
      const line = await readLine(prompt(), history, completer, (created) => rl = created);
      rl = undefined;
      if (line === undefined) {
        console.log();
        return EXIT.ok;
      }
      const trimmed = line.trim();
      if (trimmed === "") continue;
      remember(history, trimmed);
      await saveHistory(historyPath, history);
      let words: string[];
      try {
        words = translateAlias(splitWords(trimmed));
      } catch (error) {
        console.error(`secshrnet: ${(error as Error).message}`);
        continue;
      }
      const [name, ...rest] = words;
      if (name === "exit" || name === "quit") return EXIT.ok;
      if (name === "help") {
        const command = offered.find((c) => c.name === rest[0]);
        console.log(command?.help ?? SHELL_HELP);
        continue;
      }
      if (!offered.some((c) => c.name === name)) {
        console.error(`secshrnet: unknown command '${name}'; type 'help'`);
        continue;
      }
      await runChild([name, ...rest, ...(configPath ? ["-c", configPath] : [])]);
      await refresh();
    }
  } finally {
    leaving = true;
    clearTimeout(timer);
    Deno.removeSignalListener("SIGINT", ignore);
  }
}

/** Reads one line with editing; `undefined` on Ctrl-D. Ctrl-C clears the line. */
function readLine(
  prompt: string,
  history: string[],
  completer: (line: string) => [string[], string],
  created: (rl: readline.Interface) => void,
): Promise<string | undefined> {
  return new Promise((resolve) => {
    const rl = readline.createInterface({
      input: process.stdin,
      output: process.stdout,
      completer,
      terminal: true,
      history: [...history].reverse(),
      historySize: HISTORY_LIMIT,
      removeHistoryDuplicates: true,
      prompt,
    });
    created(rl);
    let answered = false;
    rl.on("line", (line) => {
      answered = true;
      rl.close();
      resolve(line);
    });
    rl.on("SIGINT", () => {
      rl.write(null, { ctrl: true, name: "u" });
      process.stdout.write("^C\n");
      rl.prompt();
    });
    rl.on("close", () => {
      if (!answered) resolve(undefined);
    });
    rl.prompt();
  });
}

/** Runs `secshrnet ARGS` in a child on this terminal; returns its exit code. */
async function runChild(args: string[]): Promise<number> {
  const self = selfCommand();
  const child = new Deno.Command(self.command, {
    args: [...self.args, ...args],
    env: { [WARNED_ENV]: "1" }, // the shell showed the connection warnings already
    stdin: "inherit",
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();
  const { code } = await child.status;
  return code;
}

function quoteIfNeeded(tag: string): string {
  return /^[A-Za-z0-9_./@%+=:,-]+$/.test(tag) ? tag : `'${tag.replaceAll("'", `'\\''`)}'`;
}

function remember(history: string[], line: string): void {
  const previous = history.indexOf(line);
  if (previous >= 0) history.splice(previous, 1);
  history.push(line);
  if (history.length > HISTORY_LIMIT) history.splice(0, history.length - HISTORY_LIMIT);
}

async function loadHistory(path: string): Promise<string[]> {
  try {
    return (await Deno.readTextFile(path)).split("\n").filter((line) => line !== "");
  } catch {
    return [];
  }
}

async function saveHistory(path: string, history: string[]): Promise<void> {
  try {
    await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true, mode: 0o700 });
    await Deno.writeTextFile(path, history.join("\n") + "\n", { mode: 0o600 });
  } catch {
    // History is a convenience; a read-only home must not stop the shell.
  }
}
