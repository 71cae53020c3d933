/**
 * What survives: objects across server restarts (SIGTERM and SIGKILL right
 * after a put), servers across a Redis restart (they resubscribe on their
 * own), and two clients putting at once.
 */

import { assert, assertEquals } from "./assert.ts";
import { sameBytes } from "./objects.ts";
import { prng } from "./prng.ts";
import {
  entries,
  FAST,
  getBytes,
  inputFile,
  lsJson,
  objectDirs,
  putBytes,
  PW,
  serversJson,
  waitForServers,
  withNetwork,
} from "./harness/client.ts";

Deno.test("objects survive stopping and restarting every server, and a SIGKILL right after a put", async () => {
  await withNetwork(5, async (network) => {
    const random = prng(7401);
    const data = random.bytes(1_500_000);
    const put = await putBytes(network, "/durable/restart", data, ["-k", "3"]);
    assertEquals(put.code, 0, put.stderr);

    await Promise.all(network.servers.map((s) => s.stop()));
    await network.waitForServers(0);
    const none = await getBytes(network, "/durable/restart");
    assertEquals(none.code, 1, none.stderr);
    assert(none.stderr.includes("none of the 5 trusted servers is online"), none.stderr);
    for (const server of network.servers) await server.restart();
    await network.waitForServers(5);
    const ids = (await serversJson(network)).map((s) => s.id).sort();
    assertEquals(ids, network.servers.map((s) => s.id).sort(), "same server ids after restart");
    const get = await getBytes(network, "/durable/restart");
    assertEquals(get.code, 0, get.stderr);
    assert(sameBytes(get.stdoutBytes, data), "rebuilt after a restart of every server");

    // SIGKILL one server the moment a put has returned, restart it, and make
    // the get depend on it: only it and two others are online.
    const second = random.bytes(700_000);
    const victim = network.servers[0];
    const fresh = await putBytes(network, "/durable/killed", second, ["-k", "3"]);
    assertEquals(fresh.code, 0, fresh.stderr);
    await victim.signal("SIGKILL");
    await victim.restart();
    await network.waitForServers(5);
    assertEquals(await entries(`${victim.root}/uploads`), [], "no upload left behind");
    assertEquals((await objectDirs(victim.root)).length, 2, "both objects on the killed server");
    await network.servers[1].stop();
    await network.servers[2].stop();
    await network.waitForServers(3);
    const json = await network.run([
      "get",
      "/durable/killed",
      `${network.dir}/killed.out`,
      "--json",
    ], {
      env: PW,
    });
    assertEquals(json.code, 0, json.stderr);
    const summary = JSON.parse(json.stdout) as { servers: string[] };
    assert(summary.servers.includes(`server:${victim.id}`), "the killed server was a source");
    assert(sameBytes(await Deno.readFile(`${network.dir}/killed.out`), second), "intact");
    const old = await getBytes(network, "/durable/restart");
    assertEquals(old.code, 0, old.stderr);
    assert(sameBytes(old.stdoutBytes, data), "the older object is intact too");
  });
});

Deno.test("servers rejoin by themselves after redis-server restarts; get and put work again", async () => {
  await withNetwork(3, async (network) => {
    const random = prng(7402);
    const data = random.bytes(400_000);
    const put = await putBytes(network, "/durable/redis", data, ["-k", "2"]);
    assertEquals(put.code, 0, put.stderr);
    const pids = network.servers.map((s) => s.pid);

    await network.redis.restart();
    await waitForServers(network, 3, 40_000);
    assertEquals(network.servers.map((s) => s.pid), pids, "no serve process was restarted");
    assert(network.servers.every((s) => s.running), "every serve process still runs");

    const get = await getBytes(network, "/durable/redis");
    assertEquals(get.code, 0, get.stderr);
    assert(sameBytes(get.stdoutBytes, data), "retrieved after the Redis restart");
    const more = random.bytes(300_000);
    const again = await putBytes(network, "/durable/after-redis", more, ["-k", "2"]);
    assertEquals(again.code, 0, again.stderr);
    assert(again.stdout.includes("on 3 of 3 servers"), again.stdout);
    const back = await getBytes(network, "/durable/after-redis");
    assertEquals(back.code, 0, back.stderr);
    assert(sameBytes(back.stdoutBytes, more), "a put after the Redis restart round trips");
    assertEquals((await serversJson(network)).length, 3, "every server answers info");
  });
});

Deno.test("two clients putting 5 MiB each at the same time both succeed", async () => {
  await withNetwork(5, async (network) => {
    const random = prng(7403);
    const one = random.bytes(5 * 2 ** 20);
    const two = random.bytes(5 * 2 ** 20 + 12345);
    const [fileOne, fileTwo] = [await inputFile(network, one), await inputFile(network, two)];
    const [a, b] = await Promise.all([
      network.run(["put", "/concurrent/one", fileOne, "-k", "3", ...FAST], { env: PW }),
      network.run(["put", "/concurrent/two", fileTwo, "-k", "3", ...FAST], { env: PW }),
    ]);
    assertEquals(a.code, 0, a.stderr);
    assertEquals(b.code, 0, b.stderr);
    const [getOne, getTwo] = await Promise.all([
      getBytes(network, "/concurrent/one"),
      getBytes(network, "/concurrent/two"),
    ]);
    assertEquals(getOne.code, 0, getOne.stderr);
    assertEquals(getTwo.code, 0, getTwo.stderr);
    assert(sameBytes(getOne.stdoutBytes, one), "first file intact");
    assert(sameBytes(getTwo.stdoutBytes, two), "second file intact");
    const listing = await lsJson(network);
    assertEquals(listing.map((e) => [e.tag, e.size, e.servers.length]), [
      ["/concurrent/one", one.length, 5],
      ["/concurrent/two", two.length, 5],
    ]);
  });
});
