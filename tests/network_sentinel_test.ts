/**
 * Redis Sentinel (issue 12): 5 real servers and the CLI reach the master
 * through 3 real sentinels, and follow a failover by themselves. The master is
 * SIGKILLed in the middle of a 32 MiB put and of a get, each time with the
 * master killed before back as a replica: each transfer completes with the right bytes,
 * or fails cleanly (one line, no partial file), and no server restarts.
 */

import { assert, assertEquals } from "./assert.ts";
import { sameBytes } from "./objects.ts";
import { prng } from "./prng.ts";
import { inputFile, PW } from "./harness/client.ts";
import { MiB } from "./harness/faults.ts";
import { startNetwork } from "./harness/network.ts";
import { masterBus, sentinelConfig, startSentinels } from "./harness/sentinel.ts";
import { putAndGetAcross } from "./harness/sentinel_failover.ts";

Deno.test("Sentinel: servers and clients follow a failover; a put and a get across it finish right or fail cleanly, twice", async () => {
  const setup = await startSentinels();
  try {
    const network = await startNetwork(5, {
      external: masterBus(setup),
      config: sentinelConfig(setup),
    });
    try {
      const pids = network.servers.map((s) => s.pid);
      const small = await network.run([
        "put",
        "/s/small",
        await inputFile(network, prng(1).bytes(1000)),
        "--log-n",
        "10",
      ], { env: PW });
      assertEquals(small.code, 0, small.stderr);
      // The same transfers without a failover, for the report (RELIABILITY.md).
      const plain = await inputFile(network, prng(4).bytes(32 * MiB));
      let began = Date.now();
      const put = await network.run(["put", "/s/plain", plain, "--log-n", "10"], { env: PW });
      const putMs = Date.now() - began;
      began = Date.now();
      const get = await network.run(["get", "/s/plain", `${network.dir}/plain.out`], { env: PW });
      assertEquals([put.code, get.code], [0, 0], put.stderr + get.stderr);
      const baseline = `without failover: put ${putMs} ms, get ${Date.now() - began} ms`;

      const notes = [baseline, ...await putAndGetAcross(network, setup, "/s/first", 2)];
      // Each failover finds the master killed before back as a replica: the same again.
      notes.push(...await putAndGetAcross(network, setup, "/s/second", 3));
      console.log(`sentinel failover: ${notes.join("; ")}`);

      // No server restarted, all 5 are back on the bus, and the small object is intact.
      assertEquals(network.servers.map((s) => s.pid), pids);
      assert(network.servers.every((s) => s.running));
      await network.waitForServers(5);
      // `servers` says which topology is in use, and which node is master now.
      const listed = await network.run(["servers"]);
      assertEquals(listed.code, 0, listed.stderr);
      assert(
        listed.stdout.includes(
          `\nRedis: Sentinel master "secshrnet" at 127.0.0.1:${await setup.masterPort()} ` +
            `(sentinels ${setup.sentinels.join(", ")})\n`,
        ),
        listed.stdout,
      );
      const back = await network.run(["get", "/s/small", "-"], { env: PW });
      assertEquals(back.code, 0, back.stderr);
      assert(sameBytes(back.stdoutBytes, prng(1).bytes(1000)));
    } finally {
      await network.stop();
    }
  } finally {
    await setup.stop();
  }
});
