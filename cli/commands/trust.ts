/**
 * `secshrnet trust [--all | ID...]` and `secshrnet untrust ID...`: the
 * servers this client uses (cli/trust.ts keeps the list).
 *
 * @module
 */

import { type ServerInfo, serverInfo } from "../../core/client/catalog.ts";
import { NetworkUnavailableError, UsageError } from "../../core/errors.ts";
import { displayName } from "../../core/net/envelope.ts";
import { CLIENT_OPTIONS, parse } from "../args.ts";
import { configFrom, withClient } from "../context.ts";
import { EXIT } from "../exit.ts";
import { printJson } from "../format.ts";
import { readTrust, type TrustEntry, writeTrust } from "../trust.ts";
import type { Command } from "./command.ts";

const FULL_ID = /^[0-9a-f]{64}$/;
const ID_PREFIX = /^[0-9a-f]{8,64}$/;

/** The `trust` command. */
export const trust: Command = {
  name: "trust",
  summary: "trust servers: the only ones put, get, rm and ls use",
  help: `Usage: secshrnet trust --all | ID... [--json]
       secshrnet trust                 (list the trusted servers)

Pins the servers this client uses, like SSH's known_hosts: put, get, rm and
ls use trusted servers only, so nobody who merely reaches your Redis can join
as one of your servers. An ID is a server id: its first 16 hex digits (as
'secshrnet servers' shows them) while that server is online, or all 64 (from
ROOT/server-id on the server's machine, also while it is offline). A server
is trusted by --all or a short ID only if it answers, proving it holds the
key of that id.

The list is kept beside the config in use, with the extension replaced by
.trusted ($HOME/.secshrnet/secshrnet.trusted by default), so each -c CONFIG
has its own.

Options:
      --all             trust every server online now that answers; check the
                        ids it prints against each server's ROOT/server-id
      --json            print the trusted servers as JSON
      --timeout S       give up on a server silent for S seconds (default [client]
                        timeout, else 20; a request is tried 3 times)
  -c, --config CONFIG   config file (default $HOME/.secshrnet/secshrnet.conf)
  -h, --help            show this help

Exit codes: 0 done; 1 Redis unreachable or a server did not answer; 2 usage
(a malformed, unknown or ambiguous ID).

Examples:
  secshrnet servers                                 # see who is online
  secshrnet trust 72dc922c04114ebf 8f5c58157952d1e8
  secshrnet trust --all`,
  options: {
    ...CLIENT_OPTIONS,
    all: { type: "boolean" },
    json: { type: "boolean" },
    timeout: { type: "string" },
  },
  async run(args) {
    const parsed = parse(args, this.options);
    const config = await configFrom(parsed);
    const ids = parsed.positionals.map((id) => id.toLowerCase());
    const all = parsed.values.all === true;
    if (all && ids.length > 0) throw new UsageError("give either --all or server ids, not both");
    for (const id of ids) {
      if (!ID_PREFIX.test(id)) {
        throw new UsageError(
          `${JSON.stringify(id)} is not a server id: give 16 to 64 hex digits as ` +
            `'secshrnet servers' shows them`,
        );
      }
    }
    const entries = await readTrust(config.trustFile);
    if (!all && ids.length === 0) {
      if (parsed.values.json) printJson(entries);
      else if (entries.length === 0) {
        console.error(`no servers are trusted yet (${config.trustFile})`);
      } else entries.forEach((e) => console.log(`${shortId(e.id)}  ${e.note}`.trimEnd()));
      return EXIT.ok;
    }
    const needsNetwork = all || ids.some((id) => !FULL_ID.test(id));
    const found = needsNetwork
      ? await withClient(config, (client) => serverInfo(client))
      : { servers: [], failed: [], offline: [] };
    const chosen: TrustEntry[] = [];
    if (all) {
      for (const { server, error } of found.failed) {
        console.error(
          `secshrnet: warning: ${displayName(server)} did not answer (${error}); not trusted`,
        );
      }
      chosen.push(...found.servers.map(entryOf));
    }
    for (const id of ids) chosen.push(resolve(id, found.servers));
    const added = chosen.filter((c) => !entries.some((e) => e.id === c.id));
    await writeTrust(config.trustFile, [...entries, ...added]);
    if (parsed.values.json) printJson(added);
    else {
      for (const entry of chosen) {
        const already = !added.includes(entry);
        console.log(
          `${already ? "already trusted" : "trusted"} ${shortId(entry.id)}  ${entry.note}`
            .trimEnd(),
        );
      }
      console.error(`${entries.length + added.length} servers trusted in ${config.trustFile}`);
    }
    return EXIT.ok;
  },
};

/** The `untrust` command. */
export const untrust: Command = {
  name: "untrust",
  summary: "stop trusting servers",
  help: `Usage: secshrnet untrust ID...

Removes servers from the trust list (see 'secshrnet trust'): put, get, rm and
ls stop using them. Their shares stay on them; 'secshrnet ls' then counts
fewer holders. An ID is at least 8 hex digits of a trusted server's id.

Options:
  -c, --config CONFIG   config file (default $HOME/.secshrnet/secshrnet.conf)
  -h, --help            show this help

Example:
  secshrnet untrust 8f5c58157952d1e8`,
  options: { ...CLIENT_OPTIONS },
  async run(args) {
    const parsed = parse(args, this.options);
    if (parsed.positionals.length === 0) throw new UsageError("usage: secshrnet untrust ID...");
    const config = await configFrom(parsed);
    const entries = await readTrust(config.trustFile);
    const doomed = new Set<string>();
    for (const raw of parsed.positionals) {
      const id = raw.toLowerCase();
      const matches = ID_PREFIX.test(id) ? entries.filter((e) => e.id.startsWith(id)) : [];
      if (matches.length !== 1) {
        throw new UsageError(
          `${JSON.stringify(raw)} ${
            matches.length === 0 ? "matches no trusted server" : "matches several trusted servers"
          }; 'secshrnet trust' lists them`,
        );
      }
      doomed.add(matches[0].id);
    }
    await writeTrust(config.trustFile, entries.filter((e) => !doomed.has(e.id)));
    for (const id of doomed) console.log(`untrusted ${shortId(id)}`);
    return EXIT.ok;
  },
};

/** The id a server's messages are authenticated under: its address, never what it says. */
function idOf(info: ServerInfo): string {
  return info.address.slice("server:".length);
}

/** The trust entry of a server that answered `info`. */
function entryOf(info: ServerInfo): TrustEntry {
  // The host name is the server's own word: printable characters only, in one short word.
  const hostname = info.hostname.replace(/[^\x21-\x7e]+/g, "_").slice(0, 64) || "?";
  return { id: idOf(info), note: `${hostname} ${new Date().toISOString().slice(0, 10)}` };
}

/** The server `id` (64 hex digits, or a prefix of an online server's id) names. */
function resolve(id: string, online: ServerInfo[]): TrustEntry {
  const matches = online.filter((s) => idOf(s).startsWith(id));
  if (matches.length === 1) return entryOf(matches[0]);
  if (matches.length > 1) {
    throw new UsageError(`${id} matches several online servers; give more of its digits`);
  }
  if (FULL_ID.test(id)) return { id, note: `(offline) ${new Date().toISOString().slice(0, 10)}` };
  throw new NetworkUnavailableError(
    `no online server that answers has an id starting with ${id}; check 'secshrnet servers', ` +
      `or give all 64 digits from ROOT/server-id to trust one that is offline`,
  );
}

/** A server id as people see it everywhere: its first 16 hex digits (--json gives all 64). */
function shortId(id: string): string {
  return id.slice(0, 16);
}
