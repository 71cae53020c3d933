/**
 * Transfers through the CLI across a Sentinel failover, for the Sentinel
 * network tests: the master is SIGKILLed once a put or a get is under way,
 * after the master killed before is back as a replica.
 *
 * @module
 */

import { assert, assertEquals } from "../assert.ts";
import { sameBytes } from "../objects.ts";
import { prng } from "../prng.ts";
import { inputFile, PW } from "./client.ts";
import { MiB, partialFiles, stagedShareBytes, uploading } from "./faults.ts";
import type { TestNetwork } from "./network.ts";
import { type SentinelSetup, until } from "./sentinel.ts";

/** What a transfer across a failover did, for the test's report. */
export interface Crossing {
  code: number;
  stderr: string;
  elapsedMs: number;
  failoverMs: number;
}

/** Runs `args`, kills the master once `started` holds, and waits for the command. */
export async function acrossFailover(
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

/** How {@linkcode putAndGetAcross} runs. */
export interface CrossingOptions {
  /** Bytes put and got (default 32 MiB). */
  size?: number;
  /**
   * Kill the master once this many bytes are staged on every server (put) or
   * written out (get); default: once the transfer started.
   */
  killAfter?: number;
  /** Only a completed transfer passes (default: a clean failure too). */
  mustComplete?: boolean;
}

/**
 * A put then a get, each crossing a failover. Each completes with the right
 * bytes; unless `mustComplete`, a clean failure passes too (one line; exit 1
 * for put, no partial file for get). Returns a note per transfer.
 */
export async function putAndGetAcross(
  network: TestNetwork,
  setup: SentinelSetup,
  tag: string,
  seed: number,
  options: CrossingOptions = {},
): Promise<string[]> {
  const { size = 32 * MiB, killAfter = 0, mustComplete = false } = options;
  const data = prng(seed).bytes(size);
  const file = await inputFile(network, data);
  const put = await acrossFailover(
    network,
    setup,
    ["put", tag, file, "--log-n", "10", "--timeout", "30"],
    killAfter === 0 ? uploading(network) : async () => {
      const staged = await Promise.all(network.servers.map((s) => stagedShareBytes(s.root)));
      return staged.every((bytes) => bytes >= killAfter);
    },
  );
  const notes = [
    `put ${put.code} in ${put.elapsedMs} ms (failover ${put.failoverMs} ms) ${put.stderr.trim()}`,
  ];
  const lines = put.stderr.split("\n").filter((line) => line !== "");
  if (mustComplete) assertEquals(put.code, 0, put.stderr);
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
    async () => (await partialFiles(network.dir)).some((f) => f.size > killAfter),
  );
  notes.push(`get ${get.code} in ${get.elapsedMs} ms (failover ${get.failoverMs} ms)`);
  if (mustComplete) assertEquals(get.code, 0, get.stderr);
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
