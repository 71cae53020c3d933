/**
 * Attack: Sybil servers (issue 9, case 2). Anyone who reaches the network's
 * Redis can start `secshrnet serve` processes of their own. Before trust, 4
 * such servers beside 3 honest ones took 4 of 7 shares of a default put
 * (k = 4): the attacker alone rebuilt the file with the password, the owner's
 * 3 servers could not, and when the attacker left, get failed (exit 4).
 *
 * Here the 4 attacker servers are real `secshrnet serve` processes that the
 * client does not trust. A default put uses the 3 trusted servers only, the
 * attacker's roots and channels receive nothing from put/get/ls/rm, `servers`
 * marks who is trusted, and the file survives the attacker's departure.
 * `trust ID` with the honest short ids trusts exactly those; `trust --all`
 * would trust the attacker too (hence "compare the ids"); with an empty trust
 * list the data commands refuse in one line.
 */

import { Redis } from "ioredis";
import { assert, assertEquals } from "./assert.ts";
import { sameBytes } from "./objects.ts";
import { prng } from "./prng.ts";
import { startNetwork, type TestNetwork } from "./harness/network.ts";
import {
  closeSettled,
  entries,
  FAST,
  getBytes,
  inputFile,
  lsJson,
  objectDirs,
  putBytes,
  PW,
  serversJson,
  TEST_FLOOR,
  workDir,
} from "./harness/client.ts";
import { readTrust } from "../cli/trust.ts";

/** Everything a server root holds of objects: entries under tags/ and uploads/ (none when missing). */
async function held(root: string): Promise<string[]> {
  const list = (dir: string) => entries(`${root}/${dir}`).catch(() => [] as string[]);
  return [
    ...(await list("tags")).map((e) => `tags/${e}`),
    ...(await list("uploads")).map((e) => `uploads/${e}`),
  ];
}

/**
 * Counts every message published to a server channel, by channel, through a
 * pattern subscription (which PUBSUB CHANNELS does not list, so it makes no
 * server look online). `settle` waits until everything published so far has
 * arrived: a marker published after it comes back last.
 */
async function serverSniffer(network: TestNetwork) {
  const sniffer = new Redis(network.redis.url, { lazyConnect: true });
  await sniffer.connect();
  const counts = new Map<string, number>();
  const markers = new Set<string>();
  sniffer.on("pmessageBuffer", (_pattern: Buffer, channel: Buffer) => {
    const name = channel.toString();
    if (name.startsWith("secshrnet:server:marker-")) markers.add(name);
    else counts.set(name, (counts.get(name) ?? 0) + 1);
  });
  await sniffer.psubscribe("secshrnet:server:*");
  let marker = 0;
  return {
    /** Messages to the server with id `id` since the last `reset`. */
    to: (id: string) => counts.get(`secshrnet:server:${id}`) ?? 0,
    reset: () => counts.clear(),
    async settle() {
      const name = `secshrnet:server:marker-${++marker}`;
      const deadline = Date.now() + 10_000;
      while (!markers.has(name)) {
        if (Date.now() > deadline) throw new Error("the sniffer did not see its marker");
        await network.redis.command("PUBLISH", name, "x");
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    close: async () => void await sniffer.quit(),
  };
}

/** A config file in a new directory (so its trust file starts empty), with the tests' scrypt floor. */
async function freshConfig(network: TestNetwork, name: string): Promise<string> {
  const dir = await workDir(network, name);
  await Deno.writeTextFile(`${dir}/secshrnet.conf`, TEST_FLOOR);
  return `${dir}/secshrnet.conf`;
}

Deno.test("sybil: 4 untrusted attacker servers beside 3 trusted ones get nothing, and their leaving costs nothing", async () => {
  const network = await startNetwork(3);
  let sniffer: Awaited<ReturnType<typeof serverSniffer>> | undefined;
  try {
    const honest = [...network.servers];
    const attackers = [];
    for (let i = 0; i < 4; i++) attackers.push(await network.addServer({ trusted: false }));
    await network.waitForServers(7);
    sniffer = await serverSniffer(network);
    const honestIds = honest.map((s) => s.id).sort();
    const data = prng(9201).bytes(200_000);

    // A default put: n is the 3 trusted servers online, k = 2.
    sniffer.reset();
    const put = await putBytes(network, "/sybil/wallet", data);
    assertEquals(put.code, 0, put.stderr);
    assert(put.stdout.includes("on 3 of 3 servers; any 2 rebuild it"), put.stdout);
    const started = Date.now();
    const get = await getBytes(network, "/sybil/wallet");
    console.log(`get with 4 attacker servers online: ${Date.now() - started} ms`);
    assertEquals(get.code, 0, get.stderr);
    assert(sameBytes(get.stdoutBytes, data), "get returns the file byte for byte");
    const listed = await lsJson(network);
    assertEquals(listed.length, 1, JSON.stringify(listed));
    assertEquals(listed[0].servers.map((a) => a.slice("server:".length)).sort(), honestIds);
    assertEquals([listed[0].k, listed[0].n, listed[0].recoverable], [2, 3, true]);
    // An rm of a second tag also touches only trusted servers.
    const other = await putBytes(network, "/sybil/other", prng(9202).bytes(5000));
    assertEquals(other.code, 0, other.stderr);
    const rm = await network.run(["rm", "/sybil/other"], { env: PW });
    assertEquals(rm.code, 0, rm.stderr);
    assert(rm.stdout.includes("from 3 servers"), rm.stdout);
    await sniffer.settle();

    // Nothing of put, get, ls or rm reached an attacker: no message, no file.
    for (const server of honest) {
      assert(sniffer.to(server.id) > 0, `the sniffer saw the trusted ${server.name} used`);
      assertEquals((await objectDirs(server.root)).length, 1, `${server.name} holds the object`);
    }
    for (const attacker of attackers) {
      assertEquals(sniffer.to(attacker.id), 0, `messages to attacker ${attacker.name}`);
      assertEquals(await held(attacker.root), [], `attacker ${attacker.name} holds nothing`);
    }

    // `servers` lists all 7 and says which are trusted (it asks the attackers for info).
    sniffer.reset();
    const listing = await serversJson(network);
    await sniffer.settle();
    assert(attackers.every((a) => sniffer!.to(a.id) > 0), "servers asked every attacker");
    assertEquals(listing.length, 7, JSON.stringify(listing));
    assertEquals(
      listing.filter((s) => s.trusted).map((s) => s.address.slice("server:".length)).sort(),
      honestIds,
    );
    assertEquals(listing.filter((s) => !s.trusted).length, 4);
    const table = await network.run(["servers"]);
    assertEquals(table.code, 0, table.stderr);
    const rows = table.stdout.split("\n\n")[0].trim().split("\n");
    assertEquals(rows[0].split(/\s+/).slice(0, 2), ["SERVER", "TRUSTED"], table.stdout);
    const marks = new Map(rows.slice(1).map((row) => row.split(/\s+/)).map((c) => [c[0], c[1]]));
    assertEquals(marks.size, 7, table.stdout);
    for (const server of honest) assertEquals(marks.get(server.name), "yes", table.stdout);
    for (const attacker of attackers) assertEquals(marks.get(attacker.name), "no", table.stdout);

    // A client with an empty trust list refuses put, get and ls in one line that names
    // every online server and the command that trusts them.
    const empty = await freshConfig(network, "empty");
    const file = await inputFile(network, data);
    for (
      const args of [
        ["put", "/sybil/new", file, ...FAST],
        ["get", "/sybil/wallet", "-"],
        ["ls"],
      ]
    ) {
      const refused = await network.run([...args, "-c", empty], { env: PW });
      const what = `${args[0]} with no trusted server: ${refused.stderr}`;
      assertEquals(refused.code, 1, what);
      assertEquals(refused.stdout, "", what);
      const lines = refused.stderr.split("\n").filter((line) => line !== "");
      assertEquals(lines.length, 1, what);
      for (const server of [...honest, ...attackers]) assert(lines[0].includes(server.name), what);
      assert(lines[0].includes("secshrnet trust"), what);
    }
    assertEquals(await readTrust(empty.replace(/\.conf$/, ".trusted")), [], "nothing trusted");

    // `trust ID` with the honest servers' short ids trusts exactly those.
    const pinned = await freshConfig(network, "pinned");
    const trust = await network.run(["trust", ...honest.map((s) => s.name), "-c", pinned]);
    assertEquals(trust.code, 0, trust.stderr);
    const pinnedIds = (await readTrust(pinned.replace(/\.conf$/, ".trusted"))).map((e) => e.id);
    assertEquals(pinnedIds.sort(), honestIds);
    const pinnedLs = await network.run(["ls", "--json", "-c", pinned]);
    assertEquals(pinnedLs.code, 0, pinnedLs.stderr);
    assertEquals(JSON.parse(pinnedLs.stdout)[0]?.servers.length, 3, pinnedLs.stdout);

    // `trust --all` while the attackers are online trusts them too: that is why the
    // README says to compare the ids it prints with each server's ROOT/server-id.
    const careless = await freshConfig(network, "careless");
    const all = await network.run(["trust", "--all", "-c", careless]);
    assertEquals(all.code, 0, all.stderr);
    const allIds = (await readTrust(careless.replace(/\.conf$/, ".trusted"))).map((e) => e.id);
    assertEquals(allIds.sort(), [...honest, ...attackers].map((s) => s.id).sort());
    for (const attacker of attackers) assert(all.stdout.includes(attacker.name), all.stdout);

    // The attacker leaves: the file is whole on the 3 trusted servers.
    for (const attacker of attackers) await attacker.stop();
    await network.waitForServers(3);
    const after = await getBytes(network, "/sybil/wallet");
    assertEquals(after.code, 0, after.stderr);
    assert(sameBytes(after.stdoutBytes, data), "get after the attacker left: identical");
    const lsAfter = await lsJson(network);
    assertEquals(lsAfter.map((t) => [t.tag, t.recoverable, t.servers.length]), [
      ["/sybil/wallet", true, 3],
    ]);
  } finally {
    if (sniffer !== undefined) await closeSettled(sniffer);
    await network.stop();
  }
});
