/**
 * Lying servers that withhold data: one never answers `get-begin`, one stops
 * sending in the middle of its share while staying online, one sends its
 * share a chunk at a time just often enough never to look idle. None of them
 * may make `get` hang: the client gives up on them and reads spares instead.
 * Hang guards (the run is killed after them) are generous and no duration is
 * asserted.
 */

import { assert, assertEquals } from "./assert.ts";
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
import { TRICKLE_MS } from "./harness/liar.ts";
import { DOWNLOAD_CHUNK } from "../server/protocol.ts";

/** Hang guard of a get that has to wait out a silent server (20 s) twice over. */
const GUARD_MS = 90_000;

Deno.test("liars: a server that never answers get-begin and one that stops sending mid-download are given up; spares finish the get", async () => {
  await withLiarNetwork(5, async (network) => {
    const tag = "/liars/stall";
    // About 1.1 MiB per share: three 512 KiB chunks; the staller sends the first.
    const data = prng(9401).bytes(3 * 2 ** 20 + 4321);
    assertEquals((await putBytes(network, tag, data, ["-k", "3"])).code, 0);
    const [first, second] = await byIndex(network, tag);
    await setLie(first, "silent-begin");
    await setLie(second, "stall");

    const got = await getJson(network, tag, GUARD_MS);
    assertRecovered(got, data, [first.id, second.id], network);
    const reasons = rejections(got);
    assert(/no reply/.test(reasons.get(`server:${first.id}`)!), reasons.get(`server:${first.id}`));
    assert(
      /segment 1/.test(reasons.get(`server:${second.id}`)!), // where it stopped
      reasons.get(`server:${second.id}`),
    );
  });
});

Deno.test("liars: a server that trickles its share (one chunk every 15 s, never idle long enough to be dropped) cannot make get hang", async () => {
  await withLiarNetwork(5, async (network) => {
    const tag = "/liars/trickle";
    // About 4.1 MiB per share: nine chunks, over 2 minutes at the trickle's pace.
    const data = prng(9402).bytes(12 * 2 ** 20 + 99);
    const chunks = Math.ceil(data.length / 3 / DOWNLOAD_CHUNK);
    assert(chunks * TRICKLE_MS > GUARD_MS, "the trickle alone outlasts the hang guard");
    assertEquals((await putBytes(network, tag, data, ["-k", "3"])).code, 0);
    const [first] = await byIndex(network, tag);
    await setLie(first, "trickle");

    const got = await getJson(network, tag, GUARD_MS);
    assertEquals(got.code, 0, `killed by the hang guard or failed: ${got.code} ${got.stderr}`);
    assertRecovered(got, data, [first.id], network);
  });
});
