/**
 * Redis Cluster over TLS (`tls = true` and `ca_file` for every node, the
 * cluster bus and replication on TLS too): 3 real servers and the CLI on 3
 * masters with a replica each. The master carrying the client's channel is
 * SIGKILLed in the middle of a 64 MiB put and, once the killed node is back
 * as a replica, again in the middle of its get; both complete with the right
 * bytes, and no server restarts.
 */

import { assert, assertEquals } from "./assert.ts";
import { sameBytes } from "./objects.ts";
import { prng } from "./prng.ts";
import { inputFile, PW } from "./harness/client.ts";
import { MiB, partialFiles, stagedShareBytes } from "./harness/faults.ts";
import { startNetwork, type TestNetwork } from "./harness/network.ts";
import { type ClusterSetup, startCluster } from "./harness/cluster.ts";
import { clusterBus, clusterConfig } from "./harness/cluster_network.ts";
import { makeTestCertificates } from "./harness/redis.ts";
import { until } from "./harness/sentinel.ts";
import { withTempDir } from "./harness/temp_dir.ts";

const PASSWORD = "cluster-tls-test-password";

/** The port of the master that holds a client's channel now. */
async function clientMaster(setup: ClusterSetup): Promise<number> {
  for (const port of await setup.masterPorts()) {
    const node = setup.processes.find((n) => n.port === port)!;
    const held = await node.command("PUBSUB", "SHARDCHANNELS", "secshrnet:client:*");
    if (Array.isArray(held) && held.length > 0) return port;
  }
  throw new Error("no master holds a client's channel");
}

/** Runs `args`, SIGKILLs the client's master once `started` holds; the exit code and a note. */
async function acrossFailover(
  setup: ClusterSetup,
  network: TestNetwork,
  args: string[],
  started: () => Promise<boolean>,
): Promise<{ code: number; stderr: string; note: string; killed: number }> {
  const began = Date.now();
  const run = network.run(args, { env: PW, timeoutMs: 180_000 });
  await until(started, `${args[0]} to be under way`, 60_000);
  const failover = await setup.failover(await clientMaster(setup));
  const { code, stderr } = await run;
  const note = `${args[0]} exit ${code} in ${Date.now() - began} ms ` +
    `(failover ${failover.elapsedMs} ms)`;
  return { code, stderr, note, killed: failover.oldPort };
}

/** Restarts the killed node on `port` and waits until it is a connected replica. */
async function rejoin(setup: ClusterSetup, port: number): Promise<void> {
  const node = setup.processes.find((n) => n.port === port)!;
  await node.restart();
  await until(async () => {
    const role = await node.command("ROLE");
    return Array.isArray(role) && role[0] === "slave" && role[3] === "connected";
  }, `node ${port} to rejoin as a connected replica`);
}

Deno.test("Cluster over TLS: the client's master SIGKILLed mid-put and mid-get; both complete with identical bytes", () =>
  withTempDir(async (dir) => {
    const tls = await makeTestCertificates(dir);
    const setup = await startCluster({ replicasPerMaster: 1, password: PASSWORD, tls });
    try {
      const config = clusterConfig(setup, PASSWORD) +
        `tls = true\nca_file = ${JSON.stringify(tls.caFile)}\n`;
      const network = await startNetwork(3, { external: clusterBus(setup), config });
      try {
        const pids = network.servers.map((s) => s.pid);
        const data = prng(31).bytes(64 * MiB);
        const file = await inputFile(network, data);
        const put = await acrossFailover(
          setup,
          network,
          ["put", "/ct/across", file, "--log-n", "10", "--timeout", "30"],
          async () => {
            const staged = await Promise.all(network.servers.map((s) => stagedShareBytes(s.root)));
            return staged.every((bytes) => bytes >= 8 * MiB);
          },
        );
        assertEquals(put.code, 0, put.stderr);
        // The killed master is back, as a replica of its successor, which may now be killed.
        await rejoin(setup, put.killed);
        const out = `${network.dir}/across.out`;
        const get = await acrossFailover(
          setup,
          network,
          ["get", "/ct/across", out, "--timeout", "30"],
          async () => (await partialFiles(network.dir)).some((f) => f.size >= 16 * MiB),
        );
        console.log(`cluster failover over TLS: ${put.note}; ${get.note}`);
        assertEquals(get.code, 0, get.stderr);
        assert(sameBytes(await Deno.readFile(out), data), "identical bytes");

        assertEquals(network.servers.map((s) => s.pid), pids, "no server restarted");
        await network.waitForServers(3);
        const listed = await network.run(["servers"]);
        assertEquals(listed.code, 0, listed.stderr);
        assert(listed.stdout.includes("Redis: Redis Cluster, sharded pub/sub"), listed.stdout);
      } finally {
        await network.stop();
      }
    } finally {
      await setup.stop();
    }
  }, "secshrnet-cluster-tls-"));
