/**
 * Glue between a test Redis Cluster (`cluster.ts`) and a test network
 * (`network.ts`): the config that makes hosts use it, and a stand-in Redis
 * through which the network harness counts the servers online.
 *
 * @module
 */

import type { RedisProcess, RespReply } from "./redis.ts";
import type { ClusterSetup } from "./cluster.ts";

/** The `[redis]` config that reaches `setup` through its masters' seed addresses. */
export function clusterConfig(setup: ClusterSetup, password?: string): string {
  const seeds = setup.nodes.slice(0, 3);
  const auth = password === undefined ? "" : `password = ${JSON.stringify(password)}\n`;
  return `[redis]\ncluster = ${JSON.stringify(seeds)}\n${auth}`;
}

/**
 * A stand-in {@linkcode RedisProcess} for `setup`, for NetworkOptions.external:
 * `PUBSUB CHANNELS PATTERN` is answered as hosts discover servers on a
 * cluster, with `PUBSUB SHARDCHANNELS PATTERN` asked of every master and the
 * answers merged; any other command goes to the first master.
 */
export function clusterBus(setup: ClusterSetup): RedisProcess {
  const master = (port: number) => {
    const node = setup.processes.find((n) => n.port === port);
    if (node === undefined) throw new Error(`no cluster node on port ${port}`);
    return node;
  };
  return {
    url: "",
    port: 0,
    stop: async () => {},
    restart: async () => {},
    command: async (...args: string[]): Promise<RespReply> => {
      const ports = await setup.masterPorts();
      if (args[0] === "PUBSUB" && args[1] === "CHANNELS") {
        const merged: RespReply[] = [];
        for (const port of ports) {
          const names = await master(port).command("PUBSUB", "SHARDCHANNELS", args[2]);
          if (Array.isArray(names)) merged.push(...names);
        }
        return merged;
      }
      return master(ports[0]).command(...args);
    },
  };
}

/**
 * Moves the slot of `key` to the master on `toPort`, as a resharding would
 * (CLUSTER SETSLOT IMPORTING/MIGRATING, then NODE on every master; there are
 * no keys to MIGRATE, channels are not stored). Resolves to the slot.
 */
export async function moveSlot(setup: ClusterSetup, key: string, toPort: number): Promise<number> {
  const fromPort = await setup.ownerOf(key);
  if (fromPort === toPort) throw new Error(`${key} is already on ${toPort}`);
  const at = (port: number) => {
    const node = setup.processes.find((n) => n.port === port);
    if (node === undefined) throw new Error(`no cluster node on port ${port}`);
    return node;
  };
  const from = at(fromPort);
  const to = at(toPort);
  const slot = String(await from.command("CLUSTER", "KEYSLOT", key));
  const fromId = String(await from.command("CLUSTER", "MYID"));
  const toId = String(await to.command("CLUSTER", "MYID"));
  await to.command("CLUSTER", "SETSLOT", slot, "IMPORTING", fromId);
  await from.command("CLUSTER", "SETSLOT", slot, "MIGRATING", toId);
  // The new owner first, then the old one, then the rest (as redis-cli does).
  await to.command("CLUSTER", "SETSLOT", slot, "NODE", toId);
  await from.command("CLUSTER", "SETSLOT", slot, "NODE", toId);
  for (const port of await setup.masterPorts()) {
    if (port !== fromPort && port !== toPort) {
      await at(port).command("CLUSTER", "SETSLOT", slot, "NODE", toId);
    }
  }
  return Number(slot);
}
