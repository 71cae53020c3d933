/**
 * The Sentinel harness (issue 12) works: three sentinels agree on the master,
 * a SIGKILLed master is replaced by its replica, which answers and takes
 * writes, the old master comes back as a replica of the new one, and stopping
 * leaves no process and no port behind.
 */

import { assert, assertEquals } from "./assert.ts";
import type { RespReply } from "./harness/redis.ts";
import { type SentinelSetup, startSentinels, until } from "./harness/sentinel.ts";
import { sentinelCommand } from "./harness/sentinel_command.ts";
import { alive, listening, pidOf } from "./harness/processes.ts";

const PASSWORD = "sentinel harness password";

/** The master port every sentinel reports, one entry per sentinel. */
async function reportedMasters(setup: SentinelSetup): Promise<number[]> {
  const name = setup.masterName;
  return await Promise.all(setup.sentinels.map(async (sentinel) => {
    const reply = await sentinelCommand(sentinel, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", name);
    return Number((reply as string[])[1]);
  }));
}

Deno.test("sentinel harness: failover to the replica, old master rejoins as replica, clean stop", async () => {
  const setup = await startSentinels({ password: PASSWORD });
  const pids: number[] = [];
  const ports: number[] = [];
  try {
    const [first, second] = setup.nodes;
    assertEquals(setup.nodes.length, 2);
    assertEquals(setup.sentinels.length, 3);
    assertEquals(setup.masterName, "secshrnet");
    assertEquals(await setup.masterPort(), first.port);
    assertEquals(await reportedMasters(setup), [first.port, first.port, first.port]);
    assertEquals((await first.command("ROLE") as RespReply[])[0], "master");
    assertEquals((await second.command("ROLE") as RespReply[])[0], "slave");

    for (const node of setup.nodes) {
      pids.push(await pidOf(node.command));
      ports.push(node.port);
    }
    for (const sentinel of setup.sentinels) {
      pids.push(await pidOf((...args) => sentinelCommand(sentinel, ...args)));
      ports.push(Number(sentinel.split(":")[1]));
    }
    assertEquals(new Set(ports).size, 5, "five distinct ports");
    assert(ports.every((p) => p >= 20000 && p < 50000), `ports below 50000: ${ports}`);

    await first.command("SET", "before", "failover");
    assertEquals(await first.command("WAIT", "1", "0"), 1, "the replica has the write");

    const { oldPort, newPort, elapsedMs } = await setup.failover();
    console.log(`failover took ${elapsedMs} ms (${oldPort} -> ${newPort})`);
    assertEquals(oldPort, first.port);
    assertEquals(newPort, second.port);
    assertEquals(await setup.masterPort(), second.port);
    assertEquals(await reportedMasters(setup), [second.port, second.port, second.port]);
    assert(!await listening(first.port), "the old master is down");
    assertEquals((await second.command("ROLE") as RespReply[])[0], "master");
    assertEquals(await second.command("GET", "before"), "failover");
    assertEquals(await second.command("SET", "after", "failover"), "OK");

    await first.restart();
    await until(async () => {
      const role = await first.command("ROLE") as RespReply[];
      const info = String(await first.command("INFO", "replication"));
      return role[0] === "slave" && role[2] === second.port &&
        /^master_link_status:up\r?$/m.test(info);
    }, "the old master to become a replica of the new one");
    assertEquals(await first.command("GET", "after"), "failover", "it replicates the new master");
    assertEquals(await setup.masterPort(), second.port, "the sentinels keep the new master");
    pids[0] = await pidOf(first.command);
  } finally {
    await setup.stop();
  }
  assertEquals(pids.length, 5);
  for (const pid of pids) assert(!await alive(pid), `process ${pid} is gone`);
  for (const port of ports) assert(!await listening(port), `port ${port} is closed`);
});
