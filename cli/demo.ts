/**
 * `deno task demo`: the whole job on a throwaway local network. It starts a
 * redis-server on a free loopback port and five `secshrnet serve` processes
 * with temporary roots, trusts them through the real CLI, stores a generated
 * file with k = 3, stops two servers, gets the file back, checks it byte for
 * byte, and shows the storage each server used. Then it replaces the two lost
 * servers with empty ones and runs the "when a server dies" runbook: `check`,
 * `trust`, `repair`, `check`. Everything it started is stopped and removed at
 * the end, also on Ctrl-C.
 *
 * `deno task demo -- --sentinel` runs the same over Redis Sentinel (a master,
 * a replica and 3 sentinels): the hosts find the master through the
 * sentinels, and before the get the master is SIGKILLed, so the get runs on
 * the replica the sentinels promote.
 *
 * `deno task demo -- --cluster` runs it over a Redis Cluster (3 masters, a
 * replica each) with sharded pub/sub: `servers` shows which master each
 * server's channel lives on, and before the get the master holding the most
 * servers is SIGKILLed, so the get runs after its replica took over.
 *
 * @module
 */

import { haveRedisServer } from "../tests/harness/redis.ts";
import { startNetwork, type TestNetwork } from "../tests/harness/network.ts";
import {
  masterBus,
  sentinelConfig,
  type SentinelSetup,
  startSentinels,
} from "../tests/harness/sentinel.ts";
import { type ClusterSetup, startCluster } from "../tests/harness/cluster.ts";
import { clusterBus, clusterConfig } from "../tests/harness/cluster_network.ts";
import { formatSize } from "./format.ts";

const SIZE = 64 * 2 ** 20;
const TAG = "/demo/backup.tar";
const ENV = { SECSHRNET_PASSWORD: "demo password, not a real one" };

const step = (text: string) => console.log(`\n▶ ${text}`);

const topologies = ["--sentinel", "--cluster"];
const chosen = Deno.args.filter((arg) => arg !== "--");
const unknown = chosen.filter((arg) => !topologies.includes(arg));
if (unknown.length > 0 || chosen.length > 1) {
  const what = unknown.length > 0 ? `unknown argument ${unknown[0]}` : "two topologies";
  console.error(`secshrnet demo: ${what}; the demo takes --sentinel or --cluster`);
  Deno.exit(2);
}
const SENTINEL = chosen.includes("--sentinel");
const CLUSTER = chosen.includes("--cluster");
const CLUSTER_PASSWORD = "demo cluster password";

async function sha256File(path: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", await Deno.readFile(path));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

async function bytesUnder(dir: string): Promise<number> {
  let total = 0;
  for await (const entry of Deno.readDir(dir)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) total += await bytesUnder(path);
    else if (entry.isFile) total += (await Deno.stat(path)).size;
  }
  return total;
}

/** Port of the master whose shard holds the most online servers' channels. */
async function busiestMaster(network: TestNetwork): Promise<number> {
  const listed = await network.run(["servers", "--json"]);
  const counts = new Map<string, number>();
  for (const { redisNode } of JSON.parse(listed.stdout) as { redisNode: string }[]) {
    counts.set(redisNode, (counts.get(redisNode) ?? 0) + 1);
  }
  const [node] = [...counts].sort((a, b) => b[1] - a[1])[0];
  return Number(node.slice(node.lastIndexOf(":") + 1));
}

async function run(network: TestNetwork, args: string[], expected = 0) {
  console.log(
    `  $ secshrnet ${args.map((a) => a.includes(" ") ? JSON.stringify(a) : a).join(" ")}`,
  );
  const result = await network.run(args, { env: ENV });
  for (const line of result.stdout.trimEnd().split("\n")) if (line) console.log(`    ${line}`);
  for (const line of result.stderr.trimEnd().split("\n")) if (line) console.log(`    ${line}`);
  if (result.code !== expected) {
    throw new Error(`secshrnet ${args[0]} exited with ${result.code}, not ${expected}`);
  }
}

if (!await haveRedisServer()) {
  console.error(
    "secshrnet demo: redis-server is not on the PATH; install it (Debian/Ubuntu: sudo apt-get install redis-server, macOS: brew install redis) and run again",
  );
  Deno.exit(1);
}

console.log(
  `secshrnet demo: a throwaway network on this machine (${
    SENTINEL
      ? "Redis Sentinel: a master, a replica, 3 sentinels"
      : CLUSTER
      ? "a Redis Cluster of 3 masters with a replica each"
      : "Redis"
  } + 5 servers), removed at the end`,
);
let network: TestNetwork | undefined;
let sentinels: SentinelSetup | undefined;
let cluster: ClusterSetup | undefined;
let interrupted = false;
Deno.addSignalListener("SIGINT", async () => {
  if (interrupted) return;
  interrupted = true;
  console.log("\ninterrupted; stopping everything the demo started");
  await network?.stop();
  await sentinels?.stop();
  await cluster?.stop();
  Deno.exit(130);
});

try {
  if (SENTINEL) {
    step("Starting a Redis master, a replica, 3 sentinels and 5 storage servers");
    sentinels = await startSentinels();
    network = await startNetwork(5, {
      trust: false,
      external: masterBus(sentinels),
      config: sentinelConfig(sentinels),
    });
    console.log(`  sentinels at ${sentinels.sentinels.join(", ")}`);
    console.log(
      `  master at 127.0.0.1:${await sentinels.masterPort()}; every host asks the sentinels`,
    );
  } else if (CLUSTER) {
    step("Starting a Redis Cluster (3 masters, a replica each) and 5 storage servers");
    cluster = await startCluster({ replicasPerMaster: 1, password: CLUSTER_PASSWORD });
    network = await startNetwork(5, {
      trust: false,
      external: clusterBus(cluster),
      config: clusterConfig(cluster, CLUSTER_PASSWORD),
    });
    console.log(`  cluster nodes at ${cluster.nodes.join(", ")}`);
    console.log("  every host's channel lives on the master owning its slot (sharded pub/sub)");
  } else {
    step("Starting redis-server and 5 storage servers");
    network = await startNetwork(5, { trust: false });
    console.log(`  redis-server at ${network.redis.url}`);
  }
  for (const server of network.servers) {
    console.log(`  server ${server.name}  root ${server.root}`);
  }

  step("Trusting them: a client uses only the servers it pins, like SSH's known_hosts");
  console.log("  (on real machines, compare each id with ROOT/server-id on that machine)");
  await run(network, ["trust", "--all"]);
  const trusted = (await Deno.readTextFile(network.trustFile)).split("\n")
    .filter((line) => /^[0-9a-f]{64}\b/.test(line)).length;
  if (trusted !== network.servers.length) throw new Error(`trusted ${trusted} servers, not 5`);

  step(`Generating a ${formatSize(SIZE)} file of random bytes`);
  const input = `${network.dir}/backup.tar`;
  const file = await Deno.open(input, { write: true, create: true });
  const block = new Uint8Array(2 ** 20);
  for (let written = 0; written < SIZE; written += block.length) {
    for (let i = 0; i < block.length; i += 65536) {
      crypto.getRandomValues(block.subarray(i, i + 65536));
    }
    await file.write(block);
  }
  file.close();
  const original = await sha256File(input);
  console.log(`  SHA-256 ${original}`);

  step("Storing it: any 3 of the 5 servers can rebuild it, fewer learn nothing");
  console.log(
    "  (password from SECSHRNET_PASSWORD; scrypt --log-n 16 keeps the demo quick, the default is 20)",
  );
  let started = performance.now();
  await run(network, ["put", TAG, input, "-k", "3", "--log-n", "16"]);
  console.log(`  took ${((performance.now() - started) / 1000).toFixed(1)} s`);

  step("Storage used by each server");
  let total = 0;
  for (const server of network.servers) {
    const used = await bytesUnder(`${server.root}/tags`);
    total += used;
    console.log(
      `  server ${server.name}: ${formatSize(used)} (${
        (used / SIZE * 100).toFixed(1)
      } % of the file)`,
    );
  }
  console.log(
    `  all servers: ${formatSize(total)} = ${
      (total / SIZE).toFixed(3)
    } × the file (n/k = 5/3 = 1.667)`,
  );
  await run(network, ["ls"]);

  step("Stopping two servers");
  for (const server of network.servers.slice(0, 2)) {
    await server.stop();
    console.log(`  stopped ${server.name}`);
  }
  await network.waitForServers(3);

  if (sentinels !== undefined) {
    step(
      "Killing the Redis master (SIGKILL): the sentinels promote the replica; every host follows",
    );
    const { oldPort, newPort, elapsedMs } = await sentinels.failover();
    console.log(
      `  master 127.0.0.1:${oldPort} killed; 127.0.0.1:${newPort} promoted in ${
        (elapsedMs / 1000).toFixed(1)
      } s`,
    );
    await network.waitForServers(3);
    console.log("  the 3 servers left are back on the new master, none restarted");
  }
  if (cluster !== undefined) {
    step("Which master each server's channel lives on");
    await run(network, ["servers"]);
    const victim = await busiestMaster(network);
    step(
      "Killing the cluster master holding the most servers (SIGKILL): its replica takes over",
    );
    const { oldPort, newPort, elapsedMs } = await cluster.failover(victim);
    console.log(
      `  master 127.0.0.1:${oldPort} killed; its replica 127.0.0.1:${newPort} took over in ${
        (elapsedMs / 1000).toFixed(1)
      } s`,
    );
    await network.waitForServers(3);
    await run(network, ["servers"]);
    console.log("  the servers of the killed master moved to the new one, none restarted");
  }

  step("Getting the file back from the 3 servers left");
  const output = `${network.dir}/restored.tar`;
  started = performance.now();
  await run(network, ["get", TAG, output]);
  console.log(`  took ${((performance.now() - started) / 1000).toFixed(1)} s`);
  const restored = await sha256File(output);
  console.log(`  SHA-256 ${restored}`);
  if (restored !== original) throw new Error("the restored file differs from the original");
  console.log("  ✔ identical to the original, byte for byte");

  step("Trying a wrong password");
  const wrong = await network.run(["get", TAG, `${network.dir}/wrong.tar`], {
    env: { SECSHRNET_PASSWORD: "not the password" },
  });
  console.log(`    ${wrong.stderr.trim()} (exit ${wrong.code})`);
  if (wrong.code !== 5) throw new Error("a wrong password was not refused");
  console.log("  ✔ refused");

  step("Checking redundancy: 3 of 5 shares left, so the file is degraded (exit 3)");
  await run(network, ["check"], 3);

  step("Replacing the two lost servers with two empty ones; trusting them, untrusting the lost");
  for (let i = 0; i < 2; i++) {
    const server = await network.addServer({ trusted: false });
    console.log(`  server ${server.name}  root ${server.root}`);
  }
  await network.waitForServers(5);
  await run(network, ["trust", "--all"]);
  await run(network, ["untrust", ...network.servers.slice(0, 2).map((s) => s.name)]);

  step("Repairing: only the two missing shares are rebuilt and sent; the others stay as they are");
  started = performance.now();
  await run(network, ["repair"]);
  console.log(`  took ${((performance.now() - started) / 1000).toFixed(1)} s`);
  await run(network, ["check"]);
  console.log("  ✔ healthy again: any 3 of the 5 servers rebuild it");

  console.log("\nDemo finished: every check passed.");
} catch (error) {
  if (!interrupted) console.error(`\nsecshrnet demo failed: ${(error as Error).message}`);
  Deno.exitCode = 1;
} finally {
  if (!interrupted) {
    step("Cleaning up");
    await network?.stop();
    await sentinels?.stop();
    await cluster?.stop();
    console.log("  stopped every process and removed every file the demo made");
  }
}
