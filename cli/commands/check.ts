/**
 * `secshrnet check [TAG...] [--verify] [--json] [--timeout S]`.
 *
 * @module
 */

import { UsageError } from "../../core/errors.ts";
import { displayName } from "../../core/net/envelope.ts";
import {
  checkTags,
  type TagHealth,
  type VerifyOptions,
  verifyTag,
} from "../../core/client/health.ts";
import type { WorkersOption } from "../../core/client/retrieve.ts";
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
import { EXIT } from "../exit.ts";
import { printJson, table } from "../format.ts";
import { Progress } from "../progress.ts";
import type { Command } from "./command.ts";

/** The `check` command. */
export const check: Command = {
  name: "check",
  summary: "report how much redundancy each tag has left",
  help: `Usage: secshrnet check [TAG...] [--json] [--timeout S]
       secshrnet check --verify TAG... [--json]

For each TAG (every tag when none is given) reports the newest object's k and
n, how many trusted servers online hold a sound share of it, which share
indices are missing, which shares a server's background scrub found damaged,
and its status:
  healthy   all n shares are held and sound
  degraded  at least k are, but fewer than n: run 'secshrnet repair'
  lost      fewer than k: it cannot be rebuilt from the servers online
Needs no password.

With --verify (needs the password) every holder's share is downloaded and
its key share and every frame checked against the manifest; no plaintext is
written anywhere. Each server whose share is bad is named, with the segment.

Options:
      --verify          download and check every share (needs the password)
  -k 1                  the objects were stored with -k 1 (accept k = 1 headers)
      --password-file F read the password from file F
      --password-fd N   read the password from file descriptor N
      --password-command CMD
                        run CMD and read the password from its output
      --max-log-n N     highest scrypt work factor accepted (default 22)
      --timeout S       give up on a server silent for S seconds (default [client]
                        timeout, else 20)
${WORKERS_HELP.replace("threads for", "with --verify: threads for")}
      --json            print a JSON array, one object per tag
  -c, --config CONFIG   config file (default $HOME/.secshrnet/secshrnet.conf)
  -h, --help            show this help

Exit codes: 0 every tag checked is healthy; 3 one is degraded and none lost;
4 one is lost (or not found); 5 wrong password (--verify); 1 failure.

Examples:
  secshrnet check                              # from cron: non-zero when at risk
  secshrnet check /keys/wallet.dat --json | jq .status
  secshrnet check --verify /keys/wallet.dat --password-file ~/.secshrnet-pass`,
  options: {
    ...CLIENT_OPTIONS,
    ...PASSWORD_OPTIONS,
    ...WORKERS_OPTIONS,
    verify: { type: "boolean" },
    json: { type: "boolean" },
    timeout: { type: "string" },
    k: { type: "string", short: "k" },
  },
  async run(args) {
    const parsed = parse(args, this.options);
    const tags = parsed.positionals;
    const workersGiven = workersFlag(parsed);
    const config = await configFrom(parsed);
    const workers = workersGiven ?? config.client.workers;
    const policy = { ...headerPolicy(parsed, config), maxLogN: maxLogN(parsed) };
    if (parsed.values.verify && tags.length === 0) {
      throw new UsageError("check --verify needs the TAGs to verify (it downloads every share)");
    }
    const results = await withClient(config, async (client) => {
      if (!parsed.values.verify) {
        const report = await checkTags(client, { ...policy, tags });
        for (const { server, error } of report.silent) {
          console.error(`secshrnet: warning: ${displayName(server)} did not answer: ${error}`);
        }
        if (report.offline.length > 0) {
          const names = report.offline.map((id) => id.slice(0, 16)).join(", ");
          console.error(`secshrnet: warning: trusted servers offline: ${names}`);
        }
        return report.tags;
      }
      const secret = await password(parsed, tags.length === 1 ? tags[0] : "these tags", false);
      const checked: TagHealth[] = [];
      for (const tag of tags) {
        const progress = new Progress(`verify ${tag}`, false);
        // verifyTag hands its options on to retrieveObject, workers among them.
        const options: VerifyOptions & WorkersOption = {
          ...policy,
          tag,
          password: secret,
          onKdfProgress: progress.kdf,
          stallMs: client.timeouts.transferIdleMs,
          workers,
        };
        try {
          checked.push(await verifyTag(client, options));
        } finally {
          progress.done();
        }
      }
      return checked;
    });
    if (parsed.values.json) printJson(results);
    else if (results.length === 0) console.error("no tags stored");
    else printHealth(results);
    return exitFor(results);
  },
};

/** 0 when every tag is healthy, 3 when one is degraded and none lost, 4 when one is lost. */
export function exitFor(results: readonly TagHealth[]): number {
  if (results.some((r) => r.status === "lost")) return EXIT.notFound;
  if (results.some((r) => r.status === "degraded")) return EXIT.reduced;
  return EXIT.ok;
}

/** Prints a table of tags and their health, then one line per share that is not good. */
export function printHealth(results: readonly TagHealth[]): void {
  console.log(table(
    ["TAG", "STATUS", "K/N", "SOUND", "MISSING", "DAMAGED"],
    results.map((r) => [
      r.tag,
      r.status,
      r.k === undefined ? "-" : `${r.k}/${r.n}`,
      r.n === undefined ? "0" : `${r.good}/${r.n}`,
      r.missing.length === 0 ? "-" : r.missing.join(","),
      bad(r).map((s) => String(s.index)).join(",") || "-",
    ]),
  ));
  for (const r of results) {
    if (r.note !== undefined) console.error(`secshrnet: ${r.tag}: ${r.note}`);
    for (const share of bad(r)) {
      const where = share.segment === undefined ? "" : ` at segment ${share.segment}`;
      console.error(
        `secshrnet: ${r.tag}: share ${share.index} on ${
          displayName(share.server)
        } is ${share.state}${where}: ${share.detail}`,
      );
    }
  }
}

function bad(result: TagHealth) {
  return result.shares.filter((s) => s.state !== "good");
}
