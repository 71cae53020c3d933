/**
 * Attack: deletion records (issue 10). Anyone who can publish on the Redis
 * server, with a valid key pair of its own and correctly MAC'd messages,
 * tries to delete a tag it does not own: `forget` with a record naming the
 * real object but signed with its own key, `rm` with such a record, and a
 * replay of the owner's real record (which any `head` shows) after the tag
 * was stored again. Servers check records under the access key they stored,
 * so none of it deletes anything, and the owner's data stays retrievable.
 *
 * Real redis-server and `secshrnet serve` processes; the owner through the CLI.
 */

import { assertEquals } from "./assert.ts";
import { sameBytes } from "./objects.ts";
import { prng } from "./prng.ts";
import { getBytes, lsJson, objectDirs, putBytes, PW, withNetwork } from "./harness/client.ts";
import { outcome, serverAddresses, withAttackers } from "./harness/attacker.ts";
import { accessKeys } from "../core/access.ts";
import { randomBytes } from "../core/bytes.ts";
import { makeDeletionRecord } from "../core/deletion.ts";
import type { Host } from "../core/net/host.ts";
import type { Address } from "../core/net/envelope.ts";

async function newestHeader(host: Host, server: Address, tag: string): Promise<Uint8Array> {
  const head = await host.request(server, "head", { tag });
  return (head.objects as { header: Uint8Array }[])[0].header.slice();
}

Deno.test("forged deletion records (forget and rm) and a replayed one delete nothing", async () => {
  await withNetwork(3, async (network) => {
    const tag = "/attack/deletion";
    const data = prng(3001).bytes(150_000);
    assertEquals((await putBytes(network, tag, data, ["-k", "2"])).code, 0);
    const servers = serverAddresses(network);
    await withAttackers(network, async (attackers) => {
      const attacker = await attackers.connect();
      const header = await newestHeader(attacker, servers[0], tag);
      const forged = await makeDeletionRecord(header, await accessKeys(randomBytes(32)));
      const forgets = await Promise.all(
        servers.map((s) => outcome(attacker.request(s, "forget", { tag, record: forged }))),
      );
      assertEquals(forgets, ["forbidden", "forbidden", "forbidden"]);
      // rm needs a proof of access as well as the record: a made-up one is refused.
      const rm = await outcome(attacker.request(servers[0], "rm", {
        tag,
        record: forged,
        nonce: randomBytes(32),
        proof: randomBytes(64),
      }));
      assertEquals(["forbidden", "expired"].includes(rm), true, rm);
    });
    for (const server of network.servers) assertEquals((await objectDirs(server.root)).length, 1);
    assertEquals((await lsJson(network)).map((e) => e.tag), [tag]);
    const get = await getBytes(network, tag);
    assertEquals(get.code, 0, get.stderr);
    assertEquals(sameBytes(get.stdoutBytes, data), true);

    // The owner removes the tag and stores it again; the old record, public in head
    // replies, is replayed against the new object: it names another object.
    let record: Uint8Array | undefined;
    assertEquals((await network.run(["rm", tag], { env: PW })).code, 0);
    await withAttackers(network, async (attackers) => {
      const attacker = await attackers.connect();
      const head = await attacker.request(servers[1], "head", { tag });
      record = (head.deleted as Uint8Array).slice();
    });
    const fresh = prng(3002).bytes(90_000);
    assertEquals((await putBytes(network, tag, fresh, ["-k", "2"])).code, 0);
    await withAttackers(network, async (attackers) => {
      const attacker = await attackers.connect();
      const replays = await Promise.all(
        servers.map((s) => outcome(attacker.request(s, "forget", { tag, record }))),
      );
      assertEquals(replays, ["not-found", "not-found", "not-found"]);
    });
    const again = await getBytes(network, tag);
    assertEquals(again.code, 0, again.stderr);
    assertEquals(sameBytes(again.stdoutBytes, fresh), true);
  });
});
