/**
 * `secshrnet trust` and `untrust` through the real CLI against real servers:
 * the trust list beside the config in use, trusting only servers that answer,
 * short and full ids, and the warning for a Redis anyone may use.
 */

import { assert, assertEquals } from "./assert.ts";
import { prng } from "./prng.ts";
import { Redis } from "ioredis";
import { toHex } from "../core/bytes.ts";
import { readTrust } from "../cli/trust.ts";
import { putBytes, PW, runIsolated, TEST_FLOOR, withNetwork, workDir } from "./harness/client.ts";

/** The lines of `text` that are not empty. */
const lines = (text: string) => text.split("\n").filter((line) => line.trim() !== "");

Deno.test("trust: --all pins the servers that answer, never a made-up channel; untrust unpins", async () => {
  await withNetwork(3, async (network) => {
    // A fresh config: its own trust file, empty.
    const dir = await workDir(network, "fresh");
    const conf = `${dir}/client.conf`;
    await Deno.writeTextFile(conf, TEST_FLOOR);
    const run = (args: string[]) => network.run([...args, "-c", conf], { env: PW });
    const listed = await run(["trust"]);
    assertEquals([listed.code, listed.stdout], [0, ""]);
    assert(listed.stderr.includes(`no servers are trusted yet (${dir}/client.trusted)`));

    const ghost = new Redis(network.redis.url, { lazyConnect: true });
    await ghost.connect();
    const ghostId = toHex(crypto.getRandomValues(new Uint8Array(32)));
    try {
      await ghost.subscribe(`secshrnet:server:${ghostId}`);
      const all = await network.run(["trust", "--all", "-c", conf, "--timeout", "2"]);
      assertEquals(all.code, 0, all.stderr);
      const ids = network.servers.map((s) => s.name).sort();
      assertEquals(lines(all.stdout).map((l) => l.split(/\s+/)[1]).sort(), ids, all.stdout);
      assert(all.stderr.includes(`${ghostId.slice(0, 16)} did not answer`), all.stderr);
      assert(all.stderr.includes("not trusted"), all.stderr);
    } finally {
      await ghost.quit();
    }
    const file = `${dir}/client.trusted`;
    assertEquals(
      (await readTrust(file)).map((e) => e.id).sort(),
      network.servers.map((s) => s.id).sort(),
    );
    assertEquals((await Deno.stat(file)).mode! & 0o777, 0o600);
    const again = await run(["trust", "--all"]);
    assertEquals(lines(again.stdout).filter((l) => l.startsWith("already trusted")).length, 3);

    // untrust by a short id: the data commands stop using that server.
    const [dropped] = network.servers;
    const untrusted = await run(["untrust", dropped.name]);
    assertEquals([untrusted.code, untrusted.stdout.trim()], [0, `untrusted ${dropped.name}`]);
    const put = await putBytes(network, "/trust/two", prng(9911).bytes(3000), [
      "-c",
      conf,
      "-k",
      "2",
    ]);
    assertEquals(put.code, 0, put.stderr);
    assert(put.stdout.includes("on 2 of 2 servers"), put.stdout);
    const servers = await run(["servers", "--json"]);
    const trusted = JSON.parse(servers.stdout) as { address: string; trusted: boolean }[];
    assertEquals(
      trusted.filter((s) => !s.trusted).map((s) => s.address),
      [`server:${dropped.id}`],
    );
    // Back by its short id (it is online and answers).
    const back = await run(["trust", dropped.name]);
    assertEquals(back.code, 0, back.stderr);
    assert(back.stdout.startsWith(`trusted ${dropped.name}  `), back.stdout);
  });
});

Deno.test("trust: ids that are malformed, unknown or offline; each -c has its own list", async () => {
  await withNetwork(2, async (network) => {
    const dir = await workDir(network, "ids");
    const [a, b] = [`${dir}/a.conf`, `${dir}/b.conf`];
    for (const conf of [a, b]) await Deno.writeTextFile(conf, TEST_FLOOR);
    const run = (conf: string, args: string[]) =>
      network.run([...args, "-c", conf], { env: PW, timeoutMs: 30_000 });
    for (const bad of ["xyz", "1234567", "server:" + "a".repeat(64)]) {
      const result = await run(a, ["trust", bad]);
      assertEquals(result.code, 2, result.stderr);
      assertEquals(lines(result.stderr).length, 1, result.stderr);
      assert(result.stderr.includes("not a server id"), result.stderr);
    }
    const unknown = await run(a, ["trust", "0123456789abcdef"]);
    assertEquals(unknown.code, 1, unknown.stderr);
    assert(unknown.stderr.includes("no online server that answers"), unknown.stderr);
    const notThere = await run(a, ["untrust", "0123456789abcdef"]);
    assertEquals(notThere.code, 2, notThere.stderr);
    assert(notThere.stderr.includes("matches no trusted server"), notThere.stderr);

    // A full id is trusted even while that server is offline (pinned in advance).
    const offline = toHex(crypto.getRandomValues(new Uint8Array(32)));
    const pinned = await run(a, ["trust", offline, network.servers[0].name]);
    assertEquals(pinned.code, 0, pinned.stderr);
    assertEquals(
      (await readTrust(`${dir}/a.trusted`)).map((e) => e.id).sort(),
      [offline, network.servers[0].id].sort(),
    );
    const servers = await run(a, ["servers"]);
    assertEquals(servers.code, 0, servers.stderr);
    assert(servers.stderr.includes(`1 trusted server(s) offline: ${offline.slice(0, 16)}`));
    // b.conf's list is its own, still empty: its data commands refuse, naming what to do.
    const refused = await run(b, ["ls"]);
    assertEquals(refused.code, 1, refused.stderr);
    assertEquals(lines(refused.stderr).length, 1, refused.stderr);
    assert(refused.stderr.includes("no servers are trusted yet"), refused.stderr);
    assert(refused.stderr.includes("secshrnet trust --all"), refused.stderr);
    for (const server of network.servers) assert(refused.stderr.includes(server.name));
  });
});

Deno.test("open Redis: a client and a server warn once when Redis needs no password off loopback", async () => {
  await withNetwork(1, async (network) => {
    // 0.0.0.0 reaches this machine's Redis on Linux while not being a loopback address.
    const url = `redis://0.0.0.0:${network.redis.port}`;
    const open = await runIsolated(network, ["ls"], { env: { SECSHRNET_REDIS_URL: url } });
    assertEquals(open.code, 0, open.stderr);
    const warnings = lines(open.stderr).filter((l) => l.includes("needs no password"));
    assertEquals(warnings.length, 1, open.stderr);
    assert(warnings[0].startsWith("secshrnet: warning: Redis at 0.0.0.0:"), warnings[0]);
    const local = await runIsolated(network, ["ls"]);
    assertEquals(local.code, 0, local.stderr);
    assert(!local.stderr.includes("needs no password"), local.stderr);

    const server = await network.addServer({ env: { SECSHRNET_REDIS_URL: url } });
    await network.waitForServers(2);
    const log = await Deno.readTextFile(`${server.root}/secshrnetd.log`);
    assertEquals(log.split("\n").filter((l) => l.includes("needs no password")).length, 1, log);
    const quiet = await Deno.readTextFile(`${network.servers[0].root}/secshrnetd.log`);
    assert(!quiet.includes("needs no password"), quiet);
  });
});
