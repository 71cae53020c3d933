/**
 * Redis Sentinel (issue 12): 5 real servers and the CLI reach the master
 * through 3 real sentinels, and follow a failover by themselves. The master is
 * SIGKILLed in the middle of a 32 MiB put and of a get, each time with the
 * master killed before back as a replica: each transfer completes with the right bytes,
 * or fails cleanly (one line, no partial file), and no server restarts.
 */

import { assert, assertEquals } from "./assert.ts";
import { prng } from "./prng.ts";
import { inputFile, PW } from "./harness/client.ts";
import { MiB, partialFiles, uploading } from "./harness/faults.ts";
import { startNetwork, type TestNetwork } from "./harness/network.ts";
import {
  masterBus,
  sentinelConfig,
  type SentinelSetup,
  startSentinels,
  until,
} from "./harness/sentinel.ts";

/** What a transfer across a failover did, for the test's report. */
interface Crossing {
  code: number;
  stderr: string;
  elapsedMs: number;
  failoverMs: number;
}

/** Runs `args`, kills the master once `started` holds, and waits for the command. */
async function acrossFailover(
  network: TestNetwork,
  setup: SentinelSetup,
  args: string[],
  started: () => Promise<boolean>,
): Promise<Crossing> {
  // A master killed before is back first, as a replica the sentinels can promote.
  await restartDead(setup);
  const began = Date.now();
  const run = network.run(args, { env: PW, timeoutMs: 180_000 });
  await until(started, "the transfer to start", 60_000);
  const { elapsedMs: failoverMs } = await setup.failover();
  const result = await run;
  return { code: result.code, stderr: result.stderr, elapsedMs: Date.now() - began, failoverMs };
}

/** A put then a get of `size` bytes, each crossing a failover; asserts what the issue asks. */
async function putAndGetAcross(
  network: TestNetwork,
  setup: SentinelSetup,
  tag: string,
  seed: number,
): Promise<string[]> {
  const data = prng(seed).bytes(32 * MiB);
  const file = await inputFile(network, data);
  const put = await acrossFailover(
    network,
    setup,
    ["put", tag, file, "--log-n", "10", "--timeout", "30"],
    uploading(network),
  );
  const notes = [
    `put ${put.code} in ${put.elapsedMs} ms (failover ${put.failoverMs} ms) ${put.stderr.trim()}`,
  ];
  const lines = put.stderr.split("\n").filter((line) => line !== "");
  if (put.code !== 0 && put.code !== 3) {
    // A clean failure: one line, and nothing half-stored that get would return.
    assertEquals(put.code, 1, put.stderr);
    assertEquals(lines.length, 1, put.stderr);
    return notes;
  }
  const out = `${network.dir}/${tag.replaceAll("/", "_")}`;
  const get = await acrossFailover(
    network,
    setup,
    ["get", tag, out, "--timeout", "30"],
    async () => (await partialFiles(network.dir)).some((f) => f.size > 0),
  );
  notes.push(`get ${get.code} in ${get.elapsedMs} ms (failover ${get.failoverMs} ms)`);
  if (get.code === 0) {
    assert(sameBytes(await Deno.readFile(out), data), "get across a failover: identical bytes");
  } else {
    assertEquals(get.stderr.trim().split("\n").length, 1, get.stderr);
    assertEquals(await partialFiles(network.dir), [], "no partial file");
  }
  return notes;
}

/** Starts every node that does not answer again, and waits until each is a replica. */
async function restartDead(setup: SentinelSetup): Promise<void> {
  for (const node of setup.nodes) {
    const alive = await node.command("PING").then(() => true, () => false);
    if (alive) continue;
    await node.restart();
    await until(async () => {
      const role = await node.command("ROLE");
      return Array.isArray(role) && role[0] === "slave" && role[3] === "connected";
    }, `node ${node.port} to come back as a connected replica`);
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

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
