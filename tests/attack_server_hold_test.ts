/**
 * Attacks on upload places that the first eviction rule of issue 9 (#5, #7)
 * did not stop; both tests failed on commit 9a79753 (the owner stored 0–2 and
 * 1–3 of 5 puts) and pass since the upload table was changed:
 *
 * 1. Recycling. An upload younger than a 2 s grace was never evicted, so an
 *    attacker that aborts each of its uploads and begins a new one before it
 *    is 2 s old (about 200 begins and as many aborts a second) held all 256
 *    places without sending a byte, and the owner's put got `busy`. Now a full
 *    table evicts the upload with the lowest recent rate, the oldest first.
 * 2. Holding a stored tag without its password. `put-begin` took the tag's
 *    place before the server looked at the tag (`exists` without a proof);
 *    while it read the tag from disk, every other begin of the tag got
 *    `in-progress`, so proof-less begins back to back (never failed proofs,
 *    never rate-limited) made the owner's `put --force` give up. Now only an
 *    upload the store has authorised takes a place.
 *
 * Real redis-server and `secshrnet serve` processes; the owner uses the real
 * CLI; the attackers are hosts with their own valid key pairs (correct MACs).
 */

import { assert, assertEquals } from "./assert.ts";
import { prng } from "./prng.ts";
import type { RunResult } from "./harness/network.ts";
import { entries, putBytes, withNetwork } from "./harness/client.ts";
import { outcome, serverAddresses, sleep, Tally, withAttackers } from "./harness/attacker.ts";
import type { Host } from "../core/net/host.ts";
import { randomBytes } from "../core/bytes.ts";
import { accessKeys } from "../core/access.ts";
import { MAX_UPLOADS, MAX_UPLOADS_PER_CLIENT } from "../server/upload_table.ts";

/** Owner's puts per test: each must succeed. */
const PUTS = 5;
/** Proof-less begins the tag holder keeps in flight to each server. */
const LANES = 8;
/** How long an attacker upload lives before it is replaced: well within the grace. */
const RECYCLE_MS = 1000;

/** `exit N: stderr` of each run, for messages. */
function summary(runs: RunResult[]): string {
  return runs.map((r) => `exit ${r.code}: ${r.stderr.trim()}`).join("\n  ");
}

Deno.test("upload places: uploads recycled every second without data cannot keep the owner's puts out", async () => {
  await withNetwork(2, async (network) => {
    const [target] = serverAddresses(network);
    const root = network.servers.find((s) => `server:${s.id}` === target)!.root;
    await withAttackers(network, async (attackers) => {
      const hosts = await attackers.connectMany(MAX_UPLOADS / MAX_UPLOADS_PER_CLIENT);
      const keys = await accessKeys(randomBytes(32));
      const begins = new Tally();
      let tags = 0;
      let stop = false;
      const begin = (host: Host) =>
        host.request(target, "put-begin", {
          tag: `/attack/hold/${++tags}`,
          objectId: randomBytes(16),
          index: 1,
          accessKey: keys.publicKey,
        });
      // 8 lanes per identity, each holding one upload: abort it, begin another, and
      // again well before the new one is 2 s old. No data is ever sent.
      const lanes = hosts.flatMap((host) =>
        Array.from({ length: MAX_UPLOADS_PER_CLIENT }, async (_, lane) => {
          await sleep((lane * RECYCLE_MS) / MAX_UPLOADS_PER_CLIENT);
          let id: string | undefined;
          while (!stop) {
            if (id !== undefined) host.send(target, "put-abort", { upload: id });
            id = undefined;
            const code = await outcome(
              begin(host).then((reply) => void (id = String(reply.upload))),
            );
            begins.add(code);
            await sleep(code === "ok" ? RECYCLE_MS : 5);
          }
          if (id !== undefined) await host.request(target, "put-abort", { upload: id });
        })
      );
      const puts: RunResult[] = [];
      const held: number[] = [];
      try {
        await sleep(2 * RECYCLE_MS);
        for (let i = 0; i < PUTS; i++) {
          held.push((await entries(`${root}/uploads`)).length);
          puts.push(
            await putBytes(network, `/attack/hold/owner/${i}`, prng(9501 + i).bytes(50_000), [
              "-k",
              "2",
            ]),
          );
        }
      } finally {
        stop = true;
        await Promise.all(lanes);
      }
      const stored = puts.filter((p) => p.code === 0).length;
      console.log(
        `recycling: ${hosts.length} identities, ${begins.total} begins (${begins}) and as many ` +
          `aborts; uploads held on the server at each put: ${held.join(", ")}; owner's puts ` +
          `stored ${stored} of ${PUTS}:\n  ${summary(puts)}`,
      );
      assert(begins.get("ok") > MAX_UPLOADS, `the attack ran: ${begins}`);
      assertEquals(stored, PUTS, `every put of the owner is stored:\n  ${summary(puts)}`);
    });
  });
});

Deno.test("upload places: password-less begins of a stored tag, answered 'exists', never keep the owner's put --force out", async () => {
  await withNetwork(3, async (network) => {
    const tag = "/attack/hold/stored";
    const first = await putBytes(network, tag, prng(9510).bytes(30_000));
    assertEquals(first.code, 0, first.stderr);
    const servers = serverAddresses(network);
    await withAttackers(network, async (attackers) => {
      const host = await attackers.connect();
      const codes = new Tally();
      let stop = false;
      // LANES requests in flight to each server (a host runs 16 of one sender at a
      // time), none with a proof.
      const lanes = servers.flatMap((server) =>
        Array.from({ length: LANES }, async () => {
          while (!stop) {
            const body = { tag, objectId: randomBytes(16), index: 1, accessKey: randomBytes(32) };
            codes.add(await outcome(host.request(server, "put-begin", body)));
          }
        })
      );
      const puts: RunResult[] = [];
      const started = Date.now();
      try {
        await sleep(1000);
        for (let i = 0; i < PUTS; i++) {
          puts.push(await putBytes(network, tag, prng(9511 + i).bytes(30_000), ["--force"]));
        }
      } finally {
        stop = true;
        await Promise.all(lanes);
      }
      const seconds = (Date.now() - started) / 1000;
      const stored = puts.filter((p) => p.code === 0).length;
      console.log(
        `tag hold: 1 identity, ${codes.total} proof-less begins to 3 servers in ` +
          `${seconds.toFixed(1)} s (${codes}); owner's put --force stored ${stored} of ` +
          `${PUTS}:\n  ${summary(puts)}`,
      );
      // The attacker never failed a proof: nothing here is rate-limited.
      assert(codes.codes().every((c) => ["exists", "in-progress"].includes(c)), `${codes}`);
      assertEquals(stored, PUTS, `every put --force of the owner is stored:\n  ${summary(puts)}`);
    });
  });
});
