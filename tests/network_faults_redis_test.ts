/**
 * Faults, Redis (issue 5): redis-server restarted, or down for seconds, while
 * a put streams and while a get streams. The operation completes or fails
 * with a clear, named error, never silently wrong: what it reports stored
 * comes back identical, a failed get leaves no file, a failed put leaves
 * nothing visible; and the servers recover by themselves (same processes).
 */

import { assert, assertEquals } from "./assert.ts";
import { sameBytes } from "./objects.ts";
import { prng } from "./prng.ts";
import {
  entries,
  FAST,
  getBytes,
  inputFile,
  lsJson,
  PW,
  waitForServers,
  withNetwork,
  workDir,
} from "./harness/client.ts";
import { configureServers, MiB, poll, waitForPartial, waitForStaged } from "./harness/faults.ts";
import { type RedisProcess, startRedis } from "./harness/redis.ts";
import type { RunResult, TestNetwork } from "./harness/network.ts";

/**
 * Checks a put that ran through a Redis fault: stored (0 or 3) and identical
 * when fetched, or failed (1) with a clear one-line reason naming servers and
 * nothing of it listed. Returns whether it stored.
 */
async function checkPut(
  network: TestNetwork,
  put: RunResult,
  tag: string,
  data: Uint8Array,
): Promise<boolean> {
  if (put.code === 0 || put.code === 3) {
    const get = await getBytes(network, tag);
    assertEquals(get.code, 0, get.stderr);
    assert(sameBytes(get.stdoutBytes, data), "reported stored: comes back identical");
    return true;
  }
  assertEquals(put.code, 1, put.stderr);
  checkMessage(network, put.stderr);
  assertEquals((await lsJson(network)).filter((e) => e.tag === tag), [], "nothing listed");
  return false;
}

/** A failure's stderr: one line, an explained error (not an unexpected one), naming servers. */
function checkMessage(network: TestNetwork, stderr: string): void {
  assert(/^secshrnet: [^\n]+\n$/.test(stderr), `one line: ${stderr}`);
  assert(!stderr.includes("unexpected error"), stderr);
  assert(network.servers.some((s) => stderr.includes(s.name)), `names servers: ${stderr}`);
}

/**
 * Checks a get to `dir/out` that ran through a Redis fault: identical, or
 * failed (1 or 4) with a clear reason and no file at all. Returns whether it
 * completed.
 */
async function checkGet(
  network: TestNetwork,
  get: RunResult,
  dir: string,
  data: Uint8Array,
): Promise<boolean> {
  if (get.code === 0) {
    assert(sameBytes(await Deno.readFile(`${dir}/out`), data), "reported done: identical");
    assertEquals(await entries(dir), ["out"]);
    return true;
  }
  assert(get.code === 1 || get.code === 4, `${get.code}: ${get.stderr}`);
  checkMessage(network, get.stderr);
  assertEquals(await entries(dir), [], "no output, no partial file");
  return false;
}

Deno.test("redis-server restarted while a put and a get stream: each completes or fails clearly; the servers stay up", async () => {
  await withNetwork(3, async (network) => {
    const pids = network.servers.map((s) => s.pid);
    const random = prng(9301);
    let completed = 0;
    for (let round = 1; round <= 3; round++) {
      const tag = `/faults/redis-restart/${round}`;
      const data = random.bytes(32 * MiB);
      const running = network.run(
        ["put", tag, await inputFile(network, data), "-k", "2", ...FAST],
        { env: PW },
      );
      await waitForStaged(network.servers[round % 3], 4 * MiB);
      await network.redis.restart();
      const put = await running;
      await waitForServers(network, 3);
      const stored = await checkPut(network, put, tag, data);
      if (!stored) continue;
      completed++;
      const dir = await workDir(network, `redis-restart-${round}`);
      const reading = network.run(["get", tag, `${dir}/out`], { env: PW });
      await waitForPartial(dir, 4 * MiB);
      await network.redis.restart();
      const get = await reading;
      await waitForServers(network, 3);
      if (await checkGet(network, get, dir, data)) completed++;
    }
    assert(completed > 0, "a restart of a fraction of a second is ridden out at least once");
    assertEquals(network.servers.map((s) => s.pid), pids, "no server was restarted");
    const after = random.bytes(MiB);
    const put = await network.run(
      ["put", "/faults/redis-restart/after", await inputFile(network, after), ...FAST],
      { env: PW },
    );
    assertEquals(put.code, 0, put.stderr);
    const get = await getBytes(network, "/faults/redis-restart/after");
    assertEquals(get.code, 0, get.stderr);
    assert(sameBytes(get.stdoutBytes, after), "the network works afterwards");
  });
});

Deno.test("Redis down for 4 s while a put and a get stream: each completes or fails clearly, nothing torn or listed; servers rejoin alone", async () => {
  await withNetwork(3, async (network) => {
    await configureServers(network, network.servers, "[server]\nupload_timeout = 8\n");
    const pids = network.servers.map((s) => s.pid);
    let redis: RedisProcess = network.redis;
    /** Stops Redis, waits `ms`, and starts it again on the same port. */
    const outage = async (ms: number) => {
      await redis.stop();
      await new Promise((resolve) => setTimeout(resolve, ms));
      redis = await startRedis({ port: network.redis.port });
    };
    try {
      const random = prng(9302);
      const data = random.bytes(32 * MiB);
      const file = await inputFile(network, data);
      const running = network.run(
        ["put", "/faults/redis-down", file, "-k", "2", "--timeout", "5", ...FAST],
        { env: PW },
      );
      await waitForStaged(network.servers[0], 4 * MiB);
      await outage(4000);
      const put = await running;
      await waitForServers(network, 3);
      const stored = await checkPut(network, put, "/faults/redis-down", data);
      console.log(`Redis down 4 s during put: exit ${put.code}${stored ? ", stored" : ""}`);
      // Whatever the put left staged is dropped by the servers' upload timeout
      // (8 s: above the client's 5, as secshrnet.example.toml advises).
      await poll(async () => {
        const left = await Promise.all(network.servers.map((s) => entries(`${s.root}/uploads`)));
        return left.every((names) => names.length === 0);
      }, "staged uploads dropped");
      if (!stored) {
        const again = await network.run(["put", "/faults/redis-down", file, "-k", "2", ...FAST], {
          env: PW,
        });
        assertEquals(again.code, 0, `the same put works once Redis is back: ${again.stderr}`);
      }

      const dir = await workDir(network, "redis-down");
      const reading = network.run(["get", "/faults/redis-down", `${dir}/out`, "--timeout", "5"], {
        env: PW,
      });
      await waitForPartial(dir, 4 * MiB);
      await outage(4000);
      const read = await reading;
      await waitForServers(network, 3);
      await checkGet(network, read, dir, data);
      console.log(`Redis down 4 s during get: exit ${read.code}`);
      assertEquals(network.servers.map((s) => s.pid), pids, "no server was restarted");
      const get = await getBytes(network, "/faults/redis-down");
      assertEquals(get.code, 0, get.stderr);
      assert(sameBytes(get.stdoutBytes, data), "the same get works once Redis is back");
    } finally {
      if (redis !== network.redis) await redis.stop();
    }
  });
});
