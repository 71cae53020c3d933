/**
 * Lying servers that answer with garbage: fields of the wrong type, the wrong
 * size, or out of range, in `head`, `challenge`, `get-begin` and `get-data`
 * (there also a 1.5 MiB chunk of noise where at most 256 KiB was asked for),
 * and in `info` and `list`. Each is rejected cleanly, named, and never crashes
 * or stops the client.
 */

import { assert, assertEquals } from "./assert.ts";
import { prng } from "./prng.ts";
import { putBytes } from "./harness/client.ts";
import {
  addresses,
  assertRecovered,
  byIndex,
  getJson,
  rejections,
  setLie,
  withLiarNetwork,
} from "./harness/liars.ts";
import type { LsEntry, ServerEntry } from "./harness/client.ts";

Deno.test("liars: garbage in head, challenge, get-begin and get-data replies is rejected and named (4 liars, n=7, k=3)", async () => {
  await withLiarNetwork(7, async (network) => {
    const tag = "/liars/garbage";
    const data = prng(9501).bytes(2_000_000);
    assertEquals((await putBytes(network, tag, data, ["-k", "3"])).code, 0);
    const [first, second, third, fourth] = await byIndex(network, tag);
    await setLie(first, "garbage-begin");
    await setLie(second, "garbage-challenge");
    await setLie(third, "garbage-data");
    await setLie(fourth, "garbage-head");

    const got = await getJson(network, tag);
    assertRecovered(got, data, [first, second, third, fourth].map((s) => s.id), network);
    const reasons = rejections(got);
    const reason = (server: { id: string }) => reasons.get(`server:${server.id}`) ?? "";
    assert(/size/.test(reason(first)), reason(first));
    assert(/nonce/.test(reason(second)), reason(second));
    assert(/key share/.test(reason(third)), reason(third));
    assert(/header|objects|object/.test(reason(fourth)), reason(fourth));
  });
});

Deno.test("liars: garbage in info and list replies: servers and ls still answer, list the honest servers and name the liars", async () => {
  await withLiarNetwork(5, async (network) => {
    const tag = "/liars/garbage-listing";
    const data = prng(9502).bytes(50_000);
    assertEquals((await putBytes(network, tag, data, ["-k", "3"])).code, 0);
    const [first, second] = await byIndex(network, tag);
    await setLie(first, "garbage-info");
    await setLie(second, "garbage-list");

    const servers = await network.run(["servers", "--json"]);
    assertEquals(servers.code, 0, servers.stderr);
    const listed = (JSON.parse(servers.stdout) as ServerEntry[]).map((s) => s.address).sort();
    assertEquals(listed, addresses(network.servers.filter((s) => s !== first)).sort());
    assert(servers.stderr.includes(first.name), `names the liar: ${servers.stderr}`);

    const ls = await network.run(["ls", "--json"]);
    assertEquals(ls.code, 0, ls.stderr);
    const [entry] = JSON.parse(ls.stdout) as LsEntry[];
    assertEquals([entry.tag, entry.recoverable], [tag, true]);
    assertEquals(
      entry.servers.sort(),
      addresses(network.servers.filter((s) => s !== second)).sort(),
    );
    assert(ls.stderr.includes(second.name), `names the liar: ${ls.stderr}`);

    // Neither lie touches get: the info liar serves shares honestly, the list liar too.
    const got = await getJson(network, tag);
    assertRecovered(got, data, [], network);
  });
});
