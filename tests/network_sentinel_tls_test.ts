/**
 * Redis Sentinel over TLS with docs/REDIS.md's settings (down-after 5 s, a
 * password on the data nodes, `tls = true` and `ca_file` for every node and
 * sentinel): 3 real servers and the CLI follow two failovers, and every put
 * and get across one completes with the right bytes. Under Deno a TLS
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
import { masterBus, sentinelConfig, startSentinels } from "./harness/sentinel.ts";
import { putAndGetAcross } from "./harness/sentinel_failover.ts";

/** Each transfer: 96 MiB, the master killed a quarter of the way in. */
const CROSSING = { size: 96 * MiB, killAfter: 24 * MiB, mustComplete: true };

/** The data nodes' password (hex: a sentinel config refuses some characters unquoted). */
const REDIS_PW = "5e7f1ae2c0d94b3a";

Deno.test("Sentinel over TLS: hosts follow two failovers (down-after 5 s); each put and get across one completes", async () => {
  const dir = await Deno.makeTempDir({ prefix: "secshrnet-sentinel-tls-" });
  try {
    const certs = await makeTestCertificates(dir);
    const setup = await startSentinels({ tls: certs, password: REDIS_PW, downAfterMs: 5000 });
    try {
      const config = sentinelConfig(setup) +
        `password = "${REDIS_PW}"\ntls = true\nca_file = ${JSON.stringify(certs.caFile)}\n`;
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
      } finally {
        await network.stop();
      }
    } finally {
      await setup.stop();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
