/**
 * Output to pipes and files: no colour or terminal escape anywhere, results
 * only on stdout, and nothing but results (no progress) when not a terminal.
 */

import { assert, assertEquals } from "./assert.ts";
import { startNetwork } from "./harness/network.ts";

// NO_COLOR empty: colour is refused because the streams are pipes, not because of NO_COLOR.
const ENV = { SECSHRNET_PASSWORD: "plain output", NO_COLOR: "" };

Deno.test("no ANSI escapes on stdout or stderr when they are not terminals", async () => {
  const network = await startNetwork(3);
  try {
    const input = `${network.dir}/in.bin`;
    await Deno.writeFile(input, new Uint8Array(3 * 2 ** 20).fill(7));
    const runs = [
      await network.run(["put", "/plain", input, "--log-n", "10"], { env: ENV }),
      await network.run(["put", "/plain", input, "--log-n", "10"], { env: ENV }), // exists: exit 6
      await network.run(["get", "/plain", `${network.dir}/out.bin`], { env: ENV }),
      await network.run(["get", "/plain", "-", "-q"], { env: ENV }),
      await network.run(["get", "/missing", `${network.dir}/x`], { env: ENV }), // exit 4
      await network.run(["ls"], { env: ENV }),
      await network.run(["servers"], { env: ENV }),
      await network.run(["ls", "--json"], { env: ENV }),
      await network.run(["gett"], { env: ENV }),
    ];
    assertEquals(runs.map((r) => r.code), [0, 6, 0, 0, 4, 0, 0, 0, 2]);
    for (const [i, run] of runs.entries()) {
      assert(!run.stdout.includes("\x1b") && !run.stderr.includes("\x1b"), `run ${i} has escapes`);
    }
    // Progress never goes to a pipe: a successful put writes one result line, stderr stays empty.
    assertEquals(runs[0].stderr, "");
    assertEquals(runs[0].stdout.trim().split("\n").length, 1);
    assertEquals(runs[3].stdoutBytes.length, 3 * 2 ** 20);
  } finally {
    await network.stop();
  }
});
