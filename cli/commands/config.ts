/**
 * `secshrnet config` (the settings in effect, and where they come from) and
 * `secshrnet config init` (write a commented config file, mode 0600).
 *
 * @module
 */

import {
  ConfigError,
  configPath,
  loadConfig,
  parseConfig,
  REDIS_URL_ENV,
} from "../../core/config.ts";
import { configTemplate, tomlString } from "../../core/config_template.ts";
import { ExistsError, UsageError } from "../../core/errors.ts";
import { CLIENT_OPTIONS, parse, type Parsed } from "../args.ts";
import { effectiveConfig } from "../config_listing.ts";
import { EXIT } from "../exit.ts";
import { printJson } from "../format.ts";
import { closest } from "../suggest.ts";
import type { Command } from "./command.ts";

const USAGE = "secshrnet config [--json] | secshrnet config init [--redis URL] " +
  "[--network NAME] [--force]";
/** The flags of each form, beyond -c, -r and -h. */
const SHOW_FLAGS = ["json"];
const INIT_FLAGS = ["redis", "network", "force"];

/** The `config` command. */
export const configCommand: Command = {
  name: "config",
  summary: "show the settings in effect, or write a config file (config init)",
  help: `Usage: secshrnet config [--json]
       secshrnet config init [--redis URL] [--network NAME] [--force]

'secshrnet config' prints every setting in effect, defaults filled in, as TOML:
the config file it was read from (or that there is none, so the defaults
apply), which settings the file does not set, whether ${REDIS_URL_ENV}
replaces the Redis URL, the trust file and the root. Passwords are shown as
***. A bad config file is the same one-line error every command gives.

'secshrnet config init' writes a config file with every setting explained and
commented out at its default, except the Redis URL and network name given,
which are checked as the config is. The file gets mode 0600 (it may hold the
Redis password) and its directory, if new, mode 0700. An existing file is
kept unless --force is given.

Options:
      --json            print the settings as one JSON object
      --redis URL       (init) the Redis URL, redis://[user:password@]host[:port]
                        or rediss://... for TLS; percent-encode the password
      --network NAME    (init) the network name: 1 to 64 of A-Z a-z 0-9 . _ -
      --force           (init) replace an existing file
  -c, --config CONFIG   config file (default $HOME/.secshrnet/secshrnet.conf, or
                        ROOT/secshrnet.conf with -r)
  -r, --root ROOT       a server's root (as 'secshrnet serve -r ROOT'): its config
                        file and log (default $HOME/.secshrnet)
  -h, --help            show this help

Exit codes: 0 done; 2 usage or a bad config file; 6 the file exists (init
without --force).

Examples:
  secshrnet config                                  # what every command uses
  secshrnet config --json | jq -r .settings.redis.url
  secshrnet config init --redis 'redis://:PASSWORD@redis.example.net:6379'
  secshrnet config init -c /etc/secshrnet/secshrnet.conf --network lab --force`,
  options: {
    ...CLIENT_OPTIONS,
    root: { type: "string", short: "r" },
    json: { type: "boolean" },
    redis: { type: "string" },
    network: { type: "string" },
    force: { type: "boolean" },
  },
  async run(args) {
    const parsed = parse(args, this.options);
    const [sub, ...extra] = parsed.positionals;
    if (sub === undefined) {
      onlyFlags(parsed, SHOW_FLAGS, "secshrnet config");
      return await show(parsed);
    }
    if (sub === "init" && extra.length === 0) {
      onlyFlags(parsed, INIT_FLAGS, "secshrnet config init");
      return await init(parsed);
    }
    if (sub === "init") throw new UsageError(`usage: ${USAGE}`);
    const guess = closest(sub, ["init"]);
    throw new UsageError(
      `unknown subcommand '${sub}'; ` +
        (guess === undefined ? `usage: ${USAGE}` : `did you mean '${guess}'?`),
    );
  },
};

/** A string flag's value, or undefined when absent. */
function stringFlag(parsed: Parsed, name: string): string | undefined {
  const value = parsed.values[name];
  return typeof value === "string" ? value : undefined;
}

/** Refuses the flags of the other form (`allowed` are this form's own). */
function onlyFlags(parsed: Parsed, allowed: readonly string[], form: string): void {
  for (const name of [...SHOW_FLAGS, ...INIT_FLAGS]) {
    if (parsed.values[name] !== undefined && !allowed.includes(name)) {
      const other = SHOW_FLAGS.includes(name) ? "secshrnet config" : "secshrnet config init";
      throw new UsageError(`--${name} is for '${other}', not '${form}'`);
    }
  }
}

/** `secshrnet config`: prints the settings in effect. */
async function show(parsed: Parsed): Promise<number> {
  const path = stringFlag(parsed, "config");
  const root = stringFlag(parsed, "root");
  const env = Deno.env.toObject();
  const config = await loadConfig({ path, root, env });
  const effective = await effectiveConfig(config, {
    path: configPath({ path, root, env }),
    root,
    env,
  });
  if (parsed.values.json) printJson(effective.json());
  else console.log(effective.toml());
  return EXIT.ok;
}

/** `secshrnet config init`: writes the commented config file. */
async function init(parsed: Parsed): Promise<number> {
  const flagPath = stringFlag(parsed, "config");
  const root = stringFlag(parsed, "root");
  const path = configPath({ path: flagPath, root });
  const redisUrl = stringFlag(parsed, "redis");
  const network = stringFlag(parsed, "network");
  if (redisUrl !== undefined) {
    checkFlag(`[redis]\nurl = ${tomlString(redisUrl)}\n`, "--redis", "[redis] url");
  }
  if (network !== undefined) {
    checkFlag(`[network]\nname = ${tomlString(network)}\n`, "--network", "[network] name");
  }
  const text = configTemplate({ redisUrl, network });
  parseConfig(text, path); // the whole file, as every command will read it
  await writeNewFile(path, text, parsed.values.force === true);
  const serveFlags = (root === undefined ? "" : ` -r ${shellQuote(root)}`) +
    (flagPath === undefined ? "" : ` -c ${shellQuote(path)}`);
  const configFlags = flagPath === undefined
    ? (root === undefined ? "" : ` -r ${shellQuote(root)}`)
    : ` -c ${shellQuote(path)}`;
  console.error(
    `wrote ${path} (mode 0600); start a server with 'secshrnet serve${serveFlags}' or check ` +
      `it with 'secshrnet config${configFlags}'`,
  );
  if (Deno.env.get(REDIS_URL_ENV)) {
    console.error(
      `secshrnet: warning: ${REDIS_URL_ENV} is set: while it is, it replaces the Redis URL ` +
        `of this file`,
    );
  }
  return EXIT.ok;
}

/**
 * Checks one flag's value as the config loader checks `setting` in a file (`text` holds just
 * that setting); its error is restated as the flag's.
 */
function checkFlag(text: string, flag: string, setting: string): void {
  const label = "(command line)";
  try {
    parseConfig(text, label);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const message = error.message.startsWith(`${label}: ${setting} `)
      ? `${flag} ${error.message.slice(`${label}: ${setting} `.length)}`
      : `${flag}: ${error.message.replace(`${label}: `, "")}`;
    throw new UsageError(message);
  }
}

/**
 * Writes `text` to `path` with mode 0600, never briefly readable by others: to a new file
 * beside it (mode 0600 from creation), then linked into place, or renamed over the old one
 * with `force`. A new parent directory gets mode 0700. Throws ExistsError when `path`
 * exists and `force` is not given.
 */
async function writeNewFile(path: string, text: string, force: boolean): Promise<void> {
  const cut = Math.max(path.lastIndexOf("/"), path.lastIndexOf("\\"));
  const dir = cut < 0 ? "." : cut === 0 ? path.slice(0, 1) : path.slice(0, cut);
  const exists = () => new ExistsError(`${path} exists; use --force to replace it`);
  const failed = (error: unknown) =>
    new UsageError(
      `cannot write ${path}: ${(error as Error).message}; choose another file with -c`,
    );
  try {
    await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw new UsageError(
      `cannot create the directory ${dir}: ${
        (error as Error).message
      }; choose another file with -c`,
    );
  }
  if (!force && await Deno.lstat(path).then(() => true, () => false)) throw exists();
  const temp = `${path.slice(0, cut + 1)}.${path.slice(cut + 1)}.${crypto.randomUUID()}.tmp`;
  try {
    const file = await Deno.open(temp, { write: true, createNew: true, mode: 0o600 });
    try {
      const bytes = new TextEncoder().encode(text);
      for (let done = 0; done < bytes.length;) done += await file.write(bytes.subarray(done));
      await file.sync();
    } finally {
      file.close();
    }
    if (Deno.build.os !== "windows") await Deno.chmod(temp, 0o600); // 0600 whatever the umask
    if (force) await Deno.rename(temp, path);
    else await linkNew(temp, path, exists);
  } catch (error) {
    await Deno.remove(temp).catch(() => {});
    throw error instanceof ExistsError ? error : failed(error);
  }
  await Deno.remove(temp).catch(() => {});
}

/**
 * Puts `temp` at `path` only if nothing is there: a hard link fails if something is, even
 * one made a moment ago. Where hard links are not supported, checks and renames.
 */
async function linkNew(temp: string, path: string, exists: () => ExistsError): Promise<void> {
  try {
    await Deno.link(temp, path);
  } catch (error) {
    if (error instanceof Deno.errors.AlreadyExists) throw exists();
    if (await Deno.lstat(path).then(() => true, () => false)) throw exists();
    await Deno.rename(temp, path);
  }
}

/** `text` quoted for a POSIX shell when it needs to be. */
function shellQuote(text: string): string {
  return /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replaceAll("'", `'\\''`)}'`;
}
