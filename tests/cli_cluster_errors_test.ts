/**
 * What the CLI says when a Redis Cluster cannot be used (issue 12), through
 * the real command: no node listening, a password missing or wrong, a node
 * that is not in cluster mode, a cluster down (a master dead without a
 * replica). Each is one line naming the cluster, the reason, what to do and
 * where the setting came from, with exit 1.
 */

import { assert, assertEquals } from "./assert.ts";
import { startCluster } from "./harness/cluster.ts";
import { freePort, startRedis } from "./harness/redis.ts";
import { runClean } from "./harness/clean_run.ts";
import { until } from "./harness/sentinel.ts";

const PASSWORD = "cluster errors password";

Deno.test("cluster: unreachable, unauthenticated or non-cluster nodes are one line with what to do", async () => {
  const setup = await startCluster({ password: PASSWORD });
  const plain = await startRedis({});
  const home = await Deno.makeTempDir({ prefix: "secshrnet-cluster-errors-" });
  const config = `${home}/secshrnet.conf`;
  try {
    const seeds = JSON.stringify(setup.nodes);
    const label = `the Redis Cluster of ${setup.nodes.join(", ")}`;
    const origin = `; the cluster nodes come from [redis] in ${config}`;
    const closed = `127.0.0.1:${freePort()}`;
    const cases: [string, string][] = [
      [
        `cluster = [${JSON.stringify(closed)}]`,
        `cannot reach Redis at the Redis Cluster of ${closed}: no node of the 1 listed ` +
        `answered (start the cluster, or correct cluster = [...] under [redis], or list more of ` +
        `its nodes there)${origin}`,
      ],
      [
        `cluster = ${seeds}`,
        `cannot reach Redis at ${label}: NOAUTH Authentication required (the nodes need a ` +
        `password: set password under [redis])${origin}`,
      ],
      [
        `cluster = ${seeds}\npassword = "wrong"`,
        `cannot reach Redis at ${label}: WRONGPASS invalid username-password pair or user is ` +
        `disabled (check username and password under [redis])${origin}`,
      ],
      [
        `cluster = ["127.0.0.1:${plain.port}"]`,
        `cannot reach Redis at the Redis Cluster of 127.0.0.1:${plain.port}: a node listed is ` +
        `not in cluster mode (for one node, give url instead of cluster)${origin}`,
      ],
    ];
    for (const [redis, expected] of cases) {
      await Deno.writeTextFile(config, `[redis]\n${redis}\n`);
      const result = await runClean(["ls", "-c", config], { HOME: home });
      assertEquals(result.code, 1, `${redis}: ${result.stderr}`);
      assertEquals(result.stderr, `secshrnet: ${expected}\n`, redis);
      assertEquals(result.stdout, "");
    }
    // The right password reaches the cluster: the only complaint left is that no server runs.
    await Deno.writeTextFile(config, `[redis]\ncluster = ${seeds}\npassword = "${PASSWORD}"\n`);
    const reached = await runClean(["servers", "-c", config], { HOME: home });
    assertEquals(reached.code, 1, reached.stderr);
    assert(reached.stderr.startsWith("secshrnet: no servers online"), reached.stderr);

    // A master dies and has no replica: the cluster is down, and the line says so rather
    // than blaming the network once the connect limit is over.
    const [dead, live] = setup.processes;
    await dead.kill();
    await until(async () => {
      const info = String(await live.command("CLUSTER", "INFO"));
      return info.includes("cluster_state:fail");
    }, "the cluster to notice the dead master");
    // The limit is generous: under CI load a CLI can take seconds to start and reach a
    // live node, and the line only names the cluster state once its ready check has run.
    const down = await runClean(["ls", "-c", config, "--timeout", "12"], { HOME: home });
    assertEquals(down.code, 1, down.stderr);
    assertEquals(
      down.stderr,
      `secshrnet: cannot reach Redis at ${label}: the cluster is down: some hash slots have no ` +
        "master it can reach (a failover may be under way: try again once a replica has taken " +
        `over; CLUSTER INFO on a node shows cluster_state)${origin}\n`,
    );
  } finally {
    await Deno.remove(home, { recursive: true });
    await plain.stop();
    await setup.stop();
  }
});
