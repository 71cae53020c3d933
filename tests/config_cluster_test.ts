/** core/config_redis.ts: `[redis] cluster` (issue 12). */

import { ConfigError, parseConfig } from "../core/config.ts";
import { redisTarget } from "../core/config_redis.ts";
import { redisLabel, targetOptions } from "../core/net/redis_target.ts";
import { assert, assertEquals, assertThrows } from "./assert.ts";
import { runClean } from "./harness/clean_run.ts";

const FILE = "/etc/secshrnet/secshrnet.conf";
const CLUSTER = 'cluster = ["10.0.0.1:7000", "10.0.0.2:7000", "[::1]:7002"]';

/** Asserts that `text` is refused with one line holding `message`. */
function refused(text: string, message: string): void {
  const error = assertThrows(() => parseConfig(text, FILE), ConfigError, message);
  assert(!error.message.includes("\n"), error.message);
}

Deno.test("config: cluster makes a cluster target, with the credentials for every node", () => {
  const config = parseConfig(
    `[redis]\n${CLUSTER}\nusername = "srv"\npassword = "pw"\n`,
    FILE,
  );
  assertEquals(config.redis, {
    cluster: {
      nodes: ["10.0.0.1:7000", "10.0.0.2:7000", "[::1]:7002"],
      username: "srv",
      password: "pw",
    },
  });
  const target = redisTarget(config.redis);
  assertEquals(target.cluster?.tls, false);
  assertEquals(targetOptions(target), { cluster: target.cluster! });
  const label = redisLabel(target);
  assertEquals(label, "the Redis Cluster of 10.0.0.1:7000, 10.0.0.2:7000, [::1]:7002");
  assert(!label.includes("pw"), label);
});

Deno.test("config: cluster with tls = true and a ca_file speaks TLS to every node", () => {
  const config = parseConfig(`[redis]\n${CLUSTER}\ntls = true\nca_file = "ca.pem"\n`, FILE);
  assertEquals(config.redis.tls, { rejectUnauthorized: true, caFile: "/etc/secshrnet/ca.pem" });
  assertEquals(redisTarget(config.redis).cluster?.tls, true);
});

Deno.test("config: SECSHRNET_REDIS_URL still overrides a cluster with one node", () => {
  const config = parseConfig(`[redis]\n${CLUSTER}\n`, FILE, {
    SECSHRNET_REDIS_URL: "redis://10.9.9.9:6379",
  });
  assertEquals(config.redis, { url: "redis://10.9.9.9:6379" });
});

Deno.test("config: more than one of url, sentinels and cluster is one line naming them", () => {
  const prefix = `${FILE}: [redis] give exactly one of url, sentinels and cluster, not`;
  refused(`[redis]\nurl = "redis://h:1"\n${CLUSTER}`, `${prefix} url and cluster`);
  refused(`[redis]\nport = 7000\n${CLUSTER}`, `${prefix} port and cluster`);
  refused(
    `[redis]\n${CLUSTER}\nsentinels = ["h:1"]\nmaster_name = "m"`,
    `${prefix} sentinels and cluster`,
  );
  refused(
    `[redis]\nurl = "redis://h:1"\nsentinels = ["h:1"]\nmaster_name = "m"\n${CLUSTER}`,
    `${prefix} url and sentinels and cluster`,
  );
  // Sentinel keys make no sense with a cluster either.
  refused(`[redis]\n${CLUSTER}\nmaster_name = "m"`, "master_name only go with sentinels");
});

Deno.test("config: a malformed cluster list is one line saying what is expected", () => {
  const expected = 'cluster must be a list of 1 to 16 "host:port" strings';
  refused(`[redis]\ncluster = []`, `${expected}, not a list of 0`);
  refused(`[redis]\ncluster = "10.0.0.1:7000"`, expected);
  refused(`[redis]\ncluster = ["10.0.0.1"]`, `${expected}, not "10.0.0.1"`);
  refused(`[redis]\ncluster = [7000]`, expected);
  refused(`[redis]\ncluster = ["h:70000"]`, "(port 1 to 65535)");
  const many = JSON.stringify(Array.from({ length: 17 }, (_, i) => `h:${7000 + i}`));
  refused(`[redis]\ncluster = ${many}`, `${expected}, not a list of 17`);
});

Deno.test("config: 'secshrnet config' lists the cluster nodes, with the password masked", async () => {
  const home = await Deno.makeTempDir({ prefix: "secshrnet-config-cluster-" });
  try {
    const file = `${home}/secshrnet.conf`;
    await Deno.writeTextFile(file, `[redis]\n${CLUSTER}\npassword = "hunter2"\n`);
    const listed = await runClean(["config", "-c", file], { HOME: home });
    assertEquals(listed.code, 0, listed.stderr);
    assert(
      listed.stdout.includes(
        'cluster = ["10.0.0.1:7000", "10.0.0.2:7000", "[::1]:7002"]  # Redis Cluster',
      ),
      listed.stdout,
    );
    assert(listed.stdout.includes('password = "***"'), listed.stdout);
    assert(!listed.stdout.includes("hunter2"), listed.stdout);
    // What it prints is a config that reads back to the same cluster.
    const again = parseConfig(listed.stdout, file);
    assertEquals(again.redis.cluster?.nodes, ["10.0.0.1:7000", "10.0.0.2:7000", "[::1]:7002"]);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});
