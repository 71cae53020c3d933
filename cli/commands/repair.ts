/**
 * `secshrnet repair [TAG...] [--json]`.
 *
 * @module
 */

import { displayName } from "../../core/net/envelope.ts";
import { checkTags, type TagHealth } from "../../core/client/health.ts";
import { namedTargets, type RepairResult, repairTag } from "../../core/client/repair.ts";
import { WrongPasswordError } from "../../core/errors.ts";
import {
  CLIENT_OPTIONS,
  parse,
  PASSWORD_OPTIONS,
  WORKERS_HELP,
  WORKERS_OPTIONS,
  workersFlag,
} from "../args.ts";
import { configFrom, headerPolicy, maxLogN, withClient } from "../context.ts";
import { password } from "../password_flags.ts";
import { formatSize, printJson } from "../format.ts";
import { Progress } from "../progress.ts";
import { EXIT } from "../exit.ts";
import type { Command } from "./command.ts";
import { exitFor, printHealth } from "./check.ts";

/** The `repair` command. */
export const repair: Command = {
  name: "repair",
  summary: "rebuild missing and damaged shares",
  help: `Usage: secshrnet repair [TAG...] [--json]

Rebuilds the missing and damaged shares of each TAG's newest object and
stores them on trusted servers online that hold nothing of the tag (a damaged
share is replaced in place on its own server). Without TAG, repairs every
tag that 'secshrnet check' reports degraded and that the password opens.

The object stays the same (same id, header and manifest), and sound shares
are not re-uploaded or rewritten: only the lost shares move. Every holder's
share is read and checked on the way, like 'check --verify'; a share found
bad then is replaced too.

Options:
  -k 1                  the objects were stored with -k 1 (accept k = 1 headers)
      --password-file F read the password from file F
      --password-fd N   read the password from file descriptor N
      --password-command CMD
                        run CMD and read the password from its output
      --max-log-n N     highest scrypt work factor accepted (default 22)
      --timeout S       give up on a server silent for S seconds (default [client]
                        timeout, else 20)
${WORKERS_HELP}
      --json            print a JSON array, one object per tag
  -c, --config CONFIG   config file (default $HOME/.secshrnet/secshrnet.conf)
  -h, --help            show this help

Exit codes: 0 every tag repaired is healthy; 3 one is still degraded (too few
servers online that hold nothing of it: named; or, without TAG, another
password protects it); 4 one is lost (fewer than k sound shares; or not
found); 5 wrong password (it opens none of them); 1 failure.

Examples:
  secshrnet trust NEW-SERVER-ID && secshrnet repair     # after replacing a dead server
  secshrnet repair /keys/wallet.dat --password-file ~/.secshrnet-pass`,
  options: {
    ...CLIENT_OPTIONS,
    ...PASSWORD_OPTIONS,
    ...WORKERS_OPTIONS,
    json: { type: "boolean" },
    timeout: { type: "string" },
    k: { type: "string", short: "k" },
  },
  async run(args) {
    const parsed = parse(args, this.options);
    const workersGiven = workersFlag(parsed);
    const config = await configFrom(parsed);
    const workers = workersGiven ?? config.client.workers;
    const policy = { ...headerPolicy(parsed, config), maxLogN: maxLogN(parsed) };
    const explicit = parsed.positionals;
    const { results, skipped, lost } = await withClient(config, async (client) => {
      let tags = explicit;
      let lost: TagHealth[] = [];
      if (tags.length === 0) {
        const report = await checkTags(client, policy);
        tags = report.tags.filter((t) => t.status === "degraded").map((t) => t.tag);
        lost = report.tags.filter((t) => t.status === "lost");
        for (const t of lost) {
          console.error(
            `secshrnet: ${t.tag} is lost: ${t.note ?? `${t.good} of ${t.k} needed shares sound`}`,
          );
        }
        if (tags.length === 0) {
          console.error(lost.length > 0 ? "no degraded tag to repair" : "every tag is healthy");
          return { results: [] as RepairResult[], skipped: [] as string[], lost };
        }
      }
      const secret = await password(
        parsed,
        tags.length === 1 ? tags[0] : "the tags to repair",
        false,
      );
      const results: RepairResult[] = [];
      const skipped: string[] = [];
      for (const tag of tags) {
        const progress = new Progress(`repair ${tag}`, false);
        try {
          results.push(
            await repairTag(client, {
              ...policy,
              tag,
              password: secret,
              onKdfProgress: progress.kdf,
              stallMs: client.timeouts.transferIdleMs,
              workers,
            }),
          );
        } catch (error) {
          // Repairing every degraded tag: one that another password protects is skipped.
          if (!(error instanceof WrongPasswordError) || explicit.length > 0) throw error;
          skipped.push(tag);
        } finally {
          progress.done();
        }
      }
      return { results, skipped, lost };
    });
    for (const tag of skipped) {
      console.error(
        `secshrnet: ${tag}: still degraded, skipped: this password does not open it; run ` +
          `'secshrnet repair ${tag}' with its password`,
      );
    }
    if (results.length === 0 && skipped.length > 0) throw new WrongPasswordError();
    if (parsed.values.json) printJson(results);
    else if (results.length > 0) {
      for (const r of results) printRepair(r);
      printHealth(results.map((r) => r.after));
    }
    // A degraded tag skipped for its password is still degraded: not a 0.
    const left = skipped.length > 0 ? EXIT.reduced : EXIT.ok;
    return Math.max(exitFor([...results.map((r) => r.after), ...lost]), left);
  },
};

function printRepair(result: RepairResult): void {
  const { tag, rebuilt, failed, unplaced } = result;
  if (rebuilt.length > 0) {
    console.log(
      `${tag}: rebuilt ${rebuilt.length} share(s) on ${namedTargets(rebuilt)}; uploaded ${
        formatSize(result.uploadedBytes)
      } (one share is ${formatSize(result.shareBytes)})`,
    );
  } else if (result.after.status === "healthy") console.log(`${tag}: healthy, nothing to rebuild`);
  for (const target of failed) {
    console.error(
      `secshrnet: ${tag}: share ${target.index} could not be stored on ${
        displayName(target.server)
      }: ${target.error}`,
    );
  }
  if (unplaced.length > 0) {
    console.error(
      `secshrnet: ${tag}: share(s) ${
        unplaced.join(", ")
      } still missing: no trusted server online ` +
        `holds nothing of the tag; start ${unplaced.length} more server(s), trust them, and run repair again`,
    );
  }
}
