/**
 * Attack: ghost servers (issue 9, case 3). A server is found by its channel
 * `secshrnet:server:<id>` having a subscriber, and anyone on Redis can
 * subscribe to any channel. Before trust, one `redis-cli SUBSCRIBE` to 3
 * made-up server channels made every default put fail ("k=4 servers are
 * needed but only 3 answered"), and get and ls wait for the ghosts (9.3 s
 * instead of 1.7 s).
 *
 * Here a raw ioredis connection subscribes to made-up channels and counts
 * what it receives: put, get, ls and rm never send anything to an untrusted
 * channel, and a default put stores on the 3 trusted servers. A ghost on a
 * TRUSTED server's channel (the server away) is asked, does not answer, and
 * is named and not counted: the put stores on the others and exits 3.
 */

import { Redis } from "ioredis";
import { assert, assertEquals } from "./assert.ts";
import { sameBytes } from "./objects.ts";
import { prng } from "./prng.ts";
import { startNetwork, type TestNetwork } from "./harness/network.ts";
import {
  closeSettled,
  getBytes,
  lsJson,
  objectDirs,
  putBytes,
  PW,
  withNetwork,
} from "./harness/client.ts";
import { toHex } from "../core/bytes.ts";

/** A raw Redis connection subscribed to `channels`, counting the messages each receives. */
async function ghost(network: TestNetwork, channels: string[]) {
  const connection = new Redis(network.redis.url, { lazyConnect: true });
  await connection.connect();
  const received = new Map<string, number>();
  connection.on("messageBuffer", (channel: Buffer) => {
    const name = channel.toString();
    received.set(name, (received.get(name) ?? 0) + 1);
  });
  await connection.subscribe(...channels);
  return {
    /** Messages received on all its channels. */
    total: () => [...received.values()].reduce((sum, count) => sum + count, 0),
    received,
    close: async () => void await connection.quit(),
  };
}

/** Subscriber counts of `channels` (PUBSUB NUMSUB), as the harness's Redis user sees them. */
async function subscribers(network: TestNetwork, channels: string[]): Promise<number[]> {
  const reply = await network.redis.command("PUBSUB", "NUMSUB", ...channels);
  if (!Array.isArray(reply)) throw new Error(`PUBSUB NUMSUB answered ${reply}`);
  return reply.filter((_, i) => i % 2 === 1).map(Number);
}

/** Runs a client command and prints how long it took (for the docs; never asserted). */
async function timed<T>(what: string, run: () => Promise<T>): Promise<T> {
  const started = Date.now();
  try {
    return await run();
  } finally {
    console.log(`${what}: ${Date.now() - started} ms`);
  }
}

Deno.test("ghosts: 3 made-up server channels are never sent anything; put, get, ls and rm work on the 3 trusted servers", async () => {
  await withNetwork(3, async (network) => {
    const channels = [0, 1, 2].map(() =>
      `secshrnet:server:${toHex(crypto.getRandomValues(new Uint8Array(32)))}`
    );
    const ghosts = await ghost(network, channels);
    try {
      // The ghosts are "online" as any discovering client sees them: 6 server channels.
      await network.waitForServers(6);
      assertEquals(await subscribers(network, channels), [1, 1, 1]);

      const data = prng(9301).bytes(150_000);
      const put = await timed("put (3 ghosts online)", () => putBytes(network, "/ghost/a", data));
      assertEquals(put.code, 0, put.stderr);
      assert(put.stdout.includes("on 3 of 3 servers; any 2 rebuild it"), put.stdout);
      for (const server of network.servers) {
        assertEquals((await objectDirs(server.root)).length, 1, `${server.name} holds a share`);
      }

      const get = await timed("get (3 ghosts online)", () => getBytes(network, "/ghost/a"));
      assertEquals(get.code, 0, get.stderr);
      assert(sameBytes(get.stdoutBytes, data), "get returns the file byte for byte");

      const listed = await timed("ls (3 ghosts online)", () => lsJson(network));
      assertEquals(listed.map((t) => [t.tag, t.size, t.recoverable, t.servers.length]), [
        ["/ghost/a", data.length, true, 3],
      ]);

      const second = await putBytes(network, "/ghost/b", prng(9302).bytes(3000));
      assertEquals(second.code, 0, second.stderr);
      const rm = await timed(
        "rm (3 ghosts online)",
        () => network.run(["rm", "/ghost/b"], { env: PW }),
      );
      assertEquals(rm.code, 0, rm.stderr);
      assert(rm.stdout.includes("from 3 servers"), rm.stdout);
      assertEquals((await lsJson(network)).map((t) => t.tag), ["/ghost/a"]);

      // Everything published before this marker has reached the ghost connection by
      // the time the marker does: the count below is final.
      await network.redis.command("PUBLISH", channels[0], "marker");
      const deadline = Date.now() + 10_000;
      while (ghosts.total() < 1 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      assertEquals(ghosts.total(), 1, "the ghosts received nothing but the test's marker");
    } finally {
      await closeSettled(ghosts);
    }
  });
});

Deno.test("ghost on a trusted server's channel: not counted, named, put stores on the others (exit 3), get works", async () => {
  const network = await startNetwork(4);
  let impostor: Awaited<ReturnType<typeof ghost>> | undefined;
  try {
    const before = prng(9311).bytes(120_000);
    const first = await putBytes(network, "/ghost/before", before, ["-k", "3"]);
    assertEquals(first.code, 0, first.stderr);
    assert(first.stdout.includes("on 4 of 4 servers; any 3 rebuild it"), first.stdout);

    // The trusted server goes away and someone subscribes to its channel in its place.
    const away = network.servers[3];
    const others = network.servers.slice(0, 3);
    await away.stop();
    await network.waitForServers(3);
    const channel = `secshrnet:server:${away.id}`;
    impostor = await ghost(network, [channel]);
    await network.waitForServers(4);

    const data = prng(9312).bytes(150_000);
    const put = await timed(
      "put (a ghost on a trusted channel)",
      () => putBytes(network, "/ghost/after", data),
    );
    assertEquals(put.code, 3, put.stderr);
    assert(put.stdout.includes("on 3 of 4 servers; any 2 rebuild it"), put.stdout);
    const warning = put.stderr.split("\n").find((line) => line.includes("reduced redundancy"));
    assert(warning !== undefined, `a reduced-redundancy warning: ${put.stderr}`);
    assert(warning.includes(away.name), `the warning names ${away.name}: ${put.stderr}`);
    console.log(warning);
    for (const server of others) assert(!warning.includes(server.name), put.stderr);
    // The client did ask the ghost (that is how it found it silent).
    assert((impostor.received.get(channel) ?? 0) > 0, "the ghost was asked");
    for (const server of others) {
      assertEquals((await objectDirs(server.root)).length, 2, `${server.name} holds both tags`);
    }

    const json = await timed("ls (a ghost on a trusted channel)", () => lsJson(network));
    const after = json.find((t) => t.tag === "/ghost/after");
    assertEquals([after?.k, after?.n, after?.recoverable], [2, 3, true], JSON.stringify(json));
    assertEquals(
      after!.servers.map((a) => a.slice("server:".length)).sort(),
      others.map((s) => s.id).sort(),
    );

    // A shorter --timeout gives the silent server up sooner (3 attempts of 1 s).
    const get = await timed(
      "get --timeout 3 (a ghost on a trusted channel)",
      () => getBytes(network, "/ghost/after", PW, ["--timeout", "3"]),
    );
    assertEquals(get.code, 0, get.stderr);
    assert(sameBytes(get.stdoutBytes, data), "get returns the new file byte for byte");
    // The object stored while the server was there: 3 of its 4 holders answer, k = 3.
    const old = await timed(
      "get --timeout 3 of the older tag (a ghost on a trusted channel)",
      () => getBytes(network, "/ghost/before", PW, ["--timeout", "3"]),
    );
    assertEquals(old.code, 0, old.stderr);
    assert(sameBytes(old.stdoutBytes, before), "get returns the older file byte for byte");
  } finally {
    if (impostor !== undefined) await closeSettled(impostor);
    await network.stop();
  }
});
