/**
 * Lying servers that lie in their replies rather than in share content:
 * `head` answers for another tag, a forged newer header, duplicate replies and
 * data chunks (the second copy forged), and replies sent in answer to requests
 * the client made to other servers. Every server is the real server run
 * through tests/harness/liar.ts.
 */

import { assert, assertEquals } from "./assert.ts";
import { sameBytes } from "./objects.ts";
import { prng } from "./prng.ts";
import { putBytes } from "./harness/client.ts";
import {
  assertRecovered,
  byIndex,
  getJson,
  rejections,
  setLie,
  withLiarNetwork,
} from "./harness/liars.ts";

Deno.test("liars: head answered with another tag's headers, and with a forged newer header, does not stop get; both liars are named", async () => {
  await withLiarNetwork(5, async (network) => {
    const random = prng(9201);
    const tag = "/liars/heads";
    const data = random.bytes(1_100_000);
    assertEquals((await putBytes(network, "/liars/elsewhere", random.bytes(9000))).code, 0);
    assertEquals((await putBytes(network, tag, data, ["-k", "3"])).code, 0);
    const [first, second] = await byIndex(network, tag);
    await setLie(first, "foreign-head");
    await setLie(second, "forge-header");
    const got = await getJson(network, tag);
    assertRecovered(got, data, [first.id, second.id], network);
  });
});

Deno.test("liars: with k=2 of 5, three servers forging a newer header cannot hide the object the two honest servers hold", async () => {
  await withLiarNetwork(5, async (network) => {
    const tag = "/liars/forged-newer";
    const data = prng(9202).bytes(700_000);
    assertEquals((await putBytes(network, tag, data, ["-k", "2"])).code, 0);
    const liars = (await byIndex(network, tag)).slice(0, 3);
    for (const liar of liars) await setLie(liar, "forge-header");
    // n − k = 3 liars: promise 3 says get still succeeds from the 2 honest servers.
    const got = await getJson(network, tag);
    assertRecovered(got, data, liars.map((s) => s.id), network);
  });
});

Deno.test("liars: duplicate replies and duplicate data chunks (the second copy forged) change nothing, for put or get", async () => {
  await withLiarNetwork(5, async (network) => {
    const random = prng(9203);
    const tag = "/liars/duplicates";
    assertEquals((await putBytes(network, tag, random.bytes(5000), ["-k", "3"])).code, 0);
    const [first, second] = await byIndex(network, tag);
    await setLie(first, "duplicate");
    await setLie(second, "duplicate");
    const data = random.bytes(2_500_000);
    const put = await putBytes(network, tag, data, ["-k", "3", "--force"]);
    assertEquals(put.code, 0, put.stderr);
    assert(put.stdout.includes("on 5 of 5 servers"), put.stdout);

    // The first copy of every reply and chunk is genuine and is the one taken:
    // the duplicating servers are used, not rejected.
    const got = await getJson(network, tag);
    assertRecovered(got, data, [], network);
    for (const server of [first, second]) {
      assert(got.summary!.servers.includes(`server:${server.id}`), `${server.id} was read from`);
    }
    assertEquals(rejections(got).size, 0);
  });
});

Deno.test("liars: a server answering the requests the client sent to other servers cannot stop get", async () => {
  await withLiarNetwork(5, async (network) => {
    const tag = "/liars/hijack";
    const data = prng(9204).bytes(800_000);
    assertEquals((await putBytes(network, tag, data, ["-k", "3"])).code, 0);
    const [first] = await byIndex(network, tag);
    await setLie(first, "hijack");
    // Its forged `not-found` errors carry the ids of the requests sent to the
    // four honest servers; the client must take replies only from the server asked.
    const got = await getJson(network, tag);
    assertEquals(got.code, 0, `${got.stdout}${got.stderr}`);
    assert(got.output !== undefined && sameBytes(got.output, data), "the exact original bytes");
    // Its forgeries may also hit its own later requests, so it may be rejected
    // itself; no honest server may be.
    for (const server of rejections(got).keys()) {
      assertEquals(server, `server:${first.id}`, `only the liar is rejected: ${got.stderr}`);
    }
  });
});

Deno.test("liars: a server answering the requests the client sent to other servers cannot stop put", async () => {
  await withLiarNetwork(5, async (network) => {
    const random = prng(9205);
    const probe = "/liars/probe";
    assertEquals((await putBytes(network, probe, random.bytes(1000), ["-k", "3"])).code, 0);
    const [first] = await byIndex(network, probe);
    await setLie(first, "hijack");
    const data = random.bytes(400_000);
    const put = await putBytes(network, "/liars/hijacked-put", data, ["-k", "3", "--json"]);
    // Its forgeries may hit its own requests too (then it stores nothing: exit 3);
    // every honest server must store its share.
    assert(put.code === 0 || put.code === 3, `exit ${put.code}: ${put.stdout}${put.stderr}`);
    const result = JSON.parse(put.stdout) as { servers: { server: string; stored: boolean }[] };
    const honest = result.servers.filter((s) => s.server !== `server:${first.id}`);
    assertEquals(honest.length, 4);
    for (const s of honest) assert(s.stored, `${s.server} stored its share: ${put.stdout}`);
  });
});
