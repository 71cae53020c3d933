/**
 * The cluster part of `deno task bench` (issue 12): put and get through the
 * CLI across 5 local servers on a fresh 3-master Redis Cluster (no replicas,
 * sharded pub/sub), all on this machine. It times the commands as the
 * single-node part does (bench/network.ts), checks the file comes back byte
 * for byte, and for each master counts the servers whose channel lives there
 * (`secshrnet servers --json`, field `redisNode`) and the MiB it received
 * (INFO stats total_net_input_bytes) during the put and during the get.
 *
 * @module
 */

import { startNetwork, type TestNetwork } from "../tests/harness/network.ts";
import { startCluster } from "../tests/harness/cluster.ts";
import { clusterBus, clusterConfig } from "../tests/harness/cluster_network.ts";
import { measurePutGet, type NetworkRun } from "./network.ts";
import { table } from "./report.ts";

/** Masters of the benchmark's cluster. */
const MASTERS = 3;

/** Password every cluster node requires. */
const PASSWORD = "secshrnet bench cluster password";

/** One master's share of the traffic. */
export interface MasterTraffic {
  /** Its port on 127.0.0.1. */
  port: number;
  /** Servers whose channel lives on it. */
  servers: number;
  /** MiB it received during the put. */
  putInputMiB: number;
  /** MiB it received during the get. */
  getInputMiB: number;
}

/** What the cluster part measured. */
export interface ClusterRun extends Omit<NetworkRun, "redisInputPutMiB" | "redisInputGetMiB"> {
  /** Each master, by lowest slot. */
  masters: MasterTraffic[];
}

/** Each online server's Redis node port, from `secshrnet servers --json`. */
async function serverPorts(network: TestNetwork): Promise<number[]> {
  const listed = await network.run(["servers", "--json"]);
  if (listed.code !== 0) throw new Error(`secshrnet servers --json failed: ${listed.stderr}`);
  const servers = JSON.parse(listed.stdout) as { redisNode?: string }[];
  return servers.map((s) => {
    const node = s.redisNode ?? "?";
    const port = Number(node.slice(node.lastIndexOf(":") + 1));
    if (!Number.isInteger(port)) throw new Error(`servers --json: no Redis node in ${node}`);
    return port;
  });
}

/** Measures put and get of `sizeMiB` on a fresh 3-master cluster with 5 servers. */
export async function runClusterBench(
  sizeMiB: number,
  progress: (text: string) => void,
): Promise<ClusterRun> {
  progress(`starting a ${MASTERS}-master Redis Cluster …`);
  const setup = await startCluster({ masters: MASTERS, replicasPerMaster: 0, password: PASSWORD });
  try {
    const network = await startNetwork(5, {
      external: clusterBus(setup),
      config: clusterConfig(setup, PASSWORD),
    });
    try {
      const ports = await serverPorts(network);
      if (ports.length !== 5) {
        throw new Error(`servers --json lists ${ports.length} servers, not 5`);
      }
      const measured = await measurePutGet(
        network,
        sizeMiB,
        "cluster",
        progress,
        () => setup.netInput(),
      );
      const masters = (await setup.masterPorts()).map((port) => ({
        port,
        servers: ports.filter((p) => p === port).length,
        putInputMiB: measured.putInputMiB.get(port) ?? NaN,
        getInputMiB: measured.getInputMiB.get(port) ?? NaN,
      }));
      return { ...measured.run, masters };
    } finally {
      await network.stop();
    }
  } finally {
    await setup.stop();
  }
}

/**
 * The cluster results as text, beside the single-node run of the same size
 * (when there is one), with the bytes each Redis node received.
 */
export function clusterReport(run: ClusterRun, single: NetworkRun | undefined): string {
  const total = (f: (m: MasterTraffic) => number) => run.masters.reduce((a, m) => a + f(m), 0);
  const rows: string[][] = [];
  if (single !== undefined) {
    rows.push([
      "single redis-server",
      `${single.sizeMiB} MiB`,
      single.putMibps.toFixed(1),
      single.getMibps.toFixed(1),
      "5",
      single.redisInputPutMiB.toFixed(1),
      single.redisInputGetMiB.toFixed(1),
      String(single.identical),
    ]);
  }
  rows.push([
    `cluster, ${run.masters.length} masters (all)`,
    `${run.sizeMiB} MiB`,
    run.putMibps.toFixed(1),
    run.getMibps.toFixed(1),
    String(total((m) => m.servers)),
    total((m) => m.putInputMiB).toFixed(1),
    total((m) => m.getInputMiB).toFixed(1),
    String(run.identical),
  ]);
  for (const m of run.masters) {
    rows.push([
      `  master 127.0.0.1:${m.port}`,
      "",
      "",
      "",
      String(m.servers),
      m.putInputMiB.toFixed(1),
      m.getInputMiB.toFixed(1),
      "",
    ]);
  }
  const fragmentMiB = run.sizeMiB / 3;
  return [
    "Redis Cluster: put and get through the CLI, 5 local servers, k=3, a fresh 3-master cluster " +
    "(no replicas, sharded pub/sub), beside the single redis-server run of the same size:",
    "(servers = servers whose channel lives on the node, from `secshrnet servers --json`; " +
    "MiB in = INFO stats total_net_input_bytes during the command)",
    table(
      ["Redis", "size", "put MB/s", "get MB/s", "servers", "MiB in put", "MiB in get", "identical"],
      rows,
    ),
    `  one fragment ≈ ${fragmentMiB.toFixed(1)} MiB (size / k); client peak RSS put/get ${
      run.clientPeakPutMiB.toFixed(0)
    } / ${run.clientPeakGetMiB.toFixed(0)} MiB, server peak (max) ${
      Math.max(...run.serverPeakMiB).toFixed(0)
    } MiB, stored/size ${run.storedRatio.toFixed(4)}`,
    `  [${run.identical ? "PASS" : "FAIL"}] file retrieved byte for byte over the cluster: ${
      String(run.identical)
    }`,
  ].join("\n");
}
