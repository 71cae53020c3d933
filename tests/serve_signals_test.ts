/**
 * `serve` stops cleanly on SIGTERM at any moment: while it still waits for
 * Redis (exit 0, "stopped" logged, the root's lock free again), not only once
 * it has joined the network.
 */

import { assert, assertEquals } from "./assert.ts";
import { secshrnetArgs } from "./harness/network.ts";
import { freePort } from "./harness/redis.ts";
import { poll } from "./harness/faults.ts";

Deno.test("serve: SIGTERM while it waits for Redis stops it with exit 0 and frees the root", async () => {
  const dir = await Deno.makeTempDir({ prefix: "secshrnet-signals-" });
  try {
    const root = `${dir}/root`;
    const start = () =>
      new Deno.Command(Deno.execPath(), {
        args: [...secshrnetArgs(), "serve", "-r", root],
        env: {
          HOME: dir,
          NO_COLOR: "1",
          SECSHRNET_REDIS_URL: `redis://127.0.0.1:${freePort()}`,
        },
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
    const child = start();
    const output = child.output();
    const log = `${root}/secshrnetd.log`;
    await poll(
      async () => (await Deno.readTextFile(log).catch(() => "")).includes("retrying in"),
      "the server waiting for Redis",
    );
    child.kill("SIGTERM");
    const { code, stderr } = await output;
    const lines = new TextDecoder().decode(stderr).trim().split("\n");
    assertEquals(code, 0, lines.join("\n"));
    assert(lines.at(-1)?.endsWith(" info stopped"), lines.join("\n"));
    assert(!lines.some((line) => line.includes("cannot start")), lines.join("\n"));
    // The lock is free: a second server on the root starts (and is stopped the same way).
    const again = start();
    const againOutput = again.output();
    await poll(
      async () => (await Deno.readTextFile(log)).split("retrying in").length > 2,
      "the second server waiting for Redis",
    );
    again.kill("SIGTERM");
    assertEquals((await againOutput).code, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
