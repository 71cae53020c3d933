/**
 * `secshrnet recover` end to end: a 5/3 object stored by real `serve`
 * processes through Redis, the servers stopped, then rebuilt from their root
 * directories alone, with Redis out of reach: from every 3 of the 5 roots,
 * never from 2, never with a wrong password, never writing to the roots.
 */

import { assert, assertEquals } from "./assert.ts";
import {
  entries,
  objectDirs,
  PASSWORD,
  putBytes,
  walk,
  withNetwork,
  workDir,
  WRONG_PW,
} from "./harness/client.ts";
import type { RunResult, TestNetwork } from "./harness/network.ts";
import { prng } from "./prng.ts";
import { sameBytes } from "./objects.ts";
import { unlock } from "../core/unlock.ts";
import { accessKeys } from "../core/access.ts";
import { makeDeletionRecord } from "../core/deletion.ts";
import type { RecoverListEntry } from "../cli/commands/recover_list.ts";

const TAG = "/salvage/data.bin";
const OTHER = "/salvage/notes.txt";
/** Nothing listens there: recover must not need Redis. */
const OFFLINE = { SECSHRNET_REDIS_URL: "redis://127.0.0.1:9", SECSHRNET_PASSWORD: PASSWORD };

/** Every `size`-element subset of `items`, in order. */
function subsets<T>(items: readonly T[], size: number): T[][] {
  if (size === 0) return [[]];
  return items.flatMap((item, i) =>
    subsets(items.slice(i + 1), size - 1).map((rest) => [item, ...rest])
  );
}

/** `--root A --root B ...` */
function rootArgs(roots: readonly string[]): string[] {
  return roots.flatMap((root) => ["--root", root]);
}

/** Runs `tasks` at most `width` at a time, results in order. */
async function batched<T>(tasks: (() => Promise<T>)[], width: number): Promise<T[]> {
  const results: T[] = [];
  for (let i = 0; i < tasks.length; i += width) {
    results.push(...await Promise.all(tasks.slice(i, i + width).map((task) => task())));
  }
  return results;
}

/** Paths, sizes and mtimes of everything under the roots: to show nothing was written. */
async function snapshot(roots: readonly string[]): Promise<string> {
  const lines: string[] = [];
  for (const root of roots) {
    for (const path of await walk(root)) {
      const info = await Deno.lstat(`${root}/${path}`);
      lines.push(`${root}/${path} ${info.size} ${info.mtime?.getTime()}`);
    }
  }
  return lines.join("\n");
}

function recover(
  network: TestNetwork,
  args: string[],
  env: Record<string, string> = OFFLINE,
): Promise<RunResult> {
  return network.run(["recover", ...args], { env: { ...OFFLINE, ...env } });
}

/** A copy of `root` (cp -a) at `copy`. */
async function copyRoot(root: string, copy: string): Promise<void> {
  const cp = await new Deno.Command("cp", { args: ["-a", root, copy] }).output();
  assertEquals(cp.code, 0, new TextDecoder().decode(cp.stderr));
}

Deno.test("recover rebuilds a 5/3 object offline from every 3 of its 5 roots, never from 2", async () => {
  await withNetwork(5, async (network) => {
    const data = prng(10_010).bytes(300 * 1024 + 77);
    const notes = prng(10_011).bytes(5000);
    const put = await putBytes(network, TAG, data, ["-n", "5", "-k", "3"]);
    assertEquals(put.code, 0, put.stderr);
    const putOther = await putBytes(network, OTHER, notes, ["-n", "5", "-k", "2"]);
    assertEquals(putOther.code, 0, putOther.stderr);
    for (const server of network.servers) await server.stop();
    await network.redis.stop();
    const roots = network.servers.map((s) => s.root);
    const before = await snapshot(roots);
    const out = await workDir(network, "out");

    // Every 3 of 5: the file, byte for byte.
    const triples = subsets(roots, 3);
    assertEquals(triples.length, 10);
    const results = await batched(
      triples.map((three, i) => () =>
        recover(network, [TAG, `${out}/three-${i}`, ...rootArgs(three)])
      ),
      5,
    );
    for (const [i, result] of results.entries()) {
      assertEquals(result.code, 0, `${triples[i].join(" ")}: ${result.stderr}`);
      assert(result.stdout.startsWith(`recovered "${TAG}"`), result.stdout);
      assert(sameBytes(await Deno.readFile(`${out}/three-${i}`), data), `subset ${i}`);
    }

    // Any 2 of 5: exit 4, each root named with its index, and no file at all.
    const pairs = subsets(roots, 2);
    const failed = await batched(
      pairs.map((two, i) => () => recover(network, [TAG, `${out}/two-${i}`, ...rootArgs(two)])),
      5,
    );
    for (const [i, result] of failed.entries()) {
      assertEquals(result.code, 4, `${pairs[i].join(" ")}: ${result.stderr}`);
      assertEquals(result.stderr.trim().split("\n").length, 1, result.stderr);
      assert(result.stderr.includes("found 2 of 3 needed shares"), result.stderr);
      for (const root of pairs[i]) assert(result.stderr.includes(`${root} holds #`), result.stderr);
    }
    assertEquals(
      (await entries(out)).filter((name) => !name.startsWith("three-")),
      [],
      "no output and no partial file after a failed recover",
    );

    // Standard output, with the password from a file (the environment's is wrong).
    const passwordFile = `${network.dir}/password`;
    await Deno.writeTextFile(passwordFile, `${PASSWORD}\n`);
    const piped = await recover(
      network,
      [TAG, "-", "--password-file", passwordFile, ...rootArgs(roots.slice(2))],
      WRONG_PW,
    );
    assertEquals(piped.code, 0, piped.stderr);
    assert(sameBytes(piped.stdoutBytes, data), "recover to -");
    // --json.
    const json = await recover(network, [TAG, `${out}/json`, "--json", ...rootArgs(roots)]);
    assertEquals(json.code, 0, json.stderr);
    const summary = JSON.parse(json.stdout);
    assertEquals([summary.tag, summary.size, summary.k, summary.n], [TAG, data.length, 3, 5]);
    assertEquals(summary.sources.length, 5);
    assertEquals(summary.rejected, []);

    // An existing file needs --force.
    const exists = await recover(network, [TAG, `${out}/json`, ...rootArgs(roots)]);
    assertEquals(exists.code, 6, exists.stderr);
    const forced = await recover(network, [TAG, `${out}/json`, "--force", ...rootArgs(roots)]);
    assertEquals(forced.code, 0, forced.stderr);
    assert(sameBytes(await Deno.readFile(`${out}/json`), data), "recover --force");

    // A wrong password: exit 5, no file.
    const wrong = await recover(network, [TAG, `${out}/wrong`, ...rootArgs(roots.slice(0, 3))], {
      ...WRONG_PW,
    });
    assertEquals(wrong.code, 5, wrong.stderr);
    assert(wrong.stderr.includes("wrong password"), wrong.stderr);
    assert(!(await entries(out)).some((name) => name.includes("wrong")), "no file for exit 5");

    // The same root twice counts once.
    const twice = await recover(network, [
      TAG,
      `${out}/twice`,
      ...rootArgs([roots[0], roots[0], roots[1]]),
    ]);
    assertEquals(twice.code, 4, twice.stderr);
    const dup = await recover(
      network,
      [TAG, `${out}/dup`, ...rootArgs([roots[0], roots[1], roots[0], roots[2]])],
    );
    assertEquals(dup.code, 0, dup.stderr);
    assert(dup.stderr.includes(`${roots[0]} holds #`), dup.stderr);
    assert(sameBytes(await Deno.readFile(`${out}/dup`), data), "recover with a repeated root");

    // A root that does not exist, none at all, a tag not there.
    const missing = await recover(network, [
      TAG,
      `${out}/m`,
      ...rootArgs([roots[0], `${out}/nope`]),
    ]);
    assertEquals(missing.code, 1, missing.stderr);
    assertEquals(missing.stderr.trim().split("\n").length, 1, missing.stderr);
    assert(missing.stderr.includes(`${out}/nope`), missing.stderr);
    const none = await recover(network, [TAG, `${out}/none`]);
    assertEquals(none.code, 2, none.stderr);
    const absent = await recover(network, ["/not/stored", `${out}/absent`, ...rootArgs(roots)]);
    assertEquals(absent.code, 4, absent.stderr);
    assert(absent.stderr.includes("not found"), absent.stderr);

    // --list: every tag, how many shares the roots hold, recoverable or not.
    const list = await recover(network, ["--list", "--json", ...rootArgs(roots)], {});
    assertEquals(list.code, 0, list.stderr);
    const listed: RecoverListEntry[] = JSON.parse(list.stdout);
    assertEquals(listed.map((e) => e.tag), [TAG, OTHER]);
    const [main, other] = listed;
    assertEquals([main.size, main.k, main.n, main.shares, main.recoverable], [
      data.length,
      3,
      5,
      5,
      true,
    ]);
    assertEquals(main.indices, [1, 2, 3, 4, 5]);
    assertEquals([other.k, other.n, other.shares, other.recoverable], [2, 5, 5, true]);
    const short = await recover(network, ["--list", "--json", ...rootArgs(roots.slice(0, 2))]);
    const shortMain = (JSON.parse(short.stdout) as RecoverListEntry[]).find((e) => e.tag === TAG)!;
    assertEquals([shortMain.shares, shortMain.recoverable], [2, false]);
    const text = await recover(network, ["--list", ...rootArgs(roots.slice(0, 2))]);
    assertEquals(text.code, 0, text.stderr);
    assert(
      /^TAG\s+SIZE\s+CREATED \(UTC\)\s+K\/N\s+SHARES\s+RECOVERABLE$/m.test(text.stdout),
      text.stdout,
    );
    assert(new RegExp(`^${TAG}\\s.*\\s3/5\\s+2\\s+no$`, "m").test(text.stdout), text.stdout);
    assert(new RegExp(`^${OTHER}\\s.*\\s2/5\\s+2\\s+yes$`, "m").test(text.stdout), text.stdout);

    // Nothing was written to any root.
    assertEquals(await snapshot(roots), before, "the roots are unchanged");
  });
});

Deno.test("recover verifies every share, names a bad one, and notes a deletion record", async () => {
  await withNetwork(5, async (network) => {
    const data = prng(10_020).bytes(200 * 1024);
    const put = await putBytes(network, TAG, data, ["-n", "5", "-k", "3"]);
    assertEquals(put.code, 0, put.stderr);
    for (const server of network.servers) await server.stop();
    const roots = network.servers.map((s) => s.root);
    const out = await workDir(network, "out");

    // A copy of root 1 with one byte of its share flipped, past the key share.
    const bad = `${network.dir}/bad-root`;
    await copyRoot(roots[0], bad);
    const [badObject] = await objectDirs(bad);
    const share = await Deno.readFile(`${badObject}/share`);
    share[share.length - 100] ^= 0x01;
    await Deno.writeFile(`${badObject}/share`, share);
    const index = Number(await Deno.readTextFile(`${badObject}/index`));
    const offset = share.length - 100;
    await Deno.writeTextFile(`${badObject}/damaged`, JSON.stringify({ offset, found: Date.now() }));

    const spare = await recover(network, [
      TAG,
      `${out}/spare`,
      ...rootArgs([bad, ...roots.slice(1, 4)]),
    ]);
    assertEquals(spare.code, 0, spare.stderr);
    assert(spare.stderr.includes(`did not use ${bad} #${index}`), spare.stderr);
    assert(
      spare.stderr.includes(`note: ${bad} marks its share #${index} damaged at byte ${offset}`),
      spare.stderr,
    );
    assert(sameBytes(await Deno.readFile(`${out}/spare`), data), "recover around a bad share");

    const short = await recover(network, [
      TAG,
      `${out}/short`,
      ...rootArgs([bad, ...roots.slice(1, 3)]),
    ]);
    assertEquals(short.code, 4, short.stderr);
    assert(short.stderr.includes(`${bad} holds #${index}: `), short.stderr);
    assert(short.stderr.includes("failed authentication"), short.stderr);
    assertEquals(await entries(out), ["spare"], "no output and no partial file");

    // A copy of root 2 holding a deletion record of the tag: noted, not obeyed.
    const removed = `${network.dir}/removed-root`;
    await copyRoot(roots[1], removed);
    const [object] = await objectDirs(removed);
    const headerBytes = await Deno.readFile(`${object}/header`);
    const unlocked = await unlock(headerBytes, { tag: TAG, password: PASSWORD });
    const record = await makeDeletionRecord(
      headerBytes,
      await accessKeys(unlocked.keys.retrievalToken),
    );
    const tagDir = object.slice(0, object.lastIndexOf("/"));
    await Deno.writeFile(`${tagDir}/deleted`, record);
    const noted = await recover(network, [
      TAG,
      `${out}/noted`,
      ...rootArgs([removed, ...roots.slice(2, 4)]),
    ]);
    assertEquals(noted.code, 0, noted.stderr);
    assert(noted.stderr.includes(`note: ${removed} says this tag was removed`), noted.stderr);
    assert(sameBytes(await Deno.readFile(`${out}/noted`), data), "recover past a deletion record");
    const list = await recover(network, ["--list", "--json", ...rootArgs([removed])]);
    const [entry] = JSON.parse(list.stdout) as RecoverListEntry[];
    assertEquals([entry.tag, entry.removedOn, entry.shares], [TAG, [removed], 1]);
  });
});

Deno.test("recover falls back to an older object when the roots hold too few of the newest", async () => {
  await withNetwork(5, async (network) => {
    const first = prng(10_030).bytes(100 * 1024);
    const second = prng(10_031).bytes(90 * 1024);
    assertEquals((await putBytes(network, TAG, first, ["-n", "5", "-k", "3"])).code, 0);
    const roots = network.servers.map((s) => s.root);
    // Disks salvaged at different times: three still hold the first object.
    const old = roots.map((_, i) => `${network.dir}/old-${i}`);
    for (const [i, root] of roots.entries()) await copyRoot(root, old[i]);
    const replaced = await putBytes(network, TAG, second, ["-n", "5", "-k", "3", "--force"]);
    assertEquals(replaced.code, 0, replaced.stderr);
    for (const server of network.servers) await server.stop();
    const out = await workDir(network, "out");

    const newest = await recover(network, [TAG, `${out}/newest`, ...rootArgs(roots)]);
    assertEquals(newest.code, 0, newest.stderr);
    assert(sameBytes(await Deno.readFile(`${out}/newest`), second), "the newest object");

    const mixed = [...old.slice(0, 3), ...roots.slice(3)];
    const older = await recover(network, [TAG, `${out}/older`, ...rootArgs(mixed)]);
    assertEquals(older.code, 0, older.stderr);
    assert(sameBytes(await Deno.readFile(`${out}/older`), first), "the older object");
    assert(older.stderr.includes("warning: recovered an older object (version 1"), older.stderr);
    assert(older.stderr.includes("hold 2 of its 3 needed shares"), older.stderr);
    const list = await recover(network, ["--list", "--json", ...rootArgs(mixed)]);
    const [entry] = JSON.parse(list.stdout) as RecoverListEntry[];
    assertEquals([entry.version, entry.shares, entry.recoverable], [1, 3, true]);
  });
});
