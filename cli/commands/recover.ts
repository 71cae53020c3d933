/**
 * `secshrnet recover TAG FILE|- --root DIR...` and `secshrnet recover --list
 * --root DIR...`: salvage without Redis, servers or network, from server
 * root directories read straight off disk (cli/root_reader.ts). Objects are
 * verified exactly as `get` verifies them (core/open.ts).
 *
 * @module
 */

import { renamingErrors } from "../../core/renaming.ts";
import {
  ExistsError,
  KdfLimitError,
  NotEnoughSharesError,
  NotFoundError,
  UsageError,
  WrongPasswordError,
} from "../../core/errors.ts";
import type { ObjectHeader } from "../../core/header.ts";
import type { HeaderPolicy } from "../../core/client/vetting.ts";
import { open, type OpenedObject } from "../../core/open.ts";
import { encodeTag } from "../../core/tag.ts";
import { CLIENT_OPTIONS, parse, type Parsed, PASSWORD_OPTIONS, positionals } from "../args.ts";
import { loadConfig, parseConfig } from "../../core/config.ts";
import { headerPolicy } from "../context.ts";
import { password } from "../password_flags.ts";
import { EXIT, interruptible } from "../exit.ts";
import { formatSize, printJson } from "../format.ts";
import { counting, writeStream } from "../io.ts";
import { Progress } from "../progress.ts";
import { checkRoot, readRootTag, type RootObject, shareStream, tagHash } from "../root_reader.ts";
import {
  complete,
  describeObject,
  type FoundObject,
  type FoundTag,
  gather,
  whoHolds,
} from "../recover_plan.ts";
import { listRoots } from "./recover_list.ts";
import { exists, writeAtomically } from "./get.ts";
import type { Command } from "./command.ts";

/** Objects tried at most, newest first (each with a new salt costs one scrypt), as `get`. */
const MAX_CANDIDATES = 3;
/** How long a share file may lag the others: disks, even failing ones, not the network. */
const DISK_STALL_MS = 300_000;

/** The `recover` command. */
export const recover: Command = {
  name: "recover",
  summary: "rebuild a file from server root directories, without Redis or network",
  help: `Usage: secshrnet recover TAG FILE|- --root DIR [--root DIR...] [--force] [--json]
       secshrnet recover --list --root DIR [--root DIR...] [--json]

Salvage: rebuilds the newest object of TAG of which the roots hold k shares,
reading the share files straight from server root directories (for example
disks of dead servers, mounted read-only), and writes it to FILE, or to
standard output for -. Needs no Redis, no server and no network; nothing is
ever written to the roots. Every share is verified as 'get' verifies it, and
FILE appears only once complete and verified; an existing FILE is replaced
only with --force. A root's deletion record of TAG (left by 'rm') is noted,
not obeyed.

With --list, lists the tags the roots hold: size, creation time, k/n, how
many distinct shares of the newest object the roots hold, and whether that
is enough (k) to recover it. Needs no password.

Options:
  -r, --root DIR        a server root directory (repeat for each; at least one)
      --list            list the tags found in the roots
      --force           overwrite FILE if it exists
  -k 1                  the object was stored with -k 1 (accept k = 1 headers)
      --password-file F read the password from file F
      --password-fd N   read the password from file descriptor N
      --password-command CMD
                        run CMD and read the password from its output
      --max-log-n N     highest scrypt work factor accepted (default 22)
      --json            print the result as JSON (not with -)
  -q, --quiet           no progress on stderr
  -c, --config CONFIG   config file, for [kdf] min_log_n only (default
                        $HOME/.secshrnet/secshrnet.conf; none is needed)
  -h, --help            show this help

Exit codes: 0 recovered (or listed); 4 tag not found in the roots, or fewer
than k intact shares (each root named with the index it holds and why it
was not used); 5 wrong password; 6 FILE exists; 1 a root cannot be read, or
another failure; 2 usage.

Examples:
  secshrnet recover --list -r /mnt/disk1/.secshrnet -r /mnt/disk2/.secshrnet
  secshrnet recover /keys/wallet.dat ~/wallet.dat \\
      --root /mnt/disk1/.secshrnet --root /mnt/disk2/.secshrnet --root /mnt/disk3/.secshrnet
  secshrnet recover /backup/notes.tar - -r /mnt/a -r /mnt/b | tar x`,
  options: {
    ...CLIENT_OPTIONS,
    ...PASSWORD_OPTIONS,
    root: { type: "string", short: "r", multiple: true },
    list: { type: "boolean" },
    force: { type: "boolean" },
    json: { type: "boolean" },
    quiet: { type: "boolean", short: "q" },
    k: { type: "string", short: "k" },
  },
  async run(args) {
    const parsed = parse(args, this.options);
    const roots = (parsed.values.root as unknown as string[] | undefined) ?? [];
    const list = parsed.values.list === true;
    const usage = list
      ? "secshrnet recover --list --root DIR [--root DIR...]"
      : "secshrnet recover TAG FILE|- --root DIR [--root DIR...]";
    const [tag, file] = positionals(parsed, list ? 0 : 2, list ? 0 : 2, usage);
    if (roots.length === 0) {
      throw new UsageError(`give at least one --root DIR (a server root directory); ${usage}`);
    }
    if (list) return await listRoots(roots, parsed.values.json === true);
    return await recoverTag(parsed, roots, tag, file);
  },
};

/** `recover TAG FILE|-`. */
async function recoverTag(
  parsed: Parsed,
  roots: string[],
  tag: string,
  file: string,
): Promise<number> {
  encodeTag(tag);
  const force = parsed.values.force === true;
  if (file !== "-" && !force && await exists(file)) {
    throw new ExistsError(`${file} exists; use --force to overwrite it`);
  }
  const policy = await policyFrom(parsed);
  for (const root of roots) await checkRoot(root);
  const held = [];
  for (const root of roots) held.push(await readRootTag(root, tag));
  const found = await gather(await tagHash(tag), held);
  for (const { root, record, error } of found.deletions) {
    console.error(
      record === undefined
        ? `secshrnet: note: ${root} holds an unreadable deletion record of this tag (${error})`
        : `secshrnet: note: ${root} says this tag was removed (record for version ${record.header.version})`,
    );
  }
  if (found.objects.length === 0) {
    const where = roots.length === 1 ? `root ${roots[0]}` : `any of the ${roots.length} roots`;
    if (found.unusable.length === 0) {
      throw new NotFoundError(`tag ${JSON.stringify(tag)} not found in ${where}`);
    }
    throw new NotEnoughSharesError(undefined, 0, []).withDetail(
      found.unusable.map((u) => `${u.dir}: ${u.reason}`).join("; "),
    );
  }
  /** Why each object newer than the one recovered was passed over. */
  const passed = new Map<FoundObject, string>();
  const doubts: Error[] = [];
  const candidates = found.objects.filter(complete).filter((object) => {
    const doubt = doubtful(object.header, policy);
    if (doubt !== undefined) {
      doubts.push(doubt);
      passed.set(object, doubt.message);
    }
    return doubt === undefined;
  });
  if (candidates.length === 0) {
    if (doubts.length > 0) throw doubts[0];
    const newest = found.objects[0];
    throw new NotEnoughSharesError(newest.header.k, newest.holders.length, [])
      .withDetail(whoHolds(newest, found, roots));
  }
  const progress = new Progress(`recover ${tag}`, parsed.values.quiet === true);
  const secret = await password(parsed, tag, false);
  const masterKeys = new Map<string, Promise<Uint8Array>>();
  let failure: unknown;
  for (const object of candidates.slice(0, MAX_CANDIDATES)) {
    let opened: OpenedObject;
    try {
      opened = await open(
        object.holders.map((holder) => ({
          index: holder.index,
          header: holder.headerBytes,
          manifest: holder.manifest,
          shares: shareStream(holder),
        })),
        {
          tag,
          password: secret,
          masterKeys,
          maxLogN: policy.maxLogN,
          minLogN: policy.minLogN,
          onKdfProgress: progress.kdf,
          stragglerMs: DISK_STALL_MS,
          stallMs: DISK_STALL_MS,
        },
      );
    } catch (error) {
      progress.done();
      if (!(error instanceof WrongPasswordError || error instanceof NotEnoughSharesError)) {
        throw error;
      }
      const named = error instanceof NotEnoughSharesError
        ? error.withDetail(whoHolds(object, found, roots, error.rejections))
        : error;
      // Not enough shares says more than a wrong password when both happen.
      if (!(failure instanceof NotEnoughSharesError)) failure = named;
      passed.set(object, `it does not open: ${named.message}`);
      continue;
    }
    await write(
      opened,
      object,
      file,
      force,
      progress,
      (error) =>
        error instanceof NotEnoughSharesError
          ? error.withDetail(whoHolds(object, found, roots, error.rejections))
          : error,
    );
    report(tag, file, object, opened, found, passed, parsed.values.json === true);
    return EXIT.ok;
  }
  throw failure;
}

/** Writes the plaintext to FILE (atomically) or stdout; a failure mid-way passes `rename`. */
async function write(
  opened: OpenedObject,
  object: FoundObject,
  file: string,
  force: boolean,
  progress: Progress,
  rename: (error: unknown) => unknown,
): Promise<void> {
  const size = object.header.size;
  const plaintext = counting(
    renamingErrors(opened.plaintext, rename),
    (n) => progress.bytes(n, size),
  );
  await interruptible(async (signal) => {
    if (file === "-") await writeStream(plaintext, Deno.stdout, signal);
    else await writeAtomically(plaintext, file, force, signal);
  }).finally(() => progress.done());
}

/** Warnings, notes and the result line (or JSON) once the file is written. */
function report(
  tag: string,
  file: string,
  object: FoundObject,
  opened: OpenedObject,
  found: FoundTag,
  passed: Map<FoundObject, string>,
  json: boolean,
): void {
  const warn = (text: string) => console.error(`secshrnet: warning: ${text}`);
  const rootOf = (index: number) => object.holders.find((h) => h.index === index)?.root ?? "?";
  const newest = found.objects[0];
  if (newest !== object) {
    const why = passed.get(newest) ??
      `the roots hold ${newest.holders.length} of its ${newest.header.k} needed shares`;
    warn(
      `recovered an older object (${describeObject(object.header)}), not the newest ` +
        `(${describeObject(newest.header)}): ${why}`,
    );
  }
  const rejected = opened.rejections.map((r) => ({
    root: rootOf(r.index),
    index: r.index,
    reason: r.detail,
  }));
  for (const r of rejected) warn(`did not use ${r.root} #${r.index}: ${r.reason}`);
  for (const { copy, first } of object.duplicates) {
    console.error(
      `secshrnet: note: ${copy.root} holds #${copy.index} too; the copy in ${first.root} was used`,
    );
  }
  for (const holder of object.holders.filter((h) => h.damaged !== undefined)) {
    const at = holder.damaged?.offset === undefined ? "" : ` at byte ${holder.damaged.offset}`;
    const used = rejected.some((r) => r.index === holder.index) ? "rejected" : "verified anyway";
    console.error(
      `secshrnet: note: ${holder.root} marks its share #${holder.index} damaged${at} (${used})`,
    );
  }
  const used: RootObject[] = object.holders.filter((h) =>
    !rejected.some((r) => r.index === h.index)
  );
  if (file === "-") return;
  if (json) {
    printJson({
      tag,
      file,
      size: object.header.size,
      k: object.header.k,
      n: object.header.n,
      version: object.header.version,
      created: object.header.created,
      sources: used.map((h) => ({ root: h.root, index: h.index })),
      rejected,
      removedOn: found.deletions.map((d) => d.root),
    });
  } else {
    console.log(
      `recovered ${JSON.stringify(tag)} (${formatSize(object.header.size)}) to ${file} ` +
        `from ${used.length} root${used.length === 1 ? "" : "s"}`,
    );
  }
}

/**
 * Why a header is not acted on, as `get` decides (core/client/vetting.ts):
 * k = 1 without -k 1, or a work factor outside the floor and cap.
 */
function doubtful(header: ObjectHeader, policy: HeaderPolicy): Error | undefined {
  const { k, kdf } = header;
  if (k === 1 && !policy.allowSingleShare) {
    return new UsageError(
      `the roots hold an object of this tag that claims k = 1 (${describeObject(header)}): ` +
        `if you stored it with -k 1, run the command again with -k 1`,
    );
  }
  const min = policy.minLogN ?? 0, max = policy.maxLogN ?? Infinity;
  if (kdf.logN < min || kdf.logN > max) return new KdfLimitError(kdf.logN, max, min);
  return undefined;
}

/**
 * The header policy of -k 1, --max-log-n and the config's [kdf] min_log_n;
 * no config file is needed (nor HOME), and nothing about Redis is read.
 */
async function policyFrom(parsed: Parsed): Promise<HeaderPolicy> {
  const path = typeof parsed.values.config === "string" ? parsed.values.config : undefined;
  const env = Deno.env.toObject();
  const home = { HOME: env.HOME, USERPROFILE: env.USERPROFILE };
  const config = path === undefined && !home.HOME && !home.USERPROFILE
    ? parseConfig("", "(defaults)")
    : await loadConfig({ path, env: home });
  return headerPolicy(parsed, config);
}
