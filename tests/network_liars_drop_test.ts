/**
 * A server that claims to store and drops: it answers `put-commit` with
 * success, then deletes the object it just committed. `put` cannot detect this
 * (a documented limit: a commit reply is the server's word, and nothing in the
 * protocol lets a client check that a server still holds its share before it
 * is read), so it reports the share as stored; a later `get` must still
 * succeed from the others and name the dropper as missing. When more than
 * n − k servers drop, the file is lost although `put` said "stored on 5 of 5
 * servers"; `get` then says how many shares it found of how many needed.
 */

import { assert, assertEquals } from "./assert.ts";
import { prng } from "./prng.ts";
import { lsJson, putBytes } from "./harness/client.ts";
import {
  assertRecovered,
  assertShortOfShares,
  byIndex,
  getJson,
  setLie,
  withLiarNetwork,
} from "./harness/liars.ts";

Deno.test("liars: a server that drops a committed share goes unnoticed by put (exit 0); get succeeds from the others and names it as missing", async () => {
  await withLiarNetwork(5, async (network) => {
    const random = prng(9301);
    const probe = "/liars/probe";
    assertEquals((await putBytes(network, probe, random.bytes(1000), ["-k", "3"])).code, 0);
    // Index 1 goes to the same server for every put on the same 5 servers.
    const [first] = await byIndex(network, probe);
    await setLie(first, "drop");

    const tag = "/liars/dropped";
    const data = random.bytes(1_800_000);
    const put = await putBytes(network, tag, data, ["-k", "3"]);
    assertEquals(put.code, 0, `put cannot detect the drop: ${put.stderr}`);
    assert(put.stdout.includes("on 5 of 5 servers"), put.stdout);
    const [entry] = (await lsJson(network)).filter((e) => e.tag === tag);
    assertEquals(entry.servers.length, 4, "ls shows that only 4 servers hold it");
    assert(!entry.servers.includes(`server:${first.id}`), "the liar holds nothing");

    const got = await getJson(network, tag);
    assertEquals(got.code, 0, got.stderr);
    assert(!got.summary!.servers.includes(`server:${first.id}`), "the liar was not read from");
    // Index 1 of 5 is held by no server, and the liar is the one online server
    // holding no share: it is named as missing.
    assertRecovered(got, data, [first.id], network);
  });
});

Deno.test("liars: a server that drops a new version keeps serving the old one; get takes the new one and names the liar", async () => {
  await withLiarNetwork(5, async (network) => {
    const random = prng(9302);
    const tag = "/liars/dropped-version";
    assertEquals((await putBytes(network, tag, random.bytes(600_000), ["-k", "3"])).code, 0);
    const [first] = await byIndex(network, tag);
    await setLie(first, "drop");
    const data = random.bytes(900_000);
    const put = await putBytes(network, tag, data, ["-k", "3", "--force"]);
    assertEquals(put.code, 0, `put cannot detect the drop: ${put.stderr}`);
    assert(put.stdout.includes("on 5 of 5 servers"), put.stdout);
    // The liar still holds the previous version (its prune found nothing to keep).
    assertEquals((await byIndex(network, tag)).length, 5);

    const got = await getJson(network, tag);
    assertEquals(got.code, 0, got.stderr);
    assert(got.output !== undefined && got.output.length === data.length, "the new version");
    // It answered head with only an older object of the tag: a server that should
    // hold a share of the newest object and does not is named (as missing/stale).
    assertRecovered(got, data, [first.id], network);
  });
});

Deno.test("liars: when 3 of 5 servers (k=3) drop, put still says stored on 5 of 5 and get fails saying 2 of 3 shares were found", async () => {
  await withLiarNetwork(5, async (network) => {
    const random = prng(9303);
    const probe = "/liars/probe";
    assertEquals((await putBytes(network, probe, random.bytes(1000), ["-k", "3"])).code, 0);
    const droppers = (await byIndex(network, probe)).slice(0, 3);
    for (const server of droppers) await setLie(server, "drop");

    const tag = "/liars/lost";
    const put = await putBytes(network, tag, random.bytes(300_000), ["-k", "3"]);
    assertEquals(put.code, 0, put.stderr);
    assert(put.stdout.includes("on 5 of 5 servers"), put.stdout);
    const failed = await getJson(network, tag);
    assertShortOfShares(failed, 2, 3, []);
  });
});
