/**
 * Attack: holding every upload place of every server (issue 9, #5). Before,
 * 16 throwaway identities × 16 uploads filled a server's 256 places in under
 * a second, 1 byte per upload now and then kept them alive, and every put
 * got `busy`. Now one identity gets 8 places, and when all 256 are taken the
 * upload with the lowest recent rate (the oldest among equals) gives its
 * place to the new one, if it receives less than 64 KiB/s (its client gets
 * `put-reset` with code `evicted`): a place is kept only by sending data.
 *
 * Real redis-server and `secshrnet serve` processes; the owner uses the real
 * CLI; the attackers are hosts with their own valid key pairs (correct MACs).
 */

import { assert, assertEquals } from "./assert.ts";
import { sameBytes } from "./objects.ts";
import { prng } from "./prng.ts";
import { entries, getBytes, putBytes, waitUntil, withNetwork } from "./harness/client.ts";
import {
  outcome,
  repeat,
  serverAddresses,
  sleep,
  Tally,
  withAttackers,
} from "./harness/attacker.ts";
import type { Address } from "../core/net/envelope.ts";
import type { Host } from "../core/net/host.ts";
import { randomBytes } from "../core/bytes.ts";
import { accessKeys } from "../core/access.ts";
import { MAX_UPLOADS, MAX_UPLOADS_PER_CLIENT } from "../server/upload_table.ts";

/** Identities that, with 8 uploads each, take all 256 places of a server. */
const IDENTITIES = MAX_UPLOADS / MAX_UPLOADS_PER_CLIENT;
/** How often each attacker upload is fed its byte. */
const FEED_EVERY_MS = 2000;

/** One attacker upload in progress. */
interface Held {
  host: Host;
  server: Address;
  id: string;
  seq: number;
  /** The first `put-reset` code it got, if any. */
  reset?: string;
}

Deno.test("upload places: 32 identities × 8 trickled uploads fill every server; a 9th gets 'busy'; a 257th and the owner's put evict the oldest slow ones", async () => {
  await withNetwork(3, async (network) => {
    const servers = serverAddresses(network);
    await withAttackers(network, async (attackers) => {
      const hosts = await attackers.connectMany(IDENTITIES + 1);
      const extra = hosts.pop()!; // a 33rd identity, for a begin beyond 256
      const held = new Map<string, Held>();
      const resets = new Tally();
      for (const host of [...hosts, extra]) {
        host.listen("put-ack", () => {});
        host.listen("put-reset", (message) => {
          const upload = held.get(String(message.body.upload));
          if (upload === undefined || upload.reset !== undefined) return;
          upload.reset = String(message.body.code);
          resets.add(`${upload.reset} from ${message.from.slice(0, 23)}`);
        });
      }
      const keys = await accessKeys(randomBytes(32));
      let tags = 0;
      const begin = (host: Host, server: Address) =>
        host.request(server, "put-begin", {
          tag: `/attack/slot/${++tags}`,
          objectId: randomBytes(16),
          index: 1,
          accessKey: keys.publicKey,
        });

      // Fill one server at a time, every identity's 8 begins at once.
      const fills: string[] = [];
      for (const server of servers) {
        const started = Date.now();
        await Promise.all(
          hosts.flatMap((host) =>
            Array.from({ length: MAX_UPLOADS_PER_CLIENT }, async () => {
              const reply = await begin(host, server);
              const id = String(reply.upload);
              held.set(id, { host, server, id, seq: 0 });
            })
          ),
        );
        const filled = Date.now() - started;
        // A 9th upload of one identity: `busy`, whatever the age of the others. (Before the
        // 257th below, which may evict one of that identity's uploads.)
        const ninth = await outcome(begin(hosts[0], server));
        const beyond = await outcome(
          begin(extra, server).then((reply) => {
            const id = String(reply.upload);
            held.set(id, { host: extra, server, id, seq: 0 });
          }),
        );
        const answered = Date.now() - started;
        assertEquals(ninth, "busy", `a 9th upload of one identity on ${server}`);
        // A 257th: every place holds an upload that sent nothing, so the oldest gives way.
        assertEquals(beyond, "ok", `a 257th upload on ${server}`);
        const evictedHere = () =>
          [...held.values()].filter((u) => u.server === server && u.reset === "evicted");
        await waitUntil(
          () => Promise.resolve(evictedHere().length > 0),
          20_000,
          `an upload on ${server} evicted`,
        );
        assertEquals(evictedHere().length, 1, `one upload evicted on ${server} for the 257th`);
        const root = network.servers.find((s) => `server:${s.id}` === server)!.root;
        assertEquals((await entries(`${root}/uploads`)).length, MAX_UPLOADS);
        fills.push(`${filled} ms (257th: ${beyond} after ${answered} ms)`);
      }
      const initial = held.size;
      assertEquals(initial, servers.length * (MAX_UPLOADS + 1));

      // 1 byte now and then to every upload (each about every FEED_EVERY_MS).
      let fed = 0;
      const all = [...held.values()];
      const ticks = 20;
      const feeder = repeat(FEED_EVERY_MS / ticks, async (n) => {
        const slice = all.filter((u, i) => i % ticks === n % ticks && u.reset === undefined);
        await Promise.all(slice.map(async (upload) => {
          const data = new Uint8Array([upload.seq & 0xff]);
          await upload.host.send(upload.server, "put-data", {
            upload: upload.id,
            seq: upload.seq++,
            data,
          });
          fed++;
        }));
      }, 2);
      let putMs = 0;
      const evicted = () => all.filter((u) => u.reset === "evicted");
      try {
        await sleep(FEED_EVERY_MS + 500); // every upload has trickled its byte by now

        // The owner's default put and get, while every place is held.
        const data = prng(9201).bytes(300_000);
        const started = Date.now();
        const put = await putBytes(network, "/attack/slots/owner", data);
        putMs = Date.now() - started;
        assertEquals(put.code, 0, put.stderr);
        assert(put.stdout.includes("on 3 of 3 servers"), put.stdout);
        const get = await getBytes(network, "/attack/slots/owner");
        assertEquals(get.code, 0, get.stderr);
        assert(sameBytes(get.stdoutBytes, data), "the owner's exact bytes");

        // Each server evicted one trickled upload for the owner's (and one for the 257th),
        // and told its client so.
        await waitUntil(
          () => Promise.resolve(evicted().length >= 2 * servers.length),
          20_000,
          "put-reset 'evicted' for the uploads evicted",
        );
        await sleep(500);
        await feeder.stop();
      } finally {
        await Promise.allSettled([feeder.stop()]);
      }
      const codes = new Set(all.filter((u) => u.reset !== undefined).map((u) => u.reset));
      assertEquals([...codes], ["evicted"], `first reset of each upload: ${resets}`);
      for (const server of servers) {
        const here = evicted().filter((u) => u.server === server).length;
        assert(here >= 1, `an upload evicted on ${server}`);
      }
      assertEquals(evicted().length, 2 * servers.length, `evicted: ${resets}`);

      // Clean up: the attackers abort what they still hold; nothing stays on any server.
      const remaining = all.filter((u) => u.reset === undefined);
      const aborts = new Tally();
      await Promise.all(
        hosts.concat(extra).map(async (host) => {
          for (const upload of remaining.filter((u) => u.host === host)) {
            aborts.add(
              await outcome(host.request(upload.server, "put-abort", { upload: upload.id })),
            );
          }
        }),
      );
      assertEquals(aborts.codes(), ["ok"], `aborts: ${aborts}`);
      for (const server of network.servers) {
        await waitUntil(
          async () => (await entries(`${server.root}/uploads`)).length === 0,
          20_000,
          `uploads of ${server.name} gone`,
        );
      }
      console.log(
        `slots: ${attackers.count} identities held ${initial} uploads on ${servers.length} ` +
          `servers (filled in ${fills.join("; ")}); ${fed} one-byte chunks fed; owner's put ` +
          `exit 0 in ${putMs} ms, get identical; ${evicted().length} uploads evicted (${resets}); ` +
          `${aborts.total} aborted at the end`,
      );
    });
  });
});
