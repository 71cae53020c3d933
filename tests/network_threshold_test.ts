/**
 * k of n over the real network: any k servers rebuild a file, fewer cannot
 * and say how many shares they found; put refuses to start without enough
 * servers; put stored on at least k but not all servers exits 3.
 */

import { assert, assertEquals } from "./assert.ts";
import { sameBytes } from "./objects.ts";
import { prng } from "./prng.ts";
import { startNetwork } from "./harness/network.ts";
import {
  getBytes,
  lsJson,
  namedServers,
  putBytes,
  waitForServers,
  withNetwork,
} from "./harness/client.ts";

Deno.test("k of n: 3 of 5 rebuild byte for byte; 2 of 5 fail with exit 4 naming what was found", async () => {
  await withNetwork(5, async (network) => {
    const data = prng(7101).bytes(300_000);
    const put = await putBytes(network, "/kofn/file", data, ["-n", "5", "-k", "3"]);
    assertEquals(put.code, 0, put.stderr);
    assert(put.stdout.includes("on 5 of 5 servers; any 3 rebuild it"), put.stdout);

    const [a, b, c, d, e] = network.servers;
    await a.signal("SIGKILL");
    await b.signal("SIGKILL");
    await network.waitForServers(3);
    const three = await getBytes(network, "/kofn/file");
    assertEquals(three.code, 0, three.stderr);
    assert(sameBytes(three.stdoutBytes, data), "3 of 5 servers rebuild the file byte for byte");

    await c.signal("SIGKILL");
    await network.waitForServers(2);
    const two = await getBytes(network, "/kofn/file");
    assertEquals(two.code, 4, two.stderr);
    assert(two.stderr.includes("found 2 of 3 needed shares"), two.stderr);
    assertEquals(two.stdoutBytes.length, 0, "nothing written to stdout");
    // The error names the servers that hold a share, then the dead ones as offline
    // (they may hold the missing shares), and says to run check.
    const ids = network.servers.map((s) => s.name);
    const [holding, offline] = two.stderr.split("offline: ");
    assertEquals(namedServers(holding, ids).sort(), [d.name, e.name].sort(), two.stderr);
    assertEquals(namedServers(offline, ids).sort(), [a.name, b.name, c.name].sort(), two.stderr);
    assert(two.stderr.includes("run 'secshrnet check /kofn/file'"), two.stderr);
    assertEquals(two.stderr.trim().split("\n").length, 1, two.stderr);

    // The killed servers come back with their shares: the file is whole again.
    for (const server of [a, b, c]) await server.restart();
    await network.waitForServers(5);
    const again = await getBytes(network, "/kofn/file");
    assertEquals(again.code, 0, again.stderr);
    assert(sameBytes(again.stdoutBytes, data), "rebuilt after the servers restarted");
  });
});

Deno.test("put refuses clearly when fewer servers are online than -k or -n asks", async () => {
  await withNetwork(5, async (network) => {
    const data = prng(7102).bytes(1000);

    // -n 7 with 5 online.
    const seven = await putBytes(network, "/few/n7", data, ["-n", "7", "-k", "3"]);
    assert(seven.code !== 0, `exit ${seven.code}`);
    assertEquals(seven.code, 1, seven.stderr);
    assert(
      /n=7/.test(seven.stderr) && /only 5 trusted servers are online/.test(seven.stderr),
      seven.stderr,
    );

    // -k 6 with 5 online (n defaults to the 5 online servers).
    const six = await putBytes(network, "/few/k6", data, ["-k", "6"]);
    assert(six.code !== 0, `exit ${six.code}`);
    assert(six.stderr.includes("k=6"), six.stderr);

    // Only 2 servers online, -k 3: the message must say how many servers are online.
    await network.servers[0].signal("SIGKILL");
    await network.servers[1].signal("SIGKILL");
    await network.servers[2].signal("SIGKILL");
    await network.waitForServers(2);
    const k3 = await putBytes(network, "/few/k3", data, ["-k", "3"]);
    assert(k3.code !== 0, `exit ${k3.code}`);
    assert(k3.stderr.split("\n").filter((l) => l !== "").length === 1, k3.stderr);
    assert(
      /only 2 (trusted )?(servers? )?(are )?online/.test(k3.stderr) ||
        /\b2 servers? online/.test(k3.stderr),
      `the error should say that only 2 servers are online: ${k3.stderr}`,
    );

    // Nothing was stored by any refused put.
    assertEquals(await lsJson(network), []);
  });
});

Deno.test("put stored on k but not all servers exits 3 and names the refusing server; get works", async () => {
  const network = await startNetwork(4);
  try {
    // A fifth server whose config caps objects at 1000 bytes: it refuses a 100 KiB share.
    const root = `${network.dir}/server-5`;
    await Deno.mkdir(root, { recursive: true });
    await Deno.writeTextFile(`${root}/secshrnet.conf`, "[server]\nmax_object_bytes = 1000\n");
    const small = await network.addServer();
    await waitForServers(network, 5);

    const data = prng(7103).bytes(100 * 1024);
    const put = await putBytes(network, "/reduced/file", data, ["-k", "3", "-n", "5"]);
    assertEquals(put.code, 3, `${put.stdout}${put.stderr}`);
    assert(put.stdout.includes("on 4 of 5 servers; any 3 rebuild it"), put.stdout);
    assert(put.stderr.includes("reduced redundancy"), put.stderr);
    assert(put.stderr.includes(small.name), `stderr names the refusing server: ${put.stderr}`);
    const others = network.servers.filter((s) => s !== small).map((s) => s.name);
    assertEquals(namedServers(put.stderr, others), [], "only the refusing server is named");

    const get = await getBytes(network, "/reduced/file");
    assertEquals(get.code, 0, get.stderr);
    assert(sameBytes(get.stdoutBytes, data), "rebuilt from the 4 servers that stored it");

    const [entry] = await lsJson(network);
    assertEquals(entry.tag, "/reduced/file");
    assertEquals(entry.servers.length, 4);
    assert(!entry.servers.includes(`server:${small.id}`), "the refusing server holds nothing");
    assert(entry.recoverable);

    // The --json result says which server did not store its share, and why.
    const json = await putBytes(network, "/reduced/json", data, ["-k", "3", "-n", "5", "--json"]);
    assertEquals(json.code, 3, json.stderr);
    const result = JSON.parse(json.stdout) as {
      status: string;
      k: number;
      n: number;
      servers: { server: string; stored: boolean; error?: string }[];
    };
    assertEquals([result.status, result.k, result.n], ["reduced", 3, 5]);
    const refused = result.servers.filter((s) => !s.stored);
    assertEquals(refused.map((s) => s.server), [`server:${small.id}`]);
    assert(/full|limit/.test(refused[0].error ?? ""), refused[0].error);
  } finally {
    await network.stop();
  }
});
