/**
 * Attack (or accident): two puts of one new tag at once (issue 9, #7).
 * Before, the loser exited 1 but its share stayed committed on one server,
 * and afterwards the winner's `put --force` was refused as a wrong password:
 * the tag was wedged. Now a server takes one upload of a tag at a time, a
 * put that meets another (`in-progress`) backs off and tries again, and a put
 * that commits on fewer than k servers withdraws what it committed.
 *
 * Real redis-server and `secshrnet serve` processes (the withdraw test runs
 * the real server through tests/harness/liar.ts), clients through the CLI.
 */

import { assert, assertEquals } from "./assert.ts";
import { sameBytes } from "./objects.ts";
import { prng } from "./prng.ts";
import type { RunResult, TestNetwork } from "./harness/network.ts";
import {
  entries,
  FAST,
  getBytes,
  inputFile,
  lsJson,
  objectDirs,
  putBytes,
  PW,
  withNetwork,
} from "./harness/client.ts";
import { setLie, withLiarNetwork } from "./harness/liars.ts";
import { tagHash } from "../server/paths.ts";

/** The committed object directories of `tag` on the server under `root`. */
async function tagObjects(root: string, tag: string): Promise<string[]> {
  const hash = await tagHash(tag);
  return (await objectDirs(root)).filter((dir) => dir.includes(`/${hash}/`));
}

/** The object id (hex) at the end of an object directory's name. */
function objectIdOf(dir: string): string {
  return dir.slice(dir.lastIndexOf("-") + 1);
}

/**
 * What a put that lost the race may say: someone else stored the tag, or is
 * storing it; or, when it began while the winner's commits were being written
 * (a server frees the tag's place before its commit is visible), that its
 * commits met the winner's object (`conflict`), so nothing of it was stored.
 */
const LOSER = new RegExp(
  "created by someone else meanwhile|was stored by another put meanwhile|" +
    "another put of .* is in progress|exists on \\d+ trusted servers|changed while this put|" +
    "only \\d+ of the \\d+ servers needed stored their share; nothing new is recoverable \\(" +
    "([0-9a-f]{16}: conflict: the tag changed while uploading; try again(; )?)+\\)$",
);

/** Whether `stderr` is one line of secshrnet's. */
function oneLine(stderr: string): boolean {
  const lines = stderr.trim().split("\n");
  return lines.length === 1 && lines[0].startsWith("secshrnet: ");
}

/**
 * `rounds` rounds, each of a new tag: two `put --json` of it with different
 * passwords and data, started together, with `extra` arguments. Checks each
 * round as the module documentation says; returns what the losers printed.
 */
async function race(
  network: TestNetwork,
  name: string,
  rounds: number,
  extra: string[],
): Promise<string[]> {
  const random = prng(9301 + rounds * 7 + network.servers.length);
  const outcomes: string[] = [];
  for (let round = 1; round <= rounds; round++) {
    const tag = `/attack/race/${name}/${round}`;
    const sides = ["a", "b"].map((who) => ({
      env: { SECSHRNET_PASSWORD: `password of ${who} in round ${round}` },
      data: random.bytes(50_000 + round * 1000),
    }));
    const files = await Promise.all(sides.map((side) => inputFile(network, side.data)));
    const runs: RunResult[] = await Promise.all(
      sides.map((side, i) =>
        network.run(["put", tag, files[i], ...FAST, ...extra, "--json"], {
          env: side.env,
          timeoutMs: 90_000,
        })
      ),
    );
    const what = runs.map((r, i) => `${"ab"[i]}: exit ${r.code}: ${r.stderr.trim()}`).join("\n");
    const winners = runs.flatMap((r, i) => [0, 3].includes(r.code) ? [i] : []);
    assertEquals(winners.length, 1, `round ${round}: exactly one winner\n${what}`);
    const [w] = winners;
    const [winner, loser] = [sides[w], sides[1 - w]];
    const lost = runs[1 - w];
    assert(lost.code !== 0 && lost.code !== 3, `round ${round}: the loser failed\n${what}`);
    assert(oneLine(lost.stderr), `round ${round}: the loser says why in one line\n${what}`);
    assert([1, 6].includes(lost.code), `round ${round}: exit 6 (exists) or 1\n${what}`);
    assert(
      LOSER.test(lost.stderr.trim()),
      `round ${round}: the loser says the tag was taken\n${what}`,
    );
    // With --json, the failure as one object (cli/exit.ts failureJson), not a result.
    assertEquals(JSON.parse(lost.stdout).exit, lost.code, what);
    outcomes.push(`exit ${lost.code}: ${lost.stderr.trim()}`);

    // Every server holds the winner's object only (exit 0: every server holds it).
    const stored = JSON.parse(runs[w].stdout) as { objectId: string; servers: unknown[] };
    for (const server of network.servers) {
      const dirs = await tagObjects(server.root, tag);
      if (runs[w].code === 0) assertEquals(dirs.length, 1, `${server.name}: ${dirs}`);
      assert(dirs.length <= 1, `${server.name}: one object of ${tag}: ${dirs}`);
      for (const dir of dirs) assertEquals(objectIdOf(dir), stored.objectId, dir);
      assertEquals(await entries(`${server.root}/uploads`), [], `${server.name}: no upload left`);
    }
    const wrong = await getBytes(network, tag, loser.env);
    assertEquals(wrong.code, 5, `get with the loser's password: ${wrong.stderr}`);
    const right = await getBytes(network, tag, winner.env);
    assertEquals(right.code, 0, right.stderr);
    assert(sameBytes(right.stdoutBytes, winner.data), `round ${round}: the winner's bytes`);

    // The tag is not wedged: the winner replaces it, then removes it.
    const next = random.bytes(20_000);
    const forced = await putBytes(network, tag, next, [...extra, "--force"], winner.env);
    assertEquals(forced.code, 0, `the winner's put --force: ${forced.stderr}`);
    const again = await getBytes(network, tag, winner.env);
    assert(sameBytes(again.stdoutBytes, next), again.stderr);
    const rm = await network.run(["rm", tag], { env: winner.env, timeoutMs: 60_000 });
    assertEquals(rm.code, 0, `the winner's rm: ${rm.stderr}`);
    for (const server of network.servers) {
      assertEquals(await tagObjects(server.root, tag), [], `${server.name} after rm`);
    }
  }
  return outcomes;
}

Deno.test("race: two puts of one new tag at once on 3 servers (default k): one wins, the other fails cleanly, nothing wedged", async () => {
  await withNetwork(3, async (network) => {
    const losers = await race(network, "n3", 4, []);
    console.log(`race, 3 servers, k = 2, 4 rounds; the losers:\n  ${losers.join("\n  ")}`);
  });
});

Deno.test("race: two puts of one new tag at once on 4 servers with -k 2 (a 2/2 split is possible): one wins, nothing wedged", async () => {
  await withNetwork(4, async (network) => {
    const losers = await race(network, "n4", 4, ["-k", "2"]);
    console.log(`race, 4 servers, k = 2, 4 rounds; the losers:\n  ${losers.join("\n  ")}`);
  });
});

Deno.test("withdraw: a put that commits on fewer than k servers takes its share back; the older object stays, readable", async () => {
  await withLiarNetwork(3, async (network) => {
    const tag = "/attack/race/withdraw";
    const random = prng(9311);
    const old = random.bytes(60_000);
    const first = await putBytes(network, tag, old);
    assertEquals(first.code, 0, first.stderr);
    const before = await Promise.all(network.servers.map((s) => tagObjects(s.root, tag)));
    for (const dirs of before) assertEquals(dirs.length, 1, String(dirs));

    // Two of the three refuse to commit; k = 3, so only one commit can succeed.
    const [honest, ...liars] = network.servers;
    for (const liar of liars) await setLie(liar, "refuse-commit");
    const put = await putBytes(network, tag, random.bytes(70_000), ["-k", "3", "--force"]);
    assertEquals(put.code, 1, put.stderr);
    assert(oneLine(put.stderr), put.stderr);
    assert(put.stderr.includes("nothing new is recoverable"), put.stderr);
    assert(!put.stderr.includes("could not be withdrawn"), put.stderr);
    for (const liar of liars) assert(put.stderr.includes(liar.name), `names ${liar.name}`);

    // The honest server committed the new object, and it was withdrawn: each server
    // holds exactly what it held before, and no upload is left anywhere.
    const after = await Promise.all(network.servers.map((s) => tagObjects(s.root, tag)));
    assertEquals(after, before, "every server holds the older object only");
    for (const server of network.servers) {
      assertEquals(await entries(`${server.root}/uploads`), [], `${server.name}: no upload left`);
    }
    // It did commit (its log says so, and the put counted 1 stored), then withdrew.
    assert(put.stderr.includes("only 1 of the 3 servers needed stored"), put.stderr);
    const log = await Deno.readTextFile(`${honest.root}/secshrnetd.log`);
    const lines = (what: string) => log.split("\n").filter((l) => l.includes(what)).length;
    assertEquals(lines(`committed ${JSON.stringify(tag)}`), 2, log);
    assertEquals(lines(`withdrew an object of ${JSON.stringify(tag)}`), 1, log);
    for (const liar of liars) {
      const text = await Deno.readTextFile(`${liar.root}/secshrnetd.log`);
      assert(!text.includes("withdrew"), `nothing to withdraw on ${liar.name}: ${text}`);
    }
    console.log(`withdraw: put exit 1: ${put.stderr.trim()}`);

    // The older object is still the tag's, and readable (the liars still lie on commit).
    const get = await getBytes(network, tag, PW);
    assertEquals(get.code, 0, get.stderr);
    assert(sameBytes(get.stdoutBytes, old), "the older object's bytes");
    const listed = await lsJson(network);
    assertEquals(listed.map((e) => [e.tag, e.size, e.servers.length]), [[tag, old.length, 3]]);
  });
});
