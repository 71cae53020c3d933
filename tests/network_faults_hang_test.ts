/**
 * Faults, hangs (issue 5): a server stopped with SIGSTOP (still subscribed,
 * never answering) in the middle of a put, a get and an rm is given up after
 * the configured client timeout (`--timeout`, `[client] timeout`) and named,
 * and the command finishes with the others; and a client killed in the middle
 * of a put or a get leaves nothing on the servers once their upload timeout
 * (`[server] upload_timeout`) has passed. No test asserts a duration: the
 * timeout in force shows in the reasons the client and servers give.
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
  namedServers,
  putBytes,
  PW,
  shareTrust,
  TEST_FLOOR,
  withNetwork,
  workDir,
} from "./harness/client.ts";
import {
  configureServers,
  MiB,
  objectIdsIn,
  poll,
  serverLog,
  stagedShareBytes,
  startClient,
  tagsDigest,
  waitForPartial,
  waitForStaged,
} from "./harness/faults.ts";
import type { ServerProcess, TestNetwork } from "./harness/network.ts";

/** `put --json` output. */
interface PutJson {
  servers: { server: string; index: number; stored: boolean; error?: string }[];
}

const ids = (network: TestNetwork) => network.servers.map((s) => s.name);

/** Runs `task` with `server` stopped (SIGSTOP), always resuming it (SIGCONT) afterwards. */
async function whileStopped(server: ServerProcess, task: () => Promise<void>): Promise<void> {
  try {
    await task();
  } finally {
    await server.signal("SIGCONT");
  }
}

/** The number of seconds in `reason` ("... for N s"), which must be at least `min` and below 20. */
function secondsIn(reason: string, min: number): number {
  const seconds = Number(/ for (\d+) s\b/.exec(reason)?.[1]);
  assert(seconds >= min && seconds < 20, `a timeout of ${min} s, not the default: ${reason}`);
  return seconds;
}

Deno.test("a server hung (SIGSTOP) mid-put is given up after --timeout; the put stores on the others (exit 3)", async () => {
  await withNetwork(5, async (network) => {
    const data = prng(9201).bytes(40 * MiB);
    const file = await inputFile(network, data);
    const victim = network.servers[0];
    await whileStopped(victim, async () => {
      const running = network.run(
        ["put", "/faults/hang-put", file, "-k", "3", "--json", "--timeout", "3", ...FAST],
        { env: PW },
      );
      await waitForStaged(victim, 2 * MiB);
      await victim.signal("SIGSTOP");
      const put = await running;
      assertEquals(put.code, 3, put.stderr);
      const failed = (JSON.parse(put.stdout) as PutJson).servers.filter((s) => !s.stored);
      assertEquals(failed.map((s) => s.server), [`server:${victim.id}`]);
      secondsIn(failed[0].error ?? "", 3);
      assertEquals(namedServers(put.stderr, ids(network)), [victim.name], put.stderr);
    });
    await network.waitForServers(5);
    assertEquals(objectIdsIn(await tagsDigest(victim.root)), [], "nothing committed on it");
    assertEquals((await lsJson(network))[0].servers.length, 4);
    const get = await getBytes(network, "/faults/hang-put");
    assertEquals(get.code, 0, get.stderr);
    assert(sameBytes(get.stdoutBytes, data), "identical");
    // Resumed, it takes part again without a restart.
    const again = await putBytes(network, "/faults/hang-put/after", prng(9202).bytes(MiB));
    assertEquals(again.code, 0, again.stderr);
    assert(again.stdout.includes("on 5 of 5 servers"), again.stdout);
  });
});

Deno.test("a source hung (SIGSTOP) mid-get is given up after [client] timeout; a spare finishes the file", async () => {
  await withNetwork(5, async (network) => {
    const data = prng(9203).bytes(40 * MiB);
    const put = await network.run(
      ["put", "/faults/hang-get", await inputFile(network, data), "-k", "3", "--json", ...FAST],
      { env: PW },
    );
    assertEquals(put.code, 0, put.stderr);
    const first = (JSON.parse(put.stdout) as PutJson).servers.find((s) => s.index === 1)!;
    const victim = network.servers.find((s) => `server:${s.id}` === first.server)!;
    const config = `${network.dir}/client.toml`;
    await Deno.writeTextFile(config, "[client]\ntimeout = 3\n" + TEST_FLOOR);
    await shareTrust(network, config);
    const dir = await workDir(network, "hang-get");
    await whileStopped(victim, async () => {
      const running = network.run(
        ["get", "/faults/hang-get", `${dir}/out`, "--json", "-c", config],
        { env: PW },
      );
      await waitForPartial(dir, 4 * MiB);
      await victim.signal("SIGSTOP");
      const get = await running;
      assertEquals(get.code, 0, get.stderr);
      assert(sameBytes(await Deno.readFile(`${dir}/out`), data), "identical");
      const { rejected } = JSON.parse(get.stdout) as {
        rejected: { server: string; reason: string }[];
      };
      assertEquals(rejected.map((r) => r.server), [`server:${victim.id}`], get.stdout);
      assertEquals(secondsIn(rejected[0].reason, 3), 3, "exactly the configured timeout");
      assertEquals(await entries(dir), ["out"], "no partial file");
    });
    await network.waitForServers(5);
    const again = await getBytes(network, "/faults/hang-get");
    assertEquals(again.code, 0, again.stderr);
    assert(sameBytes(again.stdoutBytes, data), "the resumed server serves again");
  });
});

Deno.test("a server hung (SIGSTOP) at rm is given up after --timeout and named (exit 1); the deletion record later removes its copy", async () => {
  await withNetwork(4, async (network) => {
    const put = await putBytes(network, "/faults/hang-rm", prng(9204).bytes(MiB), ["-k", "3"]);
    assertEquals(put.code, 0, put.stderr);
    const victim = network.servers[3];
    const before = await tagsDigest(victim.root);
    await whileStopped(victim, async () => {
      await victim.signal("SIGSTOP");
      const rm = await network.run(["rm", "/faults/hang-rm", "--json", "--timeout", "2"], {
        env: PW,
      });
      assertEquals(rm.code, 1, rm.stderr);
      const result = JSON.parse(rm.stdout) as { removed: string[]; failed: { server: string }[] };
      assertEquals(result.removed.length, 3);
      assertEquals(result.failed.map((f) => f.server), [`server:${victim.id}`]);
      assertEquals(namedServers(rm.stderr, ids(network)), [victim.name], rm.stderr);
    });
    await network.waitForServers(4);
    assertEquals(await tagsDigest(victim.root), before, "the hung server's copy is untouched");
    // One holder of the object is left, but the 3 others (k = 3) keep its deletion record:
    // no client lists it, and the first that looks passes the record on to the victim, which
    // checks it under the key it stored and deletes its copy.
    assertEquals(await lsJson(network), [], "a removed tag is not listed");
    assertEquals(Object.keys(await tagsDigest(victim.root)).filter((p) => /share$/.test(p)), []);
    const again = await network.run(["rm", "/faults/hang-rm", "--json"], { env: PW });
    assertEquals(again.code, 4, again.stderr);
    assert(again.stderr.includes("not found"), again.stderr);
  });
});

Deno.test("a client killed mid-put leaves nothing: servers drop the upload after [server] upload_timeout; ls never shows it", async () => {
  await withNetwork(3, async (network) => {
    await configureServers(network, network.servers, "[server]\nupload_timeout = 2\n");
    const random = prng(9205);
    const old = random.bytes(MiB);
    assertEquals((await putBytes(network, "/faults/client-killed/old", old, ["-k", "2"])).code, 0);
    const big = await inputFile(network, random.bytes(40 * MiB));
    for (
      const [tag, force] of [["/faults/client-killed/new", []], ["/faults/client-killed/old", [
        "--force",
      ]]] as const
    ) {
      const client = startClient(network, ["put", tag, big, "-k", "2", ...force, ...FAST], PW);
      await waitForStaged(network.servers[0], 2 * MiB);
      client.kill("SIGKILL");
      assertEquals((await client.result).code, 137);
      const staged = await Promise.all(network.servers.map((s) => stagedShareBytes(s.root)));
      assert(staged.every((bytes) => bytes > 0), `every server had begun: ${staged}`);
      const listings: string[][] = [];
      await poll(
        async () => {
          listings.push((await lsJson(network)).map((e) => `${e.tag} ${e.size}`));
          const left = await Promise.all(network.servers.map((s) => entries(`${s.root}/uploads`)));
          return left.every((names) => names.length === 0);
        },
        "every upload dropped",
        60_000,
      );
      for (const listing of listings) {
        assertEquals(listing, [`/faults/client-killed/old ${old.length}`], "only the old object");
      }
      for (const server of network.servers) {
        assert(/dropped upload [0-9a-f]{16}: no data for 2 s/.test(await serverLog(server)));
      }
    }
    const get = await getBytes(network, "/faults/client-killed/old");
    assertEquals(get.code, 0, get.stderr);
    assert(sameBytes(get.stdoutBytes, old), "the old object, intact");
    assertEquals((await getBytes(network, "/faults/client-killed/new")).code, 4, "never stored");

    // A client killed mid-get: its output never appears, and every server
    // closes the share it was sending once it sees the client gone.
    const stored = await network.run(["put", "/faults/client-killed/new", big, ...FAST], {
      env: PW,
    });
    assertEquals(stored.code, 0, stored.stderr);
    const dir = await workDir(network, "killed-get");
    const reader = startClient(network, ["get", "/faults/client-killed/new", `${dir}/out`], PW);
    await waitForPartial(dir, 4 * MiB);
    assert((await Promise.all(network.servers.map(openShares))).some((n) => n > 0), "sending");
    reader.kill("SIGKILL");
    assertEquals((await reader.result).code, 137);
    await poll(
      async () => (await Promise.all(network.servers.map(openShares))).every((n) => n === 0),
      "every server closed its share",
    );
    assertEquals((await entries(dir)).filter((name) => name === "out"), [], "no output file");
    // The killed client's temporary file is removed by the next get of the same file,
    // which leaves only its output.
    const stale = (await entries(dir)).filter((name) => name.endsWith(".partial"));
    assertEquals(stale.length, 1, `the killed get left its temporary file: ${stale}`);
    const again = await network.run(["get", "/faults/client-killed/new", `${dir}/out`], {
      env: PW,
    });
    assertEquals(again.code, 0, again.stderr);
    assertEquals(await entries(dir), ["out"], "the stale temporary file is gone");
  });
});

/** How many committed share files `server` has open now. */
async function openShares(server: ServerProcess): Promise<number> {
  let count = 0;
  for await (const entry of Deno.readDir(`/proc/${server.pid}/fd`)) {
    const target = await Deno.readLink(`/proc/${server.pid}/fd/${entry.name}`).catch(() => "");
    if (target.startsWith(`${server.root}/tags/`) && target.endsWith("/share")) count++;
  }
  return count;
}
