/**
 * Attack: a clock behind (issue 9, case 8). Objects of a tag used to be
 * ordered by their creation time. A client whose clock was a day behind
 * stored v2 while two holders of v1 were away; when they came back, get
 * returned v1 (exit 0): the newer object lost to the older one.
 *
 * Here v2 is stored by a real client process running under `faketime -f -1d`
 * (libfaketime: every clock the process reads is a day behind). Objects are
 * ordered by tag version, which no clock takes part in: once the holders of
 * v1 are back, get returns v2 and ls shows v2.
 */

import { assert, assertEquals } from "./assert.ts";
import { sameBytes } from "./objects.ts";
import { prng } from "./prng.ts";
import { runProcess, type RunResult, secshrnetArgs, type TestNetwork } from "./harness/network.ts";
import {
  FAST,
  getBytes,
  inputFile,
  lsJson,
  namedServers,
  objectDirs,
  putBytes,
  PW,
  withNetwork,
} from "./harness/client.ts";

const DAY_MS = 24 * 3600 * 1000;
const INSTALL = "install faketime (apt-get install faketime; .ci/run installs it in CI)";

/**
 * Fails (never skips) unless `faketime -f -1d` runs and really puts a
 * process's clock a day behind.
 */
async function requireFaketime(): Promise<void> {
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command("faketime", {
      args: ["-f", "-1d", "date", "+%s"],
      stdout: "piped",
      stderr: "piped",
    }).output();
  } catch (error) {
    throw new Error(`this test needs faketime, which is missing: ${INSTALL} (${error})`);
  }
  const seconds = Number(new TextDecoder().decode(output.stdout).trim());
  const behind = Date.now() - seconds * 1000;
  if (!output.success || Math.abs(behind - DAY_MS) > 3600_000) {
    throw new Error(
      `faketime -f -1d does not put the clock a day behind (date said ${seconds}); ${INSTALL}`,
    );
  }
}

/** `secshrnet ARGS` as a client of `network` whose clock is a day behind. */
async function runDayBehind(network: TestNetwork, args: string[]): Promise<RunResult> {
  return await runProcess("faketime", {
    args: ["-f", "-1d", Deno.execPath(), ...secshrnetArgs(), ...args],
    env: { ...network.env, ...PW },
    timeoutMs: 120_000,
  });
}

Deno.test("clock behind: v2 stored by a client a day behind, while 2 holders of v1 are away, is what get returns once they are back", async () => {
  await requireFaketime();
  await withNetwork(4, async (network) => {
    const tag = "/clock/wallet";
    const v1 = prng(9401).bytes(90_000);
    const v2 = prng(9402).bytes(70_000);

    const first = await putBytes(network, tag, v1, ["-k", "2"]);
    assertEquals(first.code, 0, first.stderr);
    assert(first.stdout.includes("on 4 of 4 servers; any 2 rebuild it"), first.stdout);
    const [listedV1] = await lsJson(network);
    assert(
      Math.abs(listedV1.created - Date.now()) < 3600_000,
      `v1 created now: ${listedV1.created}`,
    );

    // Two holders of v1 go away; a client whose clock is a day behind replaces the tag.
    const away = network.servers.slice(2);
    const v1Dirs = await Promise.all(away.map((server) => objectDirs(server.root)));
    assertEquals(v1Dirs.map((dirs) => dirs.length), [1, 1]);
    for (const server of away) await server.stop();
    await network.waitForServers(2);
    const file = await inputFile(network, v2);
    const second = await runDayBehind(network, ["put", tag, file, ...FAST, "-k", "2", "--force"]);
    assertEquals(second.code, 0, second.stderr);
    assert(second.stdout.includes("on 2 of 2 servers; any 2 rebuild it"), second.stdout);

    // v2 says it was created a day ago (the header's time is informational only).
    const [listedV2] = await lsJson(network);
    assertEquals([listedV2.size, listedV2.k, listedV2.n], [v2.length, 2, 2]);
    const behind = Date.now() - listedV2.created;
    console.log(
      `v2 created ${(behind / 3600_000).toFixed(2)} h before now (v1: ${
        ((Date.now() - listedV1.created) / 3600_000).toFixed(2)
      } h)`,
    );
    assert(Math.abs(behind - DAY_MS) < 3600_000, `v2 created about a day ago, not ${behind} ms`);
    assert(listedV2.created < listedV1.created, "v2's clock time is older than v1's");

    // The holders of v1 come back: v1 is recoverable on them (2 of k = 2), and yet v2,
    // the higher tag version, is the newest.
    for (const server of away) await server.restart();
    await network.waitForServers(4);
    assertEquals(await Promise.all(away.map((server) => objectDirs(server.root))), v1Dirs);
    const get = await getBytes(network, tag);
    assertEquals(get.code, 0, get.stderr);
    assertEquals(get.stdoutBytes.length, v2.length, `get returned v2, not v1 (${get.stderr})`);
    assert(sameBytes(get.stdoutBytes, v2), "get returns v2 byte for byte");
    console.log(`get's stderr: ${get.stderr.trim() || "(empty)"}`);
    // The returning holders of v1 are named as holding an older object.
    const stale = get.stderr.split("\n").filter((line) => line.includes("older object"));
    assertEquals(
      namedServers(stale.join("\n"), network.servers.map((s) => s.name)).sort(),
      [
        ...away.map((s) => s.name),
      ].sort(),
    );
    const listed = await lsJson(network);
    assertEquals(listed.length, 1, JSON.stringify(listed));
    assertEquals([listed[0].size, listed[0].created], [v2.length, listedV2.created]);
    assertEquals(
      listed[0].servers.map((a) => a.slice("server:".length)).sort(),
      network.servers.slice(0, 2).map((s) => s.id).sort(),
    );
    assertEquals(listed[0].recoverable, true);
  });
});
