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

Deno.test("Ctrl-C (SIGINT) stops a one-shot put with exit 130 and releases its uploads", async () => {
  const network = await startNetwork(3);
  try {
    const big = `${network.dir}/big.bin`;
    const file = await Deno.open(big, { write: true, create: true });
    const block = new Uint8Array(2 ** 20);
    for (let i = 0; i < 400; i++) await file.write(block);
    file.close();
    const { secshrnetArgs } = await import("./harness/network.ts");
    const child = new Deno.Command(Deno.execPath(), {
      args: [...secshrnetArgs(), "put", "/interrupted", big, "--log-n", "10"],
      env: { ...network.env, ...ENV },
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    // Interrupt once uploads have begun on every server.
    const deadline = Date.now() + 20_000;
    const uploading = () =>
      network.servers.every((s) => [...Deno.readDirSync(`${s.root}/uploads`)].length > 0);
    while (!uploading() && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert(uploading(), "the put never started uploading");
    child.kill("SIGINT");
    const { code, stderr } = await child.output();
    assertEquals(code, 130);
    assertEquals(new TextDecoder().decode(stderr).trim(), "secshrnet: interrupted");
    // put-abort reached every server: no partial upload is left behind.
    const clean = Date.now() + 10_000;
    const leftovers = () =>
      network.servers.flatMap((s) => [...Deno.readDirSync(`${s.root}/uploads`)]);
    while (leftovers().length > 0 && Date.now() < clean) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assertEquals(leftovers(), []);
    const listing = await network.run(["ls", "--json"]);
    assertEquals(JSON.parse(listing.stdout), []);
  } finally {
    await network.stop();
  }
});
