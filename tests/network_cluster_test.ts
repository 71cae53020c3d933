/**
 * Redis Cluster (issue 12): 5 real servers and the CLI over a real 3-master
 * cluster use sharded pub/sub. A put and a get of 64 MiB come back identical;
 * each node carries only the traffic of the channels it owns (INFO stats
 * total_net_input_bytes), not every message as classic PUBLISH would; and a
 * master SIGKILLed during a put is replaced by its replica without losing the
 * transfer, and so is the slot of a server's channel moved to another master
 * mid-put (a resharding: MOVED redirections, subscriptions dropped and made
 * again on the new owner).
 */

import { assert, assertEquals } from "./assert.ts";
import { prng } from "./prng.ts";
import { inputFile, PW } from "./harness/client.ts";
import { MiB, uploading } from "./harness/faults.ts";
import { startNetwork, type TestNetwork } from "./harness/network.ts";
import { type ClusterSetup, startCluster } from "./harness/cluster.ts";
import { clusterBus, clusterConfig, moveSlot } from "./harness/cluster_network.ts";
import { until } from "./harness/sentinel.ts";

const PASSWORD = "cluster test password";

/** Each online server's Redis node ("127.0.0.1:PORT"), from `secshrnet servers --json`. */
async function serverNodes(network: TestNetwork): Promise<Map<string, string>> {
  const listed = await network.run(["servers", "--json"]);
  assertEquals(listed.code, 0, listed.stderr);
  const servers = JSON.parse(listed.stdout) as { id: string; redisNode: string }[];
  return new Map(servers.map((s) => [s.id, s.redisNode]));
}

/** How many servers' channels live on each node, by port. */
function serversPerPort(nodes: Map<string, string>): Map<number, number> {
  const counts = new Map<number, number>();
  for (const node of nodes.values()) {
    const port = Number(node.slice(node.lastIndexOf(":") + 1));
    counts.set(port, (counts.get(port) ?? 0) + 1);
  }
  return counts;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

/** Starts a cluster and 5 servers on it, runs `body`, stops both. */
async function withClusterNetwork(
  replicasPerMaster: number,
  body: (setup: ClusterSetup, network: TestNetwork) => Promise<void>,
): Promise<void> {
  const setup = await startCluster({ replicasPerMaster, password: PASSWORD });
  try {
    const network = await startNetwork(5, {
      external: clusterBus(setup),
      config: clusterConfig(setup, PASSWORD),
    });
    try {
      await body(setup, network);
    } finally {
      await network.stop();
    }
  } finally {
    await setup.stop();
  }
}

Deno.test("Cluster: 64 MiB put and get are identical, and each master carries only its own channels' traffic", async () => {
  await withClusterNetwork(0, async (setup, network) => {
    const data = prng(12).bytes(64 * MiB);
    const file = await inputFile(network, data);
    const nodes = await serverNodes(network);
    assertEquals(nodes.size, 5);
    const perPort = serversPerPort(nodes);
    const masters = await setup.masterPorts();
    for (const port of perPort.keys()) assert(masters.includes(port), `${port} is a master`);

    const before = await setup.netInput();
    const putStarted = Date.now();
    const put = await network.run(["put", "/c/big", file, "--log-n", "10"], { env: PW });
    const putMs = Date.now() - putStarted;
    assertEquals(put.code, 0, put.stderr);
    const after = await setup.netInput();

    // Every server receives one fragment of about a third of the object (k = 3).
    const fragment = data.length / 3;
    const input = new Map(masters.map((p) => [p, after.get(p)! - before.get(p)!]));
    const total = [...input.values()].reduce((a, b) => a + b, 0);
    const report = masters.map((p) =>
      `${p}: ${perPort.get(p) ?? 0} server(s), ${(input.get(p)! / MiB).toFixed(1)} MiB in`
    ).join("; ");
    console.log(
      `cluster put of 64 MiB in ${putMs} ms: ${report}; total ${(total / MiB).toFixed(1)} MiB`,
    );
    // All five fragments enter the cluster once: classic PUBLISH would add every
    // message to every node (three times this total).
    assert(total >= 5 * fragment && total < 5 * fragment * 1.2, report);
    for (const port of masters) {
      const expected = (perPort.get(port) ?? 0) * fragment;
      const got = input.get(port)!;
      // Its own servers' fragments, plus framing and the few acks to the client.
      assert(got >= expected * 0.98 && got < expected * 1.2 + 4 * MiB, `${port}: ${report}`);
      // Well below the total wherever the node holds fewer than all the servers.
      if ((perPort.get(port) ?? 0) <= 3) assert(got < total * 0.75, `${port}: ${report}`);
    }

    const out = `${network.dir}/big.out`;
    const getStarted = Date.now();
    const get = await network.run(["get", "/c/big", out], { env: PW });
    console.log(`cluster get of 64 MiB in ${Date.now() - getStarted} ms`);
    assertEquals(get.code, 0, get.stderr);
    assert(sameBytes(await Deno.readFile(out), data), "get over the cluster: identical bytes");

    const listed = await network.run(["servers"]);
    assertEquals(listed.code, 0, listed.stderr);
    const sorted = [...masters].sort().map((p) => `127.0.0.1:${p}`);
    assert(
      listed.stdout.includes(
        `\nRedis: Redis Cluster, sharded pub/sub, 3 master(s): ${sorted.join(", ")}\n`,
      ),
      listed.stdout,
    );
    assert(listed.stdout.includes("REDIS NODE"), listed.stdout);
  });
});

Deno.test("Cluster: the master of the client's channel SIGKILLed during a 64 MiB put is replaced by its replica, and the put completes", async () => {
  await withClusterNetwork(1, async (setup, network) => {
    const data = prng(13).bytes(64 * MiB);
    const file = await inputFile(network, data);
    const pids = network.servers.map((s) => s.pid);
    const perPort = serversPerPort(await serverNodes(network));
    const began = Date.now();
    const put = network.run(["put", "/c/across", file, "--log-n", "10", "--timeout", "30"], {
      env: PW,
      timeoutMs: 180_000,
    });
    await until(uploading(network), "the put to start", 60_000);
    // The master holding the client's channel: every ack of the put goes through it.
    let victim: number | undefined;
    for (const port of await setup.masterPorts()) {
      const node = setup.processes.find((n) => n.port === port)!;
      const held = await node.command("PUBSUB", "SHARDCHANNELS", "secshrnet:client:*");
      if (Array.isArray(held) && held.length > 0) victim = port;
    }
    assert(victim !== undefined, "the client's channel is on a master");
    const failover = await setup.failover(victim);
    const result = await put;
    console.log(
      `cluster failover of ${victim} (the client and ${perPort.get(victim) ?? 0} servers) ` +
        `during a put: exit ${result.code} in ${Date.now() - began} ms, failover ` +
        `${failover.elapsedMs} ms`,
    );
    assertEquals(result.code, 0, result.stderr);
    // No server restarted; all five are back, those of the old master on the new one.
    assertEquals(network.servers.map((s) => s.pid), pids);
    // While the master was down ioredis remade its subscribers dozens of times a second:
    // the log says once that messages may be lost and once that the subscription is back.
    for (const server of network.servers) {
      const log = (await Deno.readTextFile(`${server.root}/secshrnetd.log`)).split("\n");
      const lost = log.filter((line) => line.includes("messages may have been lost")).length;
      const ready = log.filter((line) => line.includes("redis subscriber ready")).length;
      assert(lost <= 2 && ready <= 2 && log.length < 120, `${server.name}: ${log.join("\n")}`);
    }
    await network.waitForServers(5);
    const moved = serversPerPort(await serverNodes(network));
    assertEquals(moved.get(failover.newPort), perPort.get(victim));
    const out = `${network.dir}/across.out`;
    const get = await network.run(["get", "/c/across", out], { env: PW });
    assertEquals(get.code, 0, get.stderr);
    assert(sameBytes(await Deno.readFile(out), data), "identical bytes after the failover");
  });
});

Deno.test("Cluster: the slot of a server's channel moved to another master mid-put loses nothing", async () => {
  await withClusterNetwork(0, async (setup, network) => {
    const data = prng(14).bytes(64 * MiB);
    const file = await inputFile(network, data);
    const server = network.servers[0];
    const id = (await Deno.readTextFile(`${server.root}/server-id`)).trim();
    const channel = `secshrnet:server:${id}`;
    const before = await setup.ownerOf(channel);
    const target = (await setup.masterPorts()).find((port) => port !== before)!;
    const began = Date.now();
    const put = network.run(["put", "/c/moved", file, "--log-n", "10", "--timeout", "30"], {
      env: PW,
      timeoutMs: 180_000,
    });
    await until(uploading(network), "the put to start", 60_000);
    const slot = await moveSlot(setup, channel, target);
    const result = await put;
    console.log(
      `slot ${slot} moved from ${before} to ${target} during a put: exit ${result.code} in ` +
        `${Date.now() - began} ms`,
    );
    assertEquals(result.code, 0, result.stderr);
    assertEquals(await setup.ownerOf(channel), target);
    // The server's subscription followed its slot, without a restart.
    await until(
      async () => {
        const nodes = await serverNodes(network);
        return nodes.get(id) === `127.0.0.1:${target}`;
      },
      "the server's channel to live on the new owner",
      30_000,
    );
    assert(server.running);
    const out = `${network.dir}/moved.out`;
    const get = await network.run(["get", "/c/moved", out], { env: PW });
    assertEquals(get.code, 0, get.stderr);
    assert(sameBytes(await Deno.readFile(out), data), "identical bytes after the move");
  });
});
