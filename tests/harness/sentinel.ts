/**
 * A throwaway Sentinel-managed Redis on loopback, for tests: a master, its
 * replicas and a few sentinels watching them, each its own process on a free
 * port below 50000, all under one temporary directory, with a failover on
 * demand. Never touches a Redis the user runs.
 *
 * @module
 */

import {
  type RedisProcess,
  type RedisTlsFiles,
  type RespReply,
  startRedis,
  stopChild,
} from "./redis.ts";
import { sentinelCommandOver } from "./sentinel_command.ts";

/** A data node of a {@linkcode SentinelSetup}: a {@linkcode RedisProcess} that can also crash. */
export interface SentinelNode extends RedisProcess {
  /** SIGKILLs it (no shutdown, nothing said to replicas or sentinels) and waits for it to exit. */
  kill(): Promise<void>;
}

/** A running Sentinel topology started by {@linkcode startSentinels}. */
export interface SentinelSetup {
  /** Sentinel addresses as "127.0.0.1:PORT". */
  readonly sentinels: string[];
  /** The master group name (default "secshrnet"). */
  readonly masterName: string;
  /** Port of the node the sentinels currently call master (asks a sentinel: SENTINEL get-master-addr-by-name). */
  masterPort(): Promise<number>;
  /**
   * The data nodes, master first at start, then the replicas. `restart()`
   * starts a node again on the same port with the same arguments; after a
   * failover the sentinels turn a restarted old master into a replica.
   */
  readonly nodes: SentinelNode[];
  /**
   * SIGKILLs the current master and resolves once every sentinel reports
   * another node as master and that node answers ROLE with "master".
   */
  failover(): Promise<{ oldPort: number; newPort: number; elapsedMs: number }>;
  /** Stops every sentinel and node and removes the temporary directory. */
  stop(): Promise<void>;
}

/** How to start a {@linkcode SentinelSetup}. */
export interface SentinelOptions {
  /** The master group name the sentinels monitor (default "secshrnet"). */
  masterName?: string;
  /** Password the data nodes require (and use with each other); the sentinels know it. */
  password?: string;
  /** How many sentinels (default 3); the quorum is a majority of them. */
  sentinels?: number;
  /** How many replicas (default 1). */
  replicas?: number;
  /**
   * Serve TLS only, nodes and sentinels alike, with these files; replication
   * and the sentinels' connections to the nodes use TLS too.
   */
  tls?: RedisTlsFiles;
  /** The sentinels' down-after-milliseconds (default 1000; docs/REDIS.md uses 5000). */
  downAfterMs?: number;
  /** Extra redis-server arguments of every data node, e.g. `["--aclfile", path]`. */
  nodeArgs?: string[];
}

/** How long startup and a failover may take before the harness gives up (a hang guard). */
const DEADLINE_MS = 60_000;

/**
 * A TCP port in 20000–49999 on 127.0.0.1 that was free a moment ago. With
 * `bus`, port + 10000 (a Redis Cluster node's bus port) was free too, and
 * both are below 50000.
 */
export function freeLowPort(options: { bus?: boolean } = {}): number {
  const span = options.bus ? 20_000 : 30_000;
  for (let attempt = 0; attempt < 1000; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * span);
    if (canListen(port) && (!options.bus || canListen(port + 10_000))) return port;
  }
  throw new Error("no free port below 50000 on 127.0.0.1");
}

function canListen(port: number): boolean {
  try {
    Deno.listen({ hostname: "127.0.0.1", port }).close();
    return true;
  } catch {
    return false;
  }
}

/**
 * Starts a master, `replicas` replicas of it and `sentinels` sentinels
 * monitoring it as `masterName`, and waits until a failover can happen: every
 * replica's link to the master is up and every sentinel knows every replica
 * and every other sentinel. Whatever was started is stopped when this fails.
 */
export async function startSentinels(options: SentinelOptions = {}): Promise<SentinelSetup> {
  const masterName = options.masterName ?? "secshrnet";
  const sentinelCount = options.sentinels ?? 3;
  const replicaCount = options.replicas ?? 1;
  const { password, tls } = options;
  const ask = (sentinel: string, ...command: string[]) =>
    sentinelCommandOver(sentinel, tls?.caFile, command);
  const dir = await Deno.makeTempDir({ prefix: "secshrnet-sentinel-" });
  const nodes: SentinelNode[] = [];
  const sentinelProcesses: ChildHandle[] = [];
  const stop = async () => {
    // Sentinels first, so none reconfigures a node while the nodes stop.
    await Promise.allSettled(sentinelProcesses.map((s) => s.stop()));
    await Promise.allSettled(nodes.map((n) => n.stop()));
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  try {
    const auth = [
      ...password === undefined ? [] : ["--requirepass", password, "--masterauth", password],
      ...tls === undefined ? [] : ["--tls-replication", "yes"],
      ...options.nodeArgs ?? [],
    ];
    nodes.push(await startNode(dir, auth, password, tls));
    const masterPort = nodes[0].port;
    for (let i = 0; i < replicaCount; i++) {
      const args = [...auth, "--replicaof", "127.0.0.1", String(masterPort)];
      nodes.push(await startNode(dir, args, password, tls));
    }
    const monitor: Monitor = {
      masterName,
      masterPort,
      quorum: Math.floor(sentinelCount / 2) + 1,
      password,
      downAfterMs: options.downAfterMs ?? 1000,
      tls,
    };
    for (let i = 0; i < sentinelCount; i++) {
      sentinelProcesses.push(await startSentinel(dir, monitor));
    }
    const sentinels = sentinelProcesses.map((s) => s.address);
    const setup: SentinelSetup = {
      sentinels,
      masterName,
      nodes,
      masterPort: () => askMasterPort(ask, sentinels, masterName),
      failover: () => failover(ask, sentinels, masterName, nodes),
      stop,
    };
    await until(() => ready(ask, setup), "replicas linked and sentinels aware of each other");
    return setup;
  } catch (error) {
    await stop();
    throw error;
  }
}

/** A redis-server data node on a free low port, its files under `dir`. */
async function startNode(
  dir: string,
  args: string[],
  password: string | undefined,
  tls: RedisTlsFiles | undefined,
): Promise<SentinelNode> {
  const port = freeLowPort();
  const nodeDir = `${dir}/node-${port}`;
  await Deno.mkdir(nodeDir);
  const redis = await startRedis({
    port,
    args: ["--dir", nodeDir, ...args],
    auth: password === undefined ? undefined : { password },
    tls,
  });
  return {
    ...redis,
    kill: async () => {
      const info = String(await redis.command("INFO", "server"));
      const pid = Number(/^process_id:(\d+)/m.exec(info)?.[1]);
      Deno.kill(pid, "SIGKILL");
      await redis.stop(); // Reaps it.
    },
  };
}

/** One command to a sentinel of this setup (over TLS when it serves TLS). */
type Ask = (sentinel: string, ...command: string[]) => Promise<RespReply>;

/** A child process the harness started itself, and how to stop it. */
interface ChildHandle {
  readonly address: string;
  stop(): Promise<void>;
}

/** What a sentinel monitors. */
interface Monitor {
  masterName: string;
  masterPort: number;
  quorum: number;
  password: string | undefined;
  downAfterMs: number;
  tls: RedisTlsFiles | undefined;
}

/** A sentinel on a free low port with its own (rewritable) config file under `dir`. */
async function startSentinel(dir: string, monitor: Monitor): Promise<ChildHandle> {
  const port = freeLowPort();
  const file = `${dir}/sentinel-${port}.conf`;
  const name = monitor.masterName;
  const { tls } = monitor;
  const lines = [
    ...tls === undefined ? [`port ${port}`] : [
      "port 0",
      `tls-port ${port}`,
      `tls-cert-file ${quote(tls.certFile)}`,
      `tls-key-file ${quote(tls.keyFile)}`,
      `tls-ca-cert-file ${quote(tls.caFile)}`,
      "tls-auth-clients no",
      "tls-replication yes", // the sentinels reach the nodes over TLS
    ],
    "bind 127.0.0.1",
    "protected-mode no",
    `dir ${quote(dir)}`,
    `logfile ${quote(`${dir}/sentinel-${port}.log`)}`,
    "sentinel resolve-hostnames no",
    `sentinel monitor ${name} 127.0.0.1 ${monitor.masterPort} ${monitor.quorum}`,
    `sentinel down-after-milliseconds ${name} ${monitor.downAfterMs}`,
    `sentinel failover-timeout ${name} 5000`,
    `sentinel parallel-syncs ${name} 1`,
    ...monitor.password === undefined
      ? []
      : [`sentinel auth-pass ${name} ${quote(monitor.password)}`],
  ];
  await Deno.writeTextFile(file, lines.join("\n") + "\n");
  const child = new Deno.Command("redis-server", {
    args: [file, "--sentinel"],
    stdin: "null",
    stdout: "null",
    stderr: "piped", // Config errors come here, before the log file opens.
  }).spawn();
  const stderr = new Response(child.stderr).text(); // Ends when it exits.
  const address = `127.0.0.1:${port}`;
  const stop = async () => {
    await stopChild(child);
    await stderr;
  };
  let exited = false;
  child.status.then(() => exited = true);
  try {
    await until(
      async () => {
        if (!exited) (await Deno.connect({ hostname: "127.0.0.1", port })).close();
        return true;
      },
      `sentinel listening on ${address}`,
      10_000,
    );
    if (exited) throw new Error(`the sentinel on ${address} exited at start`);
  } catch (error) {
    await stop();
    const log = await Deno.readTextFile(`${dir}/sentinel-${port}.log`).catch(() => "");
    throw new Error(`${(error as Error).message}\n${(await stderr + log).trim()}`);
  }
  return { address, stop };
}

/** A value for a Redis config file, in double quotes. */
function quote(value: string): string {
  return `"${value.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`;
}

/** Whether every replica is linked and every sentinel knows the master, the replicas and its peers. */
async function ready(ask: Ask, setup: SentinelSetup): Promise<boolean> {
  const [master, ...replicas] = setup.nodes;
  for (const replica of replicas) {
    const info = String(await replica.command("INFO", "replication"));
    if (!/^master_link_status:up\r?$/m.test(info)) return false;
  }
  const name = setup.masterName;
  for (const sentinel of setup.sentinels) {
    if (await sentinelMasterPort(ask, sentinel, name) !== master.port) return false;
    const known = await ask(sentinel, "SENTINEL", "REPLICAS", name) as RespReply[];
    const healthy = known.map(fields).filter((r) => r.get("flags") === "slave");
    if (healthy.length !== replicas.length) return false;
    const peers = await ask(sentinel, "SENTINEL", "SENTINELS", name) as RespReply[];
    if (peers.length !== setup.sentinels.length - 1) return false;
  }
  return true;
}

/** A flat [key, value, key, value, ...] reply as a map. */
function fields(reply: RespReply): Map<string, string> {
  const items = reply as string[];
  const map = new Map<string, string>();
  for (let i = 0; i + 1 < items.length; i += 2) map.set(items[i], items[i + 1]);
  return map;
}

/** The master port `sentinel` reports for `name`. */
async function sentinelMasterPort(ask: Ask, sentinel: string, name: string): Promise<number> {
  const reply = await ask(sentinel, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", name);
  if (!Array.isArray(reply)) throw new Error(`sentinel ${sentinel} does not know ${name}`);
  return Number(reply[1]);
}

/** The master port the first sentinel that answers reports. */
async function askMasterPort(ask: Ask, sentinels: string[], name: string): Promise<number> {
  let failure: unknown;
  for (const sentinel of sentinels) {
    try {
      return await sentinelMasterPort(ask, sentinel, name);
    } catch (error) {
      failure = error;
    }
  }
  throw new Error(`no sentinel reports a master for ${name}: ${failure}`);
}

/** SIGKILLs the current master; resolves once all sentinels name a new one that says it is master. */
async function failover(
  ask: Ask,
  sentinels: string[],
  name: string,
  nodes: SentinelNode[],
): Promise<{ oldPort: number; newPort: number; elapsedMs: number }> {
  const oldPort = await askMasterPort(ask, sentinels, name);
  const victim = nodes.find((n) => n.port === oldPort);
  if (victim === undefined) throw new Error(`the sentinels' master ${oldPort} is no node of ours`);
  const started = performance.now();
  await victim.kill();
  let newPort = oldPort;
  await until(async () => {
    const ports = await Promise.all(sentinels.map((s) => sentinelMasterPort(ask, s, name)));
    if (ports[0] === oldPort || ports.some((p) => p !== ports[0])) return false;
    const node = nodes.find((n) => n.port === ports[0]);
    if (node === undefined) throw new Error(`the sentinels promoted ${ports[0]}, no node of ours`);
    const role = await node.command("ROLE") as RespReply[];
    newPort = ports[0];
    return role[0] === "master";
  }, `sentinels to promote a replica after killing ${oldPort}`);
  return { oldPort, newPort, elapsedMs: Math.round(performance.now() - started) };
}

/**
 * Polls `condition` every 100 ms until it holds; a throw counts as "not yet".
 * Throws naming `what` (and the last error) after `timeoutMs`.
 */
export async function until(
  condition: () => Promise<boolean>,
  what: string,
  timeoutMs = DEADLINE_MS,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let failure: unknown;
  for (;;) {
    try {
      if (await condition()) return;
    } catch (error) {
      failure = error;
    }
    if (Date.now() > deadline) {
      const last = failure === undefined ? "" : ` (last error: ${failure})`;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * The current master of `setup` as the network harness asks it
 * (tests/harness/network.ts, `external`): `command` goes to whichever node
 * the sentinels name now; stopping is left to `setup.stop()`.
 */
export function masterBus(setup: SentinelSetup): RedisProcess {
  const master = async () => {
    const port = await setup.masterPort();
    const node = setup.nodes.find((n) => n.port === port);
    if (node === undefined) throw new Error(`no node on port ${port}`);
    return node;
  };
  return {
    url: "",
    port: 0,
    stop: async () => {},
    restart: async () => {},
    command: async (...args) => (await master()).command(...args),
  };
}

/** The `[redis]` table that reaches `setup` through its sentinels. */
export function sentinelConfig(setup: SentinelSetup): string {
  return `[redis]\nsentinels = ${JSON.stringify(setup.sentinels)}\n` +
    `master_name = ${JSON.stringify(setup.masterName)}\n`;
}
