/**
 * Lying servers that serve bad content (threat model promise 3: up to n − k
 * servers may lie; `get` succeeds from the honest ones and names the servers
 * it rejected). Every server is the real server run through
 * tests/harness/liar.ts; the liars are chosen after the put among the share
 * indices `get` reads first (the k lowest), so their lies are actually read.
 *
 * - corrupted fragment frames and a forged key share;
 * - a stale object (the previous version of the tag) and a foreign object
 *   (another tag's manifest, key share and frames) served for the newest one;
 * - with fewer than k honest servers, `get` fails with exit 4, saying how many
 *   shares it found of how many needed and naming the rejected servers, and
 *   leaves no file.
 */

import { assert, assertEquals } from "./assert.ts";
import { prng } from "./prng.ts";
import { getBytes, putBytes } from "./harness/client.ts";
import {
  assertRecovered,
  assertShortOfShares,
  byIndex,
  getJson,
  rejections,
  setLie,
  withLiarNetwork,
} from "./harness/liars.ts";

Deno.test("liars: corrupted fragments and a forged key share are rejected and named; 3 liars of 5 (k=3) fail the get", async () => {
  await withLiarNetwork(5, async (network) => {
    const tag = "/liars/content";
    const data = prng(9101).bytes(3 * 2 ** 20 + 1234); // 4 segments
    const put = await putBytes(network, tag, data, ["-k", "3"]);
    assertEquals(put.code, 0, put.stderr);
    const [first, second, third] = await byIndex(network, tag);
    await setLie(first, "corrupt-fragment");
    await setLie(second, "forge-key-share");

    const got = await getJson(network, tag);
    assertRecovered(got, data, [first.id, second.id], network);
    const reasons = rejections(got);
    assert(/fragment/.test(reasons.get(`server:${first.id}`)!), reasons.get(`server:${first.id}`));
    assert(
      /key share/.test(reasons.get(`server:${second.id}`)!),
      reasons.get(`server:${second.id}`),
    );

    await setLie(third, "corrupt-fragment");
    const failed = await getJson(network, tag);
    assertShortOfShares(failed, 2, 3, [first.id, second.id, third.id]);
  });
});

Deno.test("liars: a stale object (the tag's older version) and a foreign object (another tag's) are rejected and named", async () => {
  await withLiarNetwork(5, async (network) => {
    const random = prng(9102);
    const tag = "/liars/versions";
    const other = random.bytes(1_500_000);
    const old = random.bytes(1_200_000);
    const fresh = random.bytes(1_300_000);
    assertEquals((await putBytes(network, "/liars/other", other, ["-k", "3"])).code, 0);
    assertEquals((await putBytes(network, tag, old, ["-k", "3"])).code, 0);
    const [first, second, third] = await byIndex(network, tag);
    // The stale liar keeps the old version (it answers prune without pruning).
    await setLie(first, "stale");
    await setLie(second, "foreign");
    const put = await putBytes(network, tag, fresh, ["-k", "3", "--force"]);
    assertEquals(put.code, 0, put.stderr);

    const got = await getJson(network, tag);
    assertRecovered(got, fresh, [first.id, second.id], network);
    for (const [server, reason] of rejections(got)) {
      assert(/manifest/.test(reason), server + reason);
    }

    await setLie(third, "foreign");
    const failed = await getJson(network, tag);
    assertShortOfShares(failed, 2, 3, [first.id, second.id, third.id]);

    // The other tag is untouched by all this (its liars serve it honestly).
    for (const server of [first, second, third]) await setLie(server, "honest");
    const back = await getJson(network, "/liars/other");
    assertRecovered(back, other, [], network);
  });
});

Deno.test("liars: shares that go bad only in the last segment: 2 liars are replaced there by spares; 3 fail the get with exit 4 and no file", async () => {
  await withLiarNetwork(5, async (network) => {
    const tag = "/liars/late";
    const data = prng(9103).bytes(4 * 2 ** 20 + 77); // 5 segments of 1 MiB
    assertEquals((await putBytes(network, tag, data, ["-k", "3"])).code, 0);
    const liars = (await byIndex(network, tag)).slice(0, 3);
    await setLie(liars[0], "corrupt-last-segment");
    await setLie(liars[1], "corrupt-last-segment");

    const got = await getJson(network, tag);
    assertRecovered(got, data, [liars[0].id, liars[1].id], network);
    for (const [server, reason] of rejections(got)) {
      assert(/segment 4/.test(reason), server + reason);
    }

    await setLie(liars[2], "corrupt-last-segment");
    const failed = await getJson(network, tag);
    assertShortOfShares(failed, 2, 3, liars.map((s) => s.id));
    // To standard output, the first four segments are out before the fifth
    // fails: the exit code is what says the output is incomplete.
    const piped = await getBytes(network, tag);
    assertEquals(piped.code, 4, piped.stderr);
    assert(piped.stderr.includes("found 2 of 3 needed shares"), piped.stderr);
    assert(piped.stdoutBytes.length < data.length, `${piped.stdoutBytes.length} bytes out`);
  });
});
