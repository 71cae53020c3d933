/**
 * The Redis Cluster harness (issue 12) works: three masters own all 16384
 * slots, a key is accepted only by the master `ownerOf` names (the others
 * answer MOVED to it), a SIGKILLed master's replica takes over its slots with
 * the replicated data, `netInput` covers every live node, and stopping leaves
 * no process and no port (nor cluster bus port) behind.
 */

import { assert, assertEquals, assertRejects } from "./assert.ts";
import { type ClusterNode, type ClusterSetup, startCluster } from "./harness/cluster.ts";
import { RedisReplyError, type RespReply } from "./harness/redis.ts";
import { alive, listening, pidOf } from "./harness/processes.ts";

const PASSWORD = "cluster harness password";

/** A field of CLUSTER INFO on `node`. */
async function clusterInfo(node: ClusterNode, field: string): Promise<string | undefined> {
  const info = String(await node.command("CLUSTER", "INFO"));
  return new RegExp(`^${field}:(\\S+)`, "m").exec(info)?.[1];
}

/** The node on `port`. */
function nodeAt(setup: ClusterSetup, port: number): ClusterNode {
  const node = setup.processes.find((n) => n.port === port);
  assert(node !== undefined, `a node on port ${port}`);
  return node;
}

/** Keys named `key-N`, the first one owned by each master, by master port. */
async function keyPerMaster(setup: ClusterSetup): Promise<Map<number, string>> {
  const masters = await setup.masterPorts();
  const keys = new Map<number, string>();
  for (let i = 0; keys.size < masters.length; i++) {
    assert(i < 1000, "a key for every master among the first 1000");
    const owner = await setup.ownerOf(`key-${i}`);
    if (!keys.has(owner)) keys.set(owner, `key-${i}`);
  }
  return keys;
}

/** Asserts a write of `key` to a node that does not own it is redirected to `owner`. */
async function assertMoved(node: ClusterNode, key: string, owner: number): Promise<void> {
  const error = await assertRejects(() => node.command("SET", key, "x"), RedisReplyError, "MOVED");
  assert(error.message.endsWith(` 127.0.0.1:${owner}`), `${error.message} points at ${owner}`);
}

Deno.test("cluster harness: slots split over three masters, failover to a replica, clean stop", async () => {
  const started = performance.now();
  const setup = await startCluster({ replicasPerMaster: 1, password: PASSWORD });
  console.log(`cluster creation took ${Math.round(performance.now() - started)} ms`);
  const pids: number[] = [];
  const ports: number[] = [];
  try {
    const [m0, m1, m2, r0, r1, r2] = setup.processes;
    assertEquals(setup.processes.length, 6);
    assertEquals(setup.nodes, setup.processes.map((n) => `127.0.0.1:${n.port}`));
    for (const node of setup.processes) {
      pids.push(await pidOf(node.command));
      ports.push(node.port, node.port + 10_000);
    }
    assertEquals(new Set(ports).size, 12, "distinct client and bus ports");
    assert(ports.every((p) => p >= 20_000 && p < 50_000), `ports below 50000: ${ports}`);

    assertEquals(await setup.masterPorts(), [m0.port, m1.port, m2.port]);
    for (const node of setup.processes) {
      assertEquals(await clusterInfo(node, "cluster_state"), "ok");
      assertEquals(await clusterInfo(node, "cluster_slots_ok"), "16384");
      assertEquals(await clusterInfo(node, "cluster_known_nodes"), "6");
      assertEquals(await clusterInfo(node, "cluster_size"), "3");
    }
    for (const [i, replica] of [r0, r1, r2].entries()) {
      const role = await replica.command("ROLE") as RespReply[];
      assertEquals([role[0], role[2]], ["slave", setup.processes[i].port], `replica ${i}`);
    }
    for (const node of setup.processes) {
      const slots = (await node.command("CLUSTER", "SLOTS") as RespReply[][])
        .map((r) => [r[0], r[1], ...r.slice(2).map((n) => (n as RespReply[])[1])])
        .sort((a, b) => Number(a[0]) - Number(b[0]));
      assertEquals(slots, [
        [0, 5460, m0.port, r0.port],
        [5461, 10921, m1.port, r1.port],
        [10922, 16383, m2.port, r2.port],
      ], `CLUSTER SLOTS on ${node.port}`);
    }

    const keys = await keyPerMaster(setup);
    assertEquals([...keys.keys()].sort(), [m0.port, m1.port, m2.port].sort());
    for (const [owner, key] of keys) {
      assertEquals(await nodeAt(setup, owner).command("SET", key, `value of ${key}`), "OK");
      assertEquals(await nodeAt(setup, owner).command("GET", key), `value of ${key}`);
      for (const other of [m0, m1, m2].filter((m) => m.port !== owner)) {
        await assertMoved(other, key, owner);
      }
    }

    const key = keys.get(m1.port)!;
    assertEquals(await m1.command("SET", key, "before failover"), "OK");
    assertEquals(await m1.command("WAIT", "1", "1000"), 1, "the replica has the write");
    const { oldPort, newPort, elapsedMs } = await setup.failover(m1.port);
    console.log(`failover took ${elapsedMs} ms (${oldPort} -> ${newPort})`);
    assertEquals([oldPort, newPort], [m1.port, r1.port]);
    assert(!await listening(m1.port), "the old master is down");
    assertEquals(await setup.masterPorts(), [m0.port, r1.port, m2.port]);
    assertEquals(await setup.ownerOf(key), r1.port);
    assertEquals((await r1.command("ROLE") as RespReply[])[0], "master");
    assertEquals(await r1.command("GET", key), "before failover", "the write survived");
    assertEquals(await r1.command("SET", key, "after failover"), "OK");
    await assertMoved(m0, key, r1.port);
    for (const node of [m0, m2, r0, r1, r2]) {
      assertEquals(await clusterInfo(node, "cluster_state"), "ok", `state on ${node.port}`);
    }

    const input = await setup.netInput();
    assertEquals([...input.keys()].sort(), [m0, m2, r0, r1, r2].map((n) => n.port).sort());
    for (const [port, bytes] of input) {
      assert(Number.isInteger(bytes) && bytes > 0, `${port} received ${bytes} bytes`);
    }
    const before = input.get(m0.port)!;
    await m0.command("SET", keys.get(m0.port)!, "x".repeat(10_000));
    assert((await setup.netInput()).get(m0.port)! >= before + 10_000, "the count grows");
  } finally {
    await setup.stop();
  }
  assertEquals(pids.length, 6);
  for (const pid of pids) assert(!await alive(pid), `process ${pid} is gone`);
  for (const port of ports) assert(!await listening(port), `port ${port} is closed`);
});

Deno.test("cluster harness: defaults are three masters without replicas or password", async () => {
  const setup = await startCluster();
  const pids: number[] = [];
  try {
    assertEquals(setup.processes.length, 3);
    assertEquals(await setup.masterPorts(), setup.processes.map((n) => n.port));
    for (const node of setup.processes) {
      pids.push(await pidOf(node.command));
      assertEquals(await clusterInfo(node, "cluster_state"), "ok");
      assertEquals(await clusterInfo(node, "cluster_slots_assigned"), "16384");
    }
    const owner = await setup.ownerOf("some key");
    assertEquals(await nodeAt(setup, owner).command("SET", "some key", "v"), "OK");
    await assertRejects(() => setup.failover(), Error, "has no replica");
    assertEquals(await setup.masterPorts(), setup.processes.map((n) => n.port), "nothing killed");
  } finally {
    await setup.stop();
  }
  for (const pid of pids) assert(!await alive(pid), `process ${pid} is gone`);
});
