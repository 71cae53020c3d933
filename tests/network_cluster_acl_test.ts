/**
 * ACL users on a Redis Cluster (docs/REDIS.md, "ACL users on a cluster"): the
 * `ACL SETUSER secshrnet ...` command is read from the doc itself, set on
 * every node of a real 3-master cluster, and 3 real servers and the CLI run
 * as that user: put and get of a few MiB are identical, ls, servers and rm
 * work, and no node's ACL LOG has an entry. Users that lack the network's
 * shard channels, SSUBSCRIBE, or anything beyond the single-node user of
 * section 2 stop client commands and `serve` at once with one line.
 */

import { assert, assertEquals } from "./assert.ts";
import { sameBytes } from "./objects.ts";
import { prng } from "./prng.ts";
import { FAST, inputFile, PW, workDir } from "./harness/client.ts";
import { MiB } from "./harness/faults.ts";
import { startNetwork, type TestNetwork } from "./harness/network.ts";
import { type ClusterSetup, startCluster } from "./harness/cluster.ts";
import { clusterBus } from "./harness/cluster_network.ts";
import { refused } from "./harness/secured.ts";
import { until } from "./harness/sentinel.ts";
import { docRules, REDIS_DOC } from "./harness/redis_doc.ts";

/** The default user's password on every node: the harness's own connections use it. */
const ADMIN_PW = "cluster-admin-pw-7";
/** Passwords of the ACL users below (none may appear in any output). */
const USER_PW: Record<string, string> = {
  secshrnet: "cluster-net-pw-7",
  "other-net": "other-net-pw-7",
  "no-ssubscribe": "no-ssub-pw-7",
  "single-node": "single-node-pw-7",
  "no-cluster-info": "no-cluster-info-pw-7",
};
const SECRETS = [ADMIN_PW, ...Object.values(USER_PW)];

/** Sets ACL user `name` with `rules` and its password on every node of `setup`. */
async function setUser(setup: ClusterSetup, name: string, rules: string[]): Promise<void> {
  for (const node of setup.processes) {
    const reply = await node.command("ACL", "SETUSER", name, "on", `>${USER_PW[name]}`, ...rules);
    assertEquals(reply, "OK", `ACL SETUSER ${name} ${rules.join(" ")} on ${node.port}`);
  }
}

/** The `[redis]` config that reaches `setup` as ACL user `name`. */
function userConfig(setup: ClusterSetup, name: string): string {
  return `[redis]\ncluster = ${JSON.stringify(setup.nodes)}\nusername = ${
    JSON.stringify(name)
  }\npassword = ${JSON.stringify(USER_PW[name])}\n`;
}

/** Each node's ACL LOG entries (every command or channel it refused), as "PORT reason object". */
async function aclLogs(setup: ClusterSetup): Promise<string[]> {
  const lines: string[] = [];
  for (const node of setup.processes) {
    const entries = await node.command("ACL", "LOG") as string[][];
    for (const entry of entries) {
      const field = (key: string) => entry[entry.indexOf(key) + 1];
      lines.push(`${node.port} ${field("username")} ${field("reason")} ${field("object")}`);
    }
  }
  return lines;
}

/** The sum over every node of INFO commandstats calls of `command` (e.g. "pubsub|shardnumsub"). */
async function calls(setup: ClusterSetup, command: string): Promise<number> {
  let sum = 0;
  for (const node of setup.processes) {
    const stats = String(await node.command("INFO", "commandstats"));
    const found = new RegExp(`^cmdstat_${command.replace("|", "\\|")}:calls=(\\d+)`, "m")
      .exec(stats);
    sum += Number(found?.[1] ?? 0);
  }
  return sum;
}

/** A cluster with `users` set from the doc's rules, and `servers` servers running as `secshrnet`. */
async function withAclCluster(
  servers: number,
  users: [string, string[]][],
  test: (setup: ClusterSetup, network: TestNetwork) => Promise<void>,
): Promise<void> {
  const setup = await startCluster({ password: ADMIN_PW });
  try {
    for (const [name, rules] of users) await setUser(setup, name, rules);
    const network = await startNetwork(servers, {
      external: clusterBus(setup),
      config: userConfig(setup, "secshrnet"),
    });
    try {
      await test(setup, network);
    } finally {
      await network.stop();
    }
  } finally {
    await setup.stop();
  }
}

const doc = await Deno.readTextFile(REDIS_DOC);
/** The cluster user of docs/REDIS.md section 5. */
const CLUSTER_RULES = docRules(doc, "5. Cluster", "secshrnet");
/** The single-node user of docs/REDIS.md section 2 (classic PUBLISH and SUBSCRIBE). */
const SINGLE_NODE_RULES = docRules(doc, "2. ACL users", "secshrnet");

Deno.test("cluster ACL: the doc's user on every node runs 3 servers and put, get, ls, servers, rm; no node refuses anything", async () => {
  assert(CLUSTER_RULES.includes("&secshrnet:*"), CLUSTER_RULES.join(" "));
  await withAclCluster(3, [["secshrnet", CLUSTER_RULES]], async (setup, network) => {
    const data = prng(7301).bytes(4 * MiB + 12_345);
    const file = await inputFile(network, data);
    const put = await network.run(["put", "/acl/cluster", file, ...FAST], { env: PW });
    assertEquals(put.code, 0, put.stderr);
    assert(put.stdout.includes("on 3 of 3 servers"), put.stdout);
    const out = `${await workDir(network)}/cluster.out`;
    const get = await network.run(["get", "/acl/cluster", out], { env: PW });
    assertEquals(get.code, 0, get.stderr);
    assert(sameBytes(await Deno.readFile(out), data), "get as the ACL user: identical bytes");

    const ls = await network.run(["ls", "--json"]);
    assertEquals(ls.code, 0, ls.stderr);
    assertEquals(JSON.parse(ls.stdout)[0].servers.length, 3);
    const listed = await network.run(["servers"]);
    assertEquals(listed.code, 0, listed.stderr);
    assert(listed.stdout.includes("REDIS NODE"), listed.stdout);
    assert(listed.stdout.includes("\nRedis: Redis Cluster, sharded pub/sub, 3 master(s): "));
    const rm = await network.run(["rm", "/acl/cluster"], { env: PW });
    assertEquals(rm.code, 0, rm.stderr);
    const after = await network.run(["ls", "--json"]);
    assertEquals(JSON.parse(after.stdout), [], after.stderr);

    // The servers' heartbeats (PUBSUB SHARDNUMSUB, then PING) ran as the user: only they send it.
    const before = await calls(setup, "pubsub|shardnumsub");
    await until(
      async () => await calls(setup, "pubsub|shardnumsub") >= before + 3,
      "3 more heartbeats",
      30_000,
    );
    assertEquals(await aclLogs(setup), [], "a node refused something secshrnet sent");
  });
});

Deno.test("cluster ACL: without the network's shard channels, SSUBSCRIBE or the shard commands, ls, servers and serve stop at once with one line", async () => {
  const users: [string, string[]][] = [
    ["secshrnet", CLUSTER_RULES],
    ["other-net", CLUSTER_RULES.map((rule) => rule === "&secshrnet:*" ? "&other:*" : rule)],
    ["no-ssubscribe", CLUSTER_RULES.filter((rule) => rule !== "+ssubscribe")],
    ["single-node", SINGLE_NODE_RULES],
    ["no-cluster-info", CLUSTER_RULES.filter((rule) => rule !== "+cluster|info")],
  ];
  await withAclCluster(1, users, async (setup, network) => {
    const dir = await workDir(network);
    const cases: [string, string][] = [
      ["other-net", "NOPERM this user has no permissions to access one of the channels"],
      ["no-ssubscribe", "NOPERM this user has no permissions to run the 'ssubscribe' command"],
      ["single-node", "NOPERM this user has no permissions to run the 'cluster|slots' command"],
      // The cluster's ready check: refused, it fails at once rather than after the 10 s limit.
      ["no-cluster-info", "NOPERM this user has no permissions to run the 'cluster|info' command"],
    ];
    for (const [name, reason] of cases) {
      const conf = `${dir}/${name}.conf`;
      await Deno.writeTextFile(conf, userConfig(setup, name));
      for (const args of [["ls"], ["servers"], ["serve", "-r", `${dir}/${name}-root`]]) {
        const stderr = await refused(network, [...args, "-c", conf], {}, reason, SECRETS);
        const last = stderr.trimEnd().split("\n").pop()!;
        assert(last.includes('see docs/REDIS.md, "Cluster"'), last);
        assert(last.startsWith("secshrnet: cannot reach Redis at the Redis Cluster of "), last);
      }
    }
    // The network's own user still works beside them.
    const listed = await network.run(["servers", "--json"]);
    assertEquals(listed.code, 0, listed.stderr);
    assertEquals(JSON.parse(listed.stdout).length, 1);
  });
});
