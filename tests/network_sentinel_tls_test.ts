/**
 * Redis Sentinel secured as docs/REDIS.md says (down-after 5 s; TLS only,
 * with `tls = true` and `ca_file` for every node and sentinel; the hosts as
 * the doc's ACL user of section 2, from an aclfile on every data node): 3
 * real servers and the CLI follow two failovers, every put and get across
 * one completes with the right bytes, and no node's ACL LOG has an entry. Under Deno a TLS
 * subscriber on a killed master may see no error at all; before the bus
 * checked its subscriber once the publisher was back, the gets here failed
 * (exit 4, 3 runs of 3).
 */

import { assert, assertEquals } from "./assert.ts";
import { sameBytes } from "./objects.ts";
import { prng } from "./prng.ts";
import { inputFile, PW } from "./harness/client.ts";
import { MiB } from "./harness/faults.ts";
import { startNetwork } from "./harness/network.ts";
import { makeTestCertificates } from "./harness/redis.ts";
import { docRules, REDIS_DOC } from "./harness/redis_doc.ts";
import {
  masterBus,
  sentinelConfig,
  type SentinelSetup,
  startSentinels,
} from "./harness/sentinel.ts";
import { putAndGetAcross } from "./harness/sentinel_failover.ts";
import { withTempDir } from "./harness/temp_dir.ts";

/** Each transfer: 96 MiB, the master killed a quarter of the way in. */
const CROSSING = { size: 96 * MiB, killAfter: 24 * MiB, mustComplete: true };

/** The default user's password: replication, the sentinels and the harness use it. */
const REDIS_PW = "5e7f1ae2c0d94b3a";
/** The network user's password; the hosts use only this user. */
const NETWORK_PW = "sentinel-network-pw-5";

/** An aclfile with the default user (for the sentinels and replicas) and the doc's network user. */
async function aclFile(dir: string): Promise<string> {
  const rules = docRules(await Deno.readTextFile(REDIS_DOC), "2. ACL users", "secshrnet");
  const file = `${dir}/users.acl`;
  await Deno.writeTextFile(
    file,
    `user default on >${REDIS_PW} ~* &* +@all
` +
      `user secshrnet on >${NETWORK_PW} ${rules.join(" ")}
`,
  );
  return file;
}

/** Every live data node's ACL LOG entries, as "PORT user reason object". */
async function aclLogs(setup: SentinelSetup): Promise<string[]> {
  const lines: string[] = [];
  for (const node of setup.nodes) {
    const entries = await node.command("ACL", "LOG").catch(() => []) as string[][];
    for (const entry of entries) {
      const field = (key: string) => entry[entry.indexOf(key) + 1];
      lines.push(`${node.port} ${field("username")} ${field("reason")} ${field("object")}`);
    }
  }
  return lines;
}

Deno.test("Sentinel over TLS as an ACL user: hosts follow two failovers (down-after 5 s); each put and get across one completes; ACL LOG stays empty", () =>
  withTempDir(async (dir) => {
    const certs = await makeTestCertificates(dir);
    const setup = await startSentinels({
      tls: certs,
      password: REDIS_PW,
      downAfterMs: 5000,
      nodeArgs: ["--aclfile", await aclFile(dir)],
    });
    try {
      const config = sentinelConfig(setup) + `username = "secshrnet"\n` +
        `password = "${NETWORK_PW}"\ntls = true\nca_file = ${JSON.stringify(certs.caFile)}\n`;
      const network = await startNetwork(3, { external: masterBus(setup), config });
      try {
        const pids = network.servers.map((s) => s.pid);
        const small = prng(21).bytes(1000);
        const put = await network.run(
          ["put", "/tls/small", await inputFile(network, small), "--log-n", "10"],
          { env: PW },
        );
        assertEquals(put.code, 0, put.stderr);

        const notes = await putAndGetAcross(network, setup, "/tls/first", 22, CROSSING);
        notes.push(...await putAndGetAcross(network, setup, "/tls/second", 23, CROSSING));
        console.log(`sentinel failover over TLS: ${notes.join("; ")}`);

        // No server restarted, all 3 are back on the new master, and the small object is intact.
        assertEquals(network.servers.map((s) => s.pid), pids);
        await network.waitForServers(3);
        const listed = await network.run(["servers"]);
        assertEquals(listed.code, 0, listed.stderr);
        assert(
          listed.stdout.includes(
            `\nRedis: Sentinel master "secshrnet" at 127.0.0.1:${await setup.masterPort()} `,
          ),
          listed.stdout,
        );
        const back = await network.run(["get", "/tls/small", "-"], { env: PW });
        assertEquals(back.code, 0, back.stderr);
        assert(sameBytes(back.stdoutBytes, small));
        // Every host is connected as the network user, and no node refused it anything.
        const clients = String(await masterBus(setup).command("CLIENT", "LIST"));
        const asUser = clients.split("\n").filter((line) => / user=secshrnet /.test(line));
        assert(asUser.length >= 6, `2 connections per server as the user:\n${clients}`);
        assertEquals(await aclLogs(setup), [], "no node refused the network user anything");
      } finally {
        await network.stop();
      }
    } finally {
      await setup.stop();
    }
  }, "secshrnet-sentinel-tls-"));
