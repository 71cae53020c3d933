/**
 * The client's surroundings: where the password comes from, what happens
 * with no Redis or no servers, and config files that are missing or wrong.
 * Every run here has a timeout, so a client waiting for a terminal or a
 * network fails the test instead of hanging it.
 */

import { assert, assertEquals } from "./assert.ts";
import { sameBytes } from "./objects.ts";
import { prng } from "./prng.ts";
import { freePort } from "./harness/redis.ts";
import { startNetwork, type TestNetwork } from "./harness/network.ts";
import { Host } from "../core/net/host.ts";
import {
  FAST,
  getBytes,
  inputFile,
  lsJson,
  PASSWORD,
  runIsolated,
  withNetwork,
  workDir,
} from "./harness/client.ts";

Deno.test("password sources: --password-file works; no source and no terminal fails fast naming SECSHRNET_PASSWORD", async () => {
  await withNetwork(3, async (network) => {
    const data = prng(7601).bytes(4000);
    const dir = await workDir(network);
    const passwordFile = `${dir}/password`;
    await Deno.writeTextFile(passwordFile, PASSWORD + "\n");
    const file = await inputFile(network, data);

    const put = await runIsolated(network, [
      "put",
      "/setup/pwfile",
      file,
      ...FAST,
      "--password-file",
      passwordFile,
    ]);
    assertEquals(put.code, 0, put.stderr);
    // The same password given through the environment opens it: the file's newline was dropped.
    const get = await getBytes(network, "/setup/pwfile");
    assertEquals(get.code, 0, get.stderr);
    assert(sameBytes(get.stdoutBytes, data));
    const viaFile = await runIsolated(network, [
      "get",
      "/setup/pwfile",
      "-",
      "--password-file",
      passwordFile,
    ]);
    assertEquals(viaFile.code, 0, viaFile.stderr);
    assert(sameBytes(viaFile.stdoutBytes, data));

    const missing = await runIsolated(network, [
      "get",
      "/setup/pwfile",
      "-",
      "--password-file",
      `${dir}/no-such-file`,
    ]);
    assertEquals(missing.code, 2, missing.stderr);
    assert(missing.stderr.includes(`${dir}/no-such-file`), missing.stderr);

    // No --password-file, no SECSHRNET_PASSWORD, stdin null, no controlling terminal.
    for (const args of [["get", "/setup/pwfile", "-"], ["put", "/setup/nopw", file, ...FAST]]) {
      const none = await runIsolated(network, args, { timeoutMs: 20_000 });
      assert(!none.timedOut, `${args[0]} waited for a password instead of failing`);
      assert(none.code !== 0, `${args[0]}: exit ${none.code}`);
      assertEquals(none.code, 2, none.stderr);
      assert(none.stderr.includes("SECSHRNET_PASSWORD"), none.stderr);
      assert(none.elapsedMs < 10_000, `${args[0]} took ${none.elapsedMs} ms`);
      assertEquals(none.stdoutBytes.length, 0);
    }
    // An empty SECSHRNET_PASSWORD is refused, not used.
    const empty = await runIsolated(network, ["put", "/setup/empty", file, ...FAST], {
      env: { SECSHRNET_PASSWORD: "" },
    });
    assertEquals(empty.code, 2, empty.stderr);
    assert(empty.stderr.includes("SECSHRNET_PASSWORD is empty"), empty.stderr);
    assertEquals((await lsJson(network)).map((e) => e.tag), ["/setup/pwfile"]);
  });
});

Deno.test("no Redis at the URL: exit 1 within seconds naming the URL; Redis but no servers: exit 1", async () => {
  await withNetwork(0, async (network) => {
    const port = freePort();
    const url = `redis://127.0.0.1:${port}`;
    for (const args of [["ls"], ["servers"], ["get", "/setup/x", "-"]]) {
      const run = await runIsolated(network, args, {
        env: { SECSHRNET_REDIS_URL: url, SECSHRNET_PASSWORD: PASSWORD },
        timeoutMs: 30_000,
      });
      assert(!run.timedOut, `${args[0]} hung with no Redis`);
      assertEquals(run.code, 1, `${args[0]}: ${run.stderr}`);
      assert(run.stderr.includes(`cannot reach Redis at ${url}`), run.stderr);
      assert(run.elapsedMs < 8000, `${args[0]} took ${run.elapsedMs} ms`);
    }

    for (const args of [["ls"], ["servers"], ["get", "/setup/x", "-"]]) {
      const run = await runIsolated(network, args, {
        env: { SECSHRNET_PASSWORD: PASSWORD },
        timeoutMs: 30_000,
      });
      assertEquals(run.code, 1, `${args[0]}: ${run.stderr}`);
      assert(run.stderr.includes("no servers online"), run.stderr);
      assert(run.elapsedMs < 8000, `${args[0]} took ${run.elapsedMs} ms`);
    }
    const file = await inputFile(network, new Uint8Array(10));
    const put = await runIsolated(network, ["put", "/setup/x", file, ...FAST], {
      env: { SECSHRNET_PASSWORD: PASSWORD },
    });
    assertEquals(put.code, 1, put.stderr);
    assert(put.stderr.includes("no servers online"), put.stderr);
  });
});

Deno.test("config: a missing -c file and an unknown key are usage errors naming them", async () => {
  await withNetwork(1, async (network) => {
    const dir = await workDir(network);
    const missing = `${dir}/missing.conf`;
    for (const args of [["ls", "-c", missing], ["servers", "--config", missing]]) {
      const run = await network.run(args, { timeoutMs: 20_000 });
      assertEquals(run.code, 2, run.stderr);
      assert(run.stderr.includes(missing), run.stderr);
      assert(run.stderr.includes("not found"), run.stderr);
    }
    const get = await network.run(["get", "/setup/x", "-", "-c", missing], {
      env: { SECSHRNET_PASSWORD: PASSWORD },
      timeoutMs: 20_000,
    });
    assertEquals(get.code, 2, get.stderr);
    assert(get.stderr.includes(missing), get.stderr);

    const unknown = `${dir}/unknown.conf`;
    await Deno.writeTextFile(unknown, `[network]\nname = "secshrnet"\ncolour = "blue"\n`);
    const run = await network.run(["ls", "-c", unknown], { timeoutMs: 20_000 });
    assertEquals(run.code, 2, run.stderr);
    assert(run.stderr.includes("colour"), run.stderr);
    assert(run.stderr.includes(unknown), run.stderr);

    const table = `${dir}/table.conf`;
    await Deno.writeTextFile(table, `[redis]\nurl = "redis://127.0.0.1:1"\n[storage]\nx = 1\n`);
    const badTable = await network.run(["ls", "-c", table], { timeoutMs: 20_000 });
    assertEquals(badTable.code, 2, badTable.stderr);
    assert(badTable.stderr.includes("storage"), badTable.stderr);

    // A valid config file is used: its network name selects no servers here.
    const other = `${dir}/other.conf`;
    await Deno.writeTextFile(other, `[network]\nname = "elsewhere"\n`);
    const elsewhere = await network.run(["servers", "-c", other], { timeoutMs: 20_000 });
    assertEquals(elsewhere.code, 1, elsewhere.stderr);
    assert(elsewhere.stderr.includes("no servers online on network elsewhere"), elsewhere.stderr);
    const here = await network.run(["servers", "--json"], { timeoutMs: 20_000 });
    assertEquals(here.code, 0, here.stderr);
    assertEquals(JSON.parse(here.stdout).length, 1);
  });
});

// Host.close() must leave nothing running. The check is the sanitizers of the
// middle test, whose last act is close(); the network lives in the tests
// around it, because stopping Redis would close the sockets for close().
let shared: TestNetwork | undefined;

Deno.test({
  name: "Host.close() (setup: a network of one server)",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    shared = await startNetwork(1);
  },
});

Deno.test({
  name:
    "Host.close() resolves only once its Redis connections are closed (no timer or socket left)",
  sanitizeOps: true,
  sanitizeResources: true,
  fn: async () => {
    assert(shared !== undefined, "the setup test did not start a network");
    // Whether a close leaves something behind is a race (does the socket close before
    // or after close() returns?), so close several hosts: any one left behind is caught.
    for (let i = 0; i < 8; i++) {
      const host = await Host.connect({
        redisUrl: shared.redis.url,
        network: "secshrnet",
        role: "client",
      });
      const [server] = await host.servers();
      const info = await host.request(server, "info", {});
      assertEquals(info.id, shared.servers[0].id);
      await host.close();
    }
  },
});

Deno.test({
  name: "Host.close() (teardown)",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    await shared?.stop();
  },
});
