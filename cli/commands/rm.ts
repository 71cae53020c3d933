/**
 * `secshrnet rm TAG [--json]`.
 *
 * @module
 */

import { displayName } from "../../core/net/envelope.ts";
import { removeTag } from "../../core/client/remove.ts";
import { CLIENT_OPTIONS, parse, PASSWORD_OPTIONS, positionals } from "../args.ts";
import { configFrom, headerPolicy, withClient } from "../context.ts";
import { password } from "../password_flags.ts";
import { EXIT } from "../exit.ts";
import { printJson } from "../format.ts";
import { Progress } from "../progress.ts";
import type { Command } from "./command.ts";

/** The `rm` command. */
export const rm: Command = {
  name: "rm",
  summary: "delete a tag from every server",
  help: `Usage: secshrnet rm TAG [--json]

Deletes TAG from every trusted server online that holds it. Servers delete
only for a client that proves the password. Each keeps a deletion record
signed with the object's key: when a server that was offline returns with a
share of the tag, the next client to look at the tag (ls, get, check, put)
passes the record on and that server deletes its share, so the tag never
comes back.

Options:
  -k 1                  the object was stored with -k 1 (accept k = 1 headers)
      --password-file F read the password from file F
      --password-fd N   read the password from file descriptor N
      --password-command CMD
                        run CMD and read the password from its output
      --max-log-n N     highest scrypt work factor accepted (default 22)
      --timeout S       give up on a server silent for S seconds (default [client]
                        timeout, else 20)
      --json            print the result as JSON
  -c, --config CONFIG   config file (default $HOME/.secshrnet/secshrnet.conf)
  -h, --help            show this help

Exit codes: 0 removed everywhere it was; 3 removed from every server online,
but some shares are on servers that are offline (named; they are deleted when
those servers return); 4 not found; 5 wrong password; 1 some servers online
could not remove it (named).

Examples:
  secshrnet rm /keys/old-wallet.dat
  secshrnet rm /backup/2025.tar --password-file ~/.secshrnet-pass`,
  options: {
    ...CLIENT_OPTIONS,
    ...PASSWORD_OPTIONS,
    json: { type: "boolean" },
    timeout: { type: "string" },
    k: { type: "string", short: "k" },
  },
  async run(args) {
    const parsed = parse(args, this.options);
    const [tag] = positionals(parsed, 1, 1, "secshrnet rm TAG");
    const progress = new Progress(`rm ${tag}`, false);
    const config = await configFrom(parsed);
    const policy = headerPolicy(parsed, config);
    const result = await withClient(
      config,
      (client) =>
        removeTag(client, {
          tag,
          password: () => password(parsed, tag, false),
          ...policy,
          onKdfProgress: progress.kdf,
        }),
    );
    progress.done();
    if (parsed.values.json) printJson(result);
    else console.log(`removed ${JSON.stringify(tag)} from ${result.removed.length} servers`);
    for (const { server, error } of result.failed) {
      console.error(`secshrnet: warning: ${displayName(server)}: ${error}`);
    }
    for (const { indices, offline } of result.away) {
      const servers = offline.length === 0
        ? "no trusted server is offline: they may be lost"
        : `trusted servers offline: ${offline.map(displayName).join(", ")}`;
      console.error(
        `secshrnet: warning: ${
          indices.length === 1 ? `share ${indices[0]} was` : `shares ${indices.join(", ")} were`
        } not reached (${servers}); deleted when its server returns and a client looks at the tag`,
      );
    }
    if (result.failed.length > 0) return EXIT.failure;
    return result.away.length === 0 ? EXIT.ok : EXIT.reduced;
  },
};
