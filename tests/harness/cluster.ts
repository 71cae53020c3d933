/**
 * A throwaway Redis Cluster on loopback, for tests: a few masters splitting
 * the 16384 hash slots evenly, optionally replicas of each, every node its own
 * redis-server on a port below 40000 (its cluster bus, port + 10000, below
 * 50000), all under one temporary directory, with a failover on demand.
 * The cluster is built with plain commands (CLUSTER ADDSLOTSRANGE, MEET,
 * REPLICATE; Redis 7.0+), so redis-cli is not needed. Never touches a Redis
 * the user runs.
 *
 * @module
 */

import { type RedisProcess, type RedisTlsFiles, type RespReply, startRedis } from "./redis.ts";
import { freeLowPort, until } from "./sentinel.ts";

/** A node of a {@linkcode ClusterSetup}: a {@linkcode RedisProcess} that can also crash. */
export interface ClusterNode extends RedisProcess {
  /** SIGKILLs it (no shutdown, nothing said to the other nodes) and waits for it to exit. */
  kill(): Promise<void>;
}

/** A running cluster started by {@linkcode startCluster}. */
export interface ClusterSetup {
  /** Seed addresses "127.0.0.1:PORT" of every node (masters first). */
  readonly nodes: string[];
  /**
   * The nodes in the order of `nodes`: the masters, then the replicas, replica
   * k of master i at index masters + i * replicasPerMaster + k.
   */
  readonly processes: ClusterNode[];
  /** Ports of the current masters (CLUSTER NODES asked of a live node), by their lowest slot. */
  masterPorts(): Promise<number[]>;
  /** Port of the master that owns `key`'s slot now (CLUSTER KEYSLOT + CLUSTER SLOTS). */
  ownerOf(key: string): Promise<number>;
  /**
   * SIGKILLs the master at `port` (or the first master) and resolves once one
   * of its replicas is master and the cluster state is ok on every live node.
   */
  failover(port?: number): Promise<{ oldPort: number; newPort: number; elapsedMs: number }>;
  /** INFO stats total_net_input_bytes of each live node, by port. */
  netInput(): Promise<Map<number, number>>;
  /** Stops every node and removes the temporary directory. */
  stop(): Promise<void>;
}

/** How to start a {@linkcode ClusterSetup}. */
export interface ClusterOptions {
  /** How many masters (default 3). */
  masters?: number;
  /** How many replicas each master has (default 0; 1 for failover tests). */
  replicasPerMaster?: number;
  /** Password every node requires (and replicas use with their masters). */
  password?: string;
  /** Serve TLS only with these files, the cluster bus and replication too. */
  tls?: RedisTlsFiles;
}

/** The number of hash slots in a Redis Cluster. */
const SLOTS = 16384;

/** How long the nodes may take to agree on the topology before the harness gives up. */
const DEADLINE_MS = 60_000;

/**
 * Starts `masters` masters and `replicasPerMaster` replicas of each, splits
 * the slots evenly among the masters, and waits until every node knows every
 * other, sees the same masters and replicas, reports cluster_state:ok, and
 * every replica's link to its master is up. Whatever was started is stopped
 * when this fails.
 */
export async function startCluster(options: ClusterOptions = {}): Promise<ClusterSetup> {
  const masterCount = options.masters ?? 3;
  const replicasPerMaster = options.replicasPerMaster ?? 0;
  if (!Number.isInteger(masterCount) || masterCount < 1) {
    throw new Error(`masters must be a positive integer, not ${masterCount}`);
  }
  if (!Number.isInteger(replicasPerMaster) || replicasPerMaster < 0) {
    throw new Error(`replicasPerMaster must be a non-negative integer, not ${replicasPerMaster}`);
  }
  const { password, tls } = options;
  const dir = await Deno.makeTempDir({ prefix: "secshrnet-cluster-" });
  const processes: ClusterNode[] = [];
  const stop = async () => {
    await Promise.allSettled(processes.map((n) => n.stop()));
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  try {
    const total = masterCount * (1 + replicasPerMaster);
    for (let i = 0; i < total; i++) processes.push(await startNode(dir, password, tls));
    const masters = processes.slice(0, masterCount);
    for (const [i, master] of masters.entries()) {
      const first = Math.floor(i * SLOTS / masterCount);
      const last = Math.floor((i + 1) * SLOTS / masterCount) - 1;
      await master.command("CLUSTER", "ADDSLOTSRANGE", String(first), String(last));
      // Distinct config epochs for the masters, as redis-cli sets them.
      await master.command("CLUSTER", "SET-CONFIG-EPOCH", String(i + 1));
    }
    for (const node of processes.slice(1)) {
      await node.command("CLUSTER", "MEET", "127.0.0.1", String(processes[0].port));
    }
    const ids = await Promise.all(
      processes.map(async (n) => String(await n.command("CLUSTER", "MYID"))),
    );
    await until(
      () => allKnowAll(processes, ids),
      "every cluster node to know every other",
      DEADLINE_MS,
    );
    const masterOf = new Map<string, string>();
    for (let i = masterCount; i < total; i++) {
      const master = Math.floor((i - masterCount) / replicasPerMaster);
      await processes[i].command("CLUSTER", "REPLICATE", ids[master]);
      masterOf.set(ids[i], ids[master]);
    }
    await until(
      () => ready(processes, ids, masterOf),
      "the cluster state to be ok on every node with every replica linked",
      DEADLINE_MS,
    );
    const live = () => processes.filter((n) => !down.has(n));
    return {
      nodes: processes.map((n) => `127.0.0.1:${n.port}`),
      processes,
      masterPorts: async () => masterEntries(await askNodes(live())).map((e) => e.port),
      ownerOf: (key) => ownerOf(live(), key),
      failover: (port) => failover(processes, live, port),
      netInput: () => netInput(live()),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Nodes that were killed or stopped through the harness and not restarted. */
const down = new WeakSet<ClusterNode>();

/** A cluster redis-server on a free port below 40000 (bus below 50000), files under `dir`. */
async function startNode(
  dir: string,
  password: string | undefined,
  tls: RedisTlsFiles | undefined,
): Promise<ClusterNode> {
  const port = freeLowPort({ bus: true }); // Below 40000, so the bus port is below 50000.
  const nodeDir = `${dir}/node-${port}`;
  await Deno.mkdir(nodeDir);
  const auth = password === undefined ? [] : ["--requirepass", password, "--masterauth", password];
  const redis = await startRedis({
    port,
    args: [
      ["--dir", nodeDir],
      ["--cluster-enabled", "yes"],
      ["--cluster-config-file", `nodes-${port}.conf`],
      ["--cluster-node-timeout", "1000"],
      ["--repl-diskless-sync-delay", "0"], // A replica syncs at once, not after 5 s.
      ["--repl-ping-replica-period", "1"], // Moves a new replica's offset past 0 within a second.
      auth,
      tls === undefined ? [] : ["--tls-cluster", "yes", "--tls-replication", "yes"],
    ].flat(),
    auth: password === undefined ? undefined : { password },
    tls,
  });
  // startRedis waits for the port to accept; PING waits for the event loop (bus listening too).
  await until(async () => await redis.command("PING") === "PONG", `PONG from ${port}`, 10_000)
    .catch(async (error) => {
      await redis.stop();
      throw error;
    });
  const node: ClusterNode = {
    ...redis,
    stop: async () => {
      down.add(node);
      await redis.stop();
    },
    restart: async () => {
      await redis.restart();
      down.delete(node);
    },
    kill: async () => {
      const info = String(await redis.command("INFO", "server"));
      const pid = Number(/^process_id:(\d+)/m.exec(info)?.[1]);
      down.add(node);
      Deno.kill(pid, "SIGKILL");
      await redis.stop(); // Reaps it.
    },
  };
  return node;
}

/** One line of CLUSTER NODES. */
interface NodeEntry {
  id: string;
  port: number;
  flags: string[];
  /** The master's id for a replica, "-" for a master. */
  master: string;
  linkState: string;
  /** Lowest slot it owns, or Infinity. */
  firstSlot: number;
}

/** Parses a CLUSTER NODES reply. */
function parseNodes(reply: RespReply): NodeEntry[] {
  return String(reply).split("\n").filter((line) => line.trim() !== "").map((line) => {
    const [id, address, flags, master, , , , linkState, ...slots] = line.trim().split(" ");
    const port = Number(/:(\d+)@/.exec(address)?.[1]);
    const starts = slots.filter((s) => !s.startsWith("[")).map((s) => Number(s.split("-")[0]));
    return {
      id,
      port,
      flags: flags.split(","),
      master,
      linkState,
      firstSlot: Math.min(Infinity, ...starts),
    };
  });
}

/** Whether the entry is a master not flagged failing. */
function isLiveMaster(entry: NodeEntry): boolean {
  return entry.flags.includes("master") && !entry.flags.includes("fail") &&
    !entry.flags.includes("fail?");
}

/** The live masters of a CLUSTER NODES view, by lowest slot. */
function masterEntries(entries: NodeEntry[]): { id: string; port: number }[] {
  return entries.filter(isLiveMaster).sort((a, b) => a.firstSlot - b.firstSlot);
}

/** CLUSTER NODES from the first of `nodes` that answers. */
async function askNodes(nodes: ClusterNode[]): Promise<NodeEntry[]> {
  let failure: unknown = new Error("no live node");
  for (const node of nodes) {
    try {
      return parseNodes(await node.command("CLUSTER", "NODES"));
    } catch (error) {
      failure = error;
    }
  }
  throw new Error(`no cluster node answers CLUSTER NODES: ${failure}`);
}

/** Whether every node lists all `ids`, none in handshake, every link connected. */
async function allKnowAll(nodes: ClusterNode[], ids: string[]): Promise<boolean> {
  for (const node of nodes) {
    const entries = parseNodes(await node.command("CLUSTER", "NODES"));
    if (entries.length !== ids.length) return false;
    if (!ids.every((id) => entries.some((e) => e.id === id))) return false;
    if (entries.some((e) => e.linkState !== "connected" || e.flags.includes("handshake"))) {
      return false;
    }
  }
  return true;
}

/**
 * Whether every node sees each replica under its master (in CLUSTER NODES and
 * CLUSTER SLOTS) and says cluster_state:ok, and every replica is linked.
 */
async function ready(
  nodes: ClusterNode[],
  ids: string[],
  masterOf: Map<string, string>,
): Promise<boolean> {
  for (const node of nodes) {
    const entries = parseNodes(await node.command("CLUSTER", "NODES"));
    for (const entry of entries) {
      const expected = masterOf.get(entry.id);
      if (expected === undefined ? !isLiveMaster(entry) : entry.master !== expected) return false;
      if (entry.flags.some((f) => f.startsWith("fail"))) return false;
    }
    if (!await clusterOk(node)) return false;
    // CLUSTER SLOTS (what clients read) lists a replica only once its offset is past 0.
    const ranges = await node.command("CLUSTER", "SLOTS") as RespReply[][];
    for (const range of ranges) {
      const masterId = (range[2] as RespReply[])[2];
      const replicas = [...masterOf.values()].filter((id) => id === masterId).length;
      if (range.length - 3 !== replicas) return false;
    }
  }
  for (const [i, node] of nodes.entries()) {
    if (!masterOf.has(ids[i])) continue;
    const info = String(await node.command("INFO", "replication"));
    if (!/^master_link_status:up\r?$/m.test(info)) return false;
  }
  return true;
}

/** Whether CLUSTER INFO on `node` says cluster_state:ok. */
async function clusterOk(node: ClusterNode): Promise<boolean> {
  return /^cluster_state:ok\r?$/m.test(String(await node.command("CLUSTER", "INFO")));
}

/** The port of the master that serves `key`'s slot, as the first live node that answers sees it. */
async function ownerOf(nodes: ClusterNode[], key: string): Promise<number> {
  let failure: unknown = new Error("no live node");
  for (const node of nodes) {
    try {
      const slot = Number(await node.command("CLUSTER", "KEYSLOT", key));
      const ranges = await node.command("CLUSTER", "SLOTS") as RespReply[][];
      const range = ranges.find((r) => Number(r[0]) <= slot && slot <= Number(r[1]));
      if (range === undefined) throw new Error(`slot ${slot} of ${key} has no owner`);
      return Number((range[2] as RespReply[])[1]);
    } catch (error) {
      failure = error;
    }
  }
  throw new Error(`no cluster node tells the owner of ${JSON.stringify(key)}: ${failure}`);
}

/**
 * SIGKILLs the master at `port` (default: the first one); resolves once every
 * live node names the same one of its replicas as master and says
 * cluster_state:ok, and that replica answers ROLE with "master".
 */
async function failover(
  processes: ClusterNode[],
  live: () => ClusterNode[],
  port: number | undefined,
): Promise<{ oldPort: number; newPort: number; elapsedMs: number }> {
  const entries = await askNodes(live());
  const masters = masterEntries(entries);
  const oldPort = port ?? masters[0]?.port;
  const old = masters.find((m) => m.port === oldPort);
  if (old === undefined) throw new Error(`no live master on port ${oldPort}`);
  const replicaPorts = entries.filter((e) => e.master === old.id).map((e) => e.port);
  if (replicaPorts.length === 0) {
    throw new Error(`master ${oldPort} has no replica to fail over to (replicasPerMaster: 0)`);
  }
  const victim = processes.find((n) => n.port === oldPort);
  if (victim === undefined) throw new Error(`master ${oldPort} is no node of ours`);
  const started = performance.now();
  await victim.kill();
  let newPort = oldPort;
  await until(async () => {
    const nodes = live();
    const promoted = new Set<number>();
    for (const node of nodes) {
      const view = parseNodes(await node.command("CLUSTER", "NODES"));
      const replicaMaster = view.find((e) => replicaPorts.includes(e.port) && isLiveMaster(e));
      if (replicaMaster === undefined) return false;
      promoted.add(replicaMaster.port);
      if (!await clusterOk(node)) return false;
    }
    if (promoted.size !== 1) return false;
    newPort = [...promoted][0];
    const node = nodes.find((n) => n.port === newPort);
    return node !== undefined && (await node.command("ROLE") as RespReply[])[0] === "master";
  }, `a replica of ${oldPort} to take over its slots`);
  return { oldPort, newPort, elapsedMs: Math.round(performance.now() - started) };
}

/** INFO stats total_net_input_bytes of each of `nodes`, by port. */
async function netInput(nodes: ClusterNode[]): Promise<Map<number, number>> {
  const bytes = new Map<number, number>();
  for (const node of nodes) {
    const info = String(await node.command("INFO", "stats"));
    const value = /^total_net_input_bytes:(\d+)/m.exec(info)?.[1];
    if (value === undefined) throw new Error(`no total_net_input_bytes from ${node.port}`);
    bytes.set(node.port, Number(value));
  }
  return bytes;
}
