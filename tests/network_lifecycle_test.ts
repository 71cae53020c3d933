/**
 * The rest of a tag's life with real servers: `rm` while a holder is down
 * (exit 3; the returning holder never lists nor serves it, and deletes its
 * files once a client passes the deletion record on), the background scrub
 * finding a flipped byte that `check` then reports without a password, and
 * the refusal to store without a spare share.
 */

import { assert, assertEquals } from "./assert.ts";
import { prng } from "./prng.ts";
import { getBytes, lsJson, objectDirs, putBytes, PW, withNetwork } from "./harness/client.ts";
import { startNetwork } from "./harness/network.ts";

Deno.test("rm while a holder is killed exits 3; restarted, it never lists nor serves the tag, and its files go", async () => {
  await withNetwork(3, async (network) => {
    const put = await putBytes(network, "/life/removed", prng(2001).bytes(300_000), ["-k", "2"]);
    assertEquals(put.code, 0, put.stderr);
    const away = network.servers[2];
    await away.signal("SIGKILL");
    await network.waitForServers(2);

    const rm = await network.run(["rm", "/life/removed"], { env: PW });
    assertEquals(rm.code, 3, rm.stdout + rm.stderr);
    assert(rm.stderr.includes(away.name), `names the offline holder: ${rm.stderr}`);
    assertEquals((await objectDirs(away.root)).length, 1, "its share is still on its disk");

    await away.restart();
    await network.waitForServers(3);
    assertEquals((await lsJson(network)).map((e) => e.tag), [], "not listed");
    const get = await getBytes(network, "/life/removed");
    assertEquals(get.code, 4, get.stderr);
    assertEquals(get.stdoutBytes.length, 0);
    // ls and get passed the record on: the returning holder deleted its share.
    assertEquals(await objectDirs(away.root), [], "its files are gone");
    const check = await network.run(["check", "/life/removed"]);
    assertEquals(check.code, 4, check.stdout);

    // The tag can be stored again, above the deletion record's version.
    const again = await putBytes(network, "/life/removed", prng(2002).bytes(1000), ["-k", "2"]);
    assertEquals(again.code, 0, again.stderr);
    assertEquals((await lsJson(network)).map((e) => e.tag), ["/life/removed"]);
  });
});

Deno.test("scrub finds a flipped byte on its own and check reports it damaged without a password", async () => {
  const network = await startNetwork(3, {
    config: "[server]\nscrub_rate = 104857600\nscrub_interval = 1\n",
  });
  try {
    const put = await putBytes(network, "/life/scrubbed", prng(2003).bytes(400_000), ["-k", "2"]);
    assertEquals(put.code, 0, put.stderr);
    const victim = network.servers[1];
    const [dir] = await objectDirs(victim.root);
    const share = await Deno.readFile(`${dir}/share`);
    share[share.length - 5] ^= 1;
    await Deno.writeFile(`${dir}/share`, share);

    const deadline = Date.now() + 30_000;
    type Report = { status: string; shares: { server: string; state: string }[] }[];
    let report: Report = [];
    while (Date.now() < deadline) {
      const run = await network.run(["check", "/life/scrubbed", "--json"]);
      report = JSON.parse(run.stdout) as Report;
      if (report[0]?.status === "degraded") break;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    assertEquals(report[0]?.status, "degraded", JSON.stringify(report));
    const damaged = report[0].shares.filter((s) => s.state === "damaged").map((s) => s.server);
    assertEquals(damaged, [`server:${victim.id}`]);
    const text = await network.run(["check"]);
    assertEquals(text.code, 3);
    assert(text.stderr.includes(victim.name) && text.stderr.includes("damaged"), text.stderr);

    const repair = await network.run(["repair"], { env: PW });
    assertEquals(repair.code, 0, repair.stdout + repair.stderr);
    const healthy = await network.run(["check"]);
    assertEquals(healthy.code, 0, healthy.stdout + healthy.stderr);
  } finally {
    await network.stop();
  }
});

Deno.test("put with the default k and n on 2 servers refuses; -k 2 stores with a no-spare warning", async () => {
  await withNetwork(2, async (network) => {
    const refused = await putBytes(network, "/life/spare", prng(2004).bytes(1000));
    assertEquals(refused.code, 1, refused.stderr);
    assert(refused.stderr.includes("only 2 trusted servers are online"), refused.stderr);
    assert(refused.stderr.includes("-k"), refused.stderr);
    assertEquals(refused.stderr.trim().split("\n").length, 1, refused.stderr);

    const stored = await putBytes(network, "/life/spare", prng(2004).bytes(1000), ["-k", "2"]);
    assertEquals(stored.code, 0, stored.stderr);
    assert(stored.stderr.includes("losing any one of these servers loses the file"), stored.stderr);
    const spare = await putBytes(network, "/life/spare-1", prng(2005).bytes(1000), ["-k", "1"]);
    assertEquals(spare.code, 0, spare.stderr);
    assert(!spare.stderr.includes("no spare"), spare.stderr);
  });
});
