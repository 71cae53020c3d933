/**
 * `secshrnet ls [--json]` and `secshrnet servers [--json]`.
 *
 * @module
 */

import { displayName } from "../../core/net/envelope.ts";
import { listTags, type ServerInfo, serverInfo } from "../../core/client/catalog.ts";
import { CLIENT_OPTIONS, parse, positionals } from "../args.ts";
import { configFrom, headerPolicy, withClient } from "../context.ts";
import { EXIT } from "../exit.ts";
import { formatSize, formatTime, printJson, table } from "../format.ts";
import type { Command } from "./command.ts";
import { redactUrl, type RedisConfig } from "../../core/config.ts";

/** The `ls` command. */
export const ls: Command = {
  name: "ls",
  summary: "list the tags stored on the network",
  help: `Usage: secshrnet ls [PATTERN...] [--json]

Lists every tag on the trusted servers online with its size, creation time,
k/n, the trusted servers holding its newest object and whether at least k of
them vouch for it (so it can be retrieved now). Needs no password. With
PATTERNs, only the tags matching one of them: * matches any characters
(slashes too: a tag is a flat name), ? one character. Quote them for the shell.

Options:
  -k 1                  count objects stored with -k 1 as recoverable
      --timeout S       give up on a server silent for S seconds (default [client]
                        timeout, else 20)
      --json            print a JSON array
  -c, --config CONFIG   config file (default $HOME/.secshrnet/secshrnet.conf)
  -h, --help            show this help

Examples:
  secshrnet ls
  secshrnet ls '/keys/*'
  secshrnet ls --json | jq -r '.[] | select(.recoverable | not) | .tag'   # tags at risk`,
  options: {
    ...CLIENT_OPTIONS,
    json: { type: "boolean" },
    k: { type: "string", short: "k" },
    timeout: { type: "string" },
  },
  async run(args) {
    const parsed = parse(args, this.options);
    const patterns = parsed.positionals.map(globToRegExp);
    const config = await configFrom(parsed);
    const policy = headerPolicy(parsed, config);
    const listing = await withClient(config, (client) => listTags(client, policy));
    if (patterns.length > 0) {
      listing.tags = listing.tags.filter((t) => patterns.some((pattern) => pattern.test(t.tag)));
    }
    for (const { server, error } of listing.failed) {
      console.error(`secshrnet: warning: ${displayName(server)} did not answer: ${error}`);
    }
    if (parsed.values.json) printJson(listing.tags);
    else if (listing.tags.length === 0) {
      console.error(patterns.length > 0 ? "no tag matches" : "no tags stored");
    } else {
      console.log(table(
        ["TAG", "SIZE", "CREATED (UTC)", "K/N", "SERVERS", "RECOVERABLE"],
        listing.tags.map((t) => [
          t.tag,
          formatSize(t.size),
          formatTime(t.created),
          `${t.k}/${t.n}`,
          String(t.servers.length),
          t.recoverable ? "yes" : "no",
        ]),
      ));
    }
    return EXIT.ok;
  },
};

/** The `servers` command. */
export const servers: Command = {
  name: "servers",
  summary: "list the online servers",
  help: `Usage: secshrnet servers [--json] [--timeout S]

Lists the servers online on the network with whether you trust them (only
trusted servers are used; see 'secshrnet trust'), their host, system,
version, objects and bytes stored, free disk, and round-trip time. Trusted
servers that are offline are named on stderr.

Options:
      --timeout S       give up on a server silent for S seconds (default [client]
                        timeout, else 20)
      --json            print a JSON array
  -c, --config CONFIG   config file (default $HOME/.secshrnet/secshrnet.conf)
  -h, --help            show this help

Examples:
  secshrnet servers
  secshrnet servers --json | jq length        # how many are online`,
  options: { ...CLIENT_OPTIONS, json: { type: "boolean" }, timeout: { type: "string" } },
  async run(args) {
    const parsed = parse(args, this.options);
    positionals(parsed, 0, 0, "secshrnet servers [--json] [--timeout S]");
    const config = await configFrom(parsed);
    const { info, nodes, channelNodes } = await withClient(config, async (client) => ({
      info: await serverInfo(client),
      nodes: client.host.redisNodes(),
      // Under a cluster each server's channel lives on the master owning its slot.
      channelNodes: config.redis.cluster !== undefined
        ? await client.host.serverNodes()
        : undefined,
    }));
    for (const { server, error } of info.failed) {
      console.error(`secshrnet: warning: ${displayName(server)} did not answer: ${error}`);
    }
    if (info.offline.length > 0) {
      const names = info.offline.map((id) => id.slice(0, 16)).join(", ");
      console.error(
        `secshrnet: warning: ${info.offline.length} trusted server(s) offline: ${names}`,
      );
    }
    const nodeOf = (server: ServerInfo) => channelNodes?.get(server.address) ?? "?";
    if (parsed.values.json) {
      printJson(
        channelNodes === undefined
          ? info.servers
          : info.servers.map((server) => ({ ...server, redisNode: nodeOf(server) })),
      );
    } else {
      const nodeColumn = channelNodes === undefined ? [] : ["REDIS NODE"];
      console.log(table(
        [
          "SERVER",
          "TRUSTED",
          "HOST",
          "OS",
          "VERSION",
          "OBJECTS",
          "STORED",
          "FREE",
          "RTT",
          ...nodeColumn,
        ],
        info.servers.map((s) => [
          displayName(s.address),
          s.trusted ? "yes" : "no",
          s.hostname,
          s.os,
          s.version,
          String(s.objects),
          formatSize(s.bytes),
          s.freeBytes === undefined ? "?" : formatSize(s.freeBytes),
          `${s.latencyMs} ms`,
          ...(channelNodes === undefined ? [] : [nodeOf(s)]),
        ]),
      ));
      console.log(`\nRedis: ${topology(config.redis, nodes)}`);
    }
    return EXIT.ok;
  },
};

/** A shell-style glob over a whole tag: `*` any characters (slashes too), `?` one. */
export function globToRegExp(pattern: string): RegExp {
  const body = [...pattern].map((c) =>
    c === "*" ? ".*" : c === "?" ? "." : c.replace(/[.+^${}()|[\]\\]/g, "\\$&")
  ).join("");
  return new RegExp(`^${body}$`, "su");
}

/**
 * Which Redis the network runs on, for `servers`: one node, a Sentinel
 * master and where, or a cluster and its masters (`nodes`, as the host sees them).
 */
function topology(redis: RedisConfig, nodes: string[]): string {
  if (redis.cluster !== undefined) {
    return `Redis Cluster, sharded pub/sub, ${nodes.length} master(s): ${nodes.join(", ")}`;
  }
  const at = nodes.length === 0 ? "" : ` at ${nodes[0]}`;
  if (redis.sentinel === undefined) return `one node, ${redactUrl(redis.url)}`;
  const { masterName, sentinels } = redis.sentinel;
  return `Sentinel master ${JSON.stringify(masterName)}${at} (sentinels ${sentinels.join(", ")})`;
}
