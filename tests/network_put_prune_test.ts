/**
 * After a put commits on k servers or more, the client prunes the older
 * objects of the tag, and only where there can be one: on the servers whose
 * upload replaced an object. Seen from a subscriber to every channel, as any
 * Redis user could, and checked on the servers' disks.
 */

import { assertEquals } from "./assert.ts";
import { prng } from "./prng.ts";
import { objectDirs, putBytes, withNetwork } from "./harness/client.ts";
import { decodeEnvelope, type Envelope } from "../core/net/envelope.ts";
import { Redis } from "ioredis";

Deno.test("a put prunes older objects only on the servers it replaced them on", async () => {
  await withNetwork(3, async (network) => {
    const random = prng(4711);
    const sniffer = new Redis(network.redis.url, { lazyConnect: true });
    const seen: { to: string; envelope: Envelope }[] = [];
    try {
      await sniffer.connect();
      sniffer.on(
        "pmessageBuffer",
        (_pattern: unknown, channel: Uint8Array, message: Uint8Array) => {
          try {
            const to = new TextDecoder().decode(channel).slice("secshrnet:".length);
            seen.push({ to, envelope: decodeEnvelope(new Uint8Array(message)) });
          } catch {
            // Not an envelope: nothing the client sent.
          }
        },
      );
      await sniffer.psubscribe("secshrnet:*");
      const sentTo = async (type: string) => {
        // The sniffer's own connection may lag the client's exit by a moment.
        await new Promise((resolve) => setTimeout(resolve, 200));
        const servers = seen.filter(({ envelope }) => envelope.type === type).map(({ to }) => to);
        seen.length = 0;
        return servers.sort();
      };
      const address = (i: number) => `server:${network.servers[i].id}`;
      const holding = async () => {
        const held = [];
        for (const [i, server] of network.servers.entries()) {
          const dirs = await objectDirs(server.root);
          if (dirs.length > 0) held.push({ server: address(i), objects: dirs.length });
        }
        return held.sort((a, b) => a.server.localeCompare(b.server));
      };

      // A new tag, on two servers of three: nothing older anywhere, so no prune is sent.
      const tag = "/prune/tag";
      const first = await putBytes(network, tag, random.bytes(5000), ["-k", "2", "-n", "2"]);
      assertEquals(first.code, 0, first.stderr);
      assertEquals(await sentTo("prune"), []);
      const holders = (await holding()).map((h) => h.server);
      assertEquals(holders.length, 2);

      // Replaced on all three: the two that held the tag are pruned, the third is not.
      const second = await putBytes(network, tag, random.bytes(6000), ["-k", "2", "--force"]);
      assertEquals(second.code, 0, second.stderr);
      assertEquals(await sentTo("prune"), holders);
      assertEquals(
        await holding(),
        [0, 1, 2].map((i) => ({ server: address(i), objects: 1 }))
          .sort((a, b) => a.server.localeCompare(b.server)),
      );

      // Replaced again on all three: every server is pruned.
      const third = await putBytes(network, tag, random.bytes(7000), ["-k", "2", "--force"]);
      assertEquals(third.code, 0, third.stderr);
      assertEquals(await sentTo("prune"), [0, 1, 2].map(address).sort());
      assertEquals((await holding()).map((h) => h.objects), [1, 1, 1]);
    } finally {
      await sniffer.quit();
    }
  });
});
