/**
 * Attack (issue 9, #1): the offline password-guessing oracle. A rogue server
 * answers `head` of any tag with a forged header of its own: its own salt,
 * scrypt logN 10 (or 22), k = n = 1, created ten years ahead and the highest
 * tag version. Before issue 9, get, put --force and rm derived keys from it
 * and signed access proofs the rogue could test password guesses against
 * ~1000× cheaper than the real object allowed, and a logN 22 header made the
 * client run a 4 GiB scrypt.
 *
 * Now a header is acted on only when k trusted servers vouch for it
 * (core/client/vetting.ts): an untrusted rogue is sent nothing, and a
 * trusted one gets no challenge, no proof and no request naming its forged
 * object, while the owner's commands still succeed on the honest servers.
 * Every rogue runs the real server (tests/harness/rogue.ts) and logs every
 * message it receives; hang guards only, no timing assertions.
 */

import { assert, assertEquals } from "./assert.ts";
import { prng } from "./prng.ts";
import { FAST, inputFile, objectDirs, PW, serversJson } from "./harness/client.ts";
import { startNetwork, type TestNetwork } from "./harness/network.ts";
import {
  addRogue,
  forgedBy,
  type MeasuredRun,
  received,
  report,
  runMeasured,
  typeCounts,
} from "./harness/rogues.ts";
import type { RogueMode } from "./harness/rogue.ts";
import { sameBytes } from "./objects.ts";

/** Hang guard of one command. */
const GUARD_MS = 60_000;
/** A 4 GiB scrypt (logN 22, r 8) would need this much at least; the client must stay far below. */
const ONE_GIB = 1024;

async function withHonest(test: (network: TestNetwork) => Promise<void>): Promise<void> {
  const network = await startNetwork(3);
  try {
    await test(network);
  } finally {
    await network.stop();
  }
}

/** `put TAG` of `data` with the test work factor, measured. */
async function put(network: TestNetwork, tag: string, data: Uint8Array, extra: string[] = []) {
  const file = await inputFile(network, data);
  return await runMeasured(network, ["put", tag, file, ...FAST, ...extra], {
    env: PW,
    timeoutMs: GUARD_MS,
  });
}

/** `get TAG -`, measured. */
async function get(network: TestNetwork, tag: string): Promise<MeasuredRun> {
  return await runMeasured(network, ["get", tag, "-"], { env: PW, timeoutMs: GUARD_MS });
}

/** `rm TAG`, measured. */
async function rm(network: TestNetwork, tag: string): Promise<MeasuredRun> {
  return await runMeasured(network, ["rm", tag], { env: PW, timeoutMs: GUARD_MS });
}

function assertGot(run: MeasuredRun, data: Uint8Array, what: string) {
  assertEquals(run.code, 0, `${what}: ${run.stderr}`);
  assert(sameBytes(run.stdoutBytes, data), `${what}: the exact bytes stored`);
}

Deno.test("attack rogue oracle: an untrusted server forging headers is sent nothing by put, get, put --force, rm and ls", async () => {
  await withHonest(async (network) => {
    const rogue = await addRogue(network, "forge-weak", false);
    const tag = "/attack/oracle/untrusted";
    const first = prng(9101).bytes(50_000);
    const second = prng(9102).bytes(70_001);

    const stored = await put(network, tag, first);
    assertEquals(stored.code, 0, stored.stderr);
    assert(stored.stdout.includes("on 3 of 3 servers"), stored.stdout);
    const got = await get(network, tag);
    assertGot(got, first, "get");
    const replaced = await put(network, tag, second, ["--force"]);
    assertEquals(replaced.code, 0, replaced.stderr);
    const again = await get(network, tag);
    assertGot(again, second, "get after put --force");
    const listed = await runMeasured(network, ["ls"]);
    assertEquals(listed.code, 0, listed.stderr);
    const removed = await rm(network, tag);
    assertEquals(removed.code, 0, removed.stderr);
    assert(removed.stdout.includes("from 3 servers"), removed.stdout);
    for (const server of network.servers.slice(0, 3)) {
      assertEquals(await objectDirs(server.root), [], `${server.name} holds nothing after rm`);
    }
    const runs = { put: stored, get: got, "put --force": replaced, "get again": again, ls: listed };
    console.log("untrusted forge-weak:");
    for (const [what, run] of Object.entries({ ...runs, rm: removed })) {
      report(what, run);
      assert(!run.stderr.includes(rogue.name), `${what} does not use the untrusted server`);
    }

    const before = await received(rogue);
    assertEquals(
      before.filter((m) => m.type !== "info"),
      [],
      `nothing but info reaches an untrusted server: ${JSON.stringify(typeCounts(before))}`,
    );
    assertEquals(await forgedBy(rogue), [], "it was never asked about the tag");
    // The rogue is online and its log works: `servers` asks every server, trusted or not.
    const servers = await serversJson(network);
    assert(servers.some((s) => s.id === rogue.id && !s.trusted), "listed, untrusted");
    const after = await received(rogue);
    assert(after.some((m) => m.type === "info"), `info logged: ${JSON.stringify(after)}`);
  });
});

/**
 * A trusted rogue in `mode`, joining after the owner's put (so it holds
 * nothing real): every command succeeds on the honest servers and names it,
 * and it never gets a challenge, a proof or a request about its forgery.
 */
async function trustedForger(mode: RogueMode, seed: number): Promise<void> {
  await withHonest(async (network) => {
    const tag = `/attack/oracle/${mode}`;
    const first = prng(seed).bytes(60_000);
    const second = prng(seed + 1).bytes(90_003);
    const stored = await put(network, tag, first);
    assertEquals(stored.code, 0, stored.stderr);
    const honest = [...network.servers];
    const rogue = await addRogue(network, mode);
    const runs: [string, MeasuredRun][] = [];

    const got = await get(network, tag);
    runs.push(["get", got]);
    assertGot(got, first, "get");
    assert(got.stderr.includes(rogue.name), `get names the rogue: ${got.stderr}`);

    // n = 4 trusted servers answer head; the rogue's newest object is not vouched for, so it
    // gets no share: stored on the 3 honest ones (k = 3), reduced redundancy, exit 3.
    const replaced = await put(network, tag, second, ["--force"]);
    runs.push(["put --force", replaced]);
    assertEquals(replaced.code, 3, `put --force: ${replaced.stdout}${replaced.stderr}`);
    assert(replaced.stdout.includes("on 3 of 4 servers"), replaced.stdout);
    const warning = replaced.stderr.split("\n").find((line) => line.includes(rogue.name));
    assert(warning !== undefined && /not vouched for/.test(warning), replaced.stderr);
    for (const server of honest) {
      assertEquals((await objectDirs(server.root)).length, 1, `${server.name}: the new object`);
    }
    assertEquals(await objectDirs(rogue.root), [], "the rogue got no share");

    const again = await get(network, tag);
    runs.push(["get after put --force", again]);
    assertGot(again, second, "get after put --force");

    // rm removes the tag from the honest servers and names the rogue as failed (exit 1).
    const removed = await rm(network, tag);
    runs.push(["rm", removed]);
    assertEquals(removed.code, 1, `rm: ${removed.stdout}${removed.stderr}`);
    assert(removed.stdout.includes("from 3 servers"), removed.stdout);
    const failed = removed.stderr.split("\n").filter((line) => line.includes(rogue.name));
    assertEquals(failed.length, 1, removed.stderr);
    assert(/not vouched for/.test(failed[0]), failed[0]);
    for (const server of honest) {
      assertEquals(await objectDirs(server.root), [], `${server.name} holds nothing after rm`);
    }

    console.log(`${mode}:`);
    for (const [what, run] of runs) {
      report(what, run);
      assert(run.peakRssMiB > 0, `${what}: memory was measured`);
      assert(run.peakRssMiB < ONE_GIB, `${what}: peak RSS ${run.peakRssMiB} MiB, no big scrypt`);
    }

    const messages = await received(rogue);
    const forged = new Set((await forgedBy(rogue)).map((f) => f.objectId));
    console.log(`  the rogue received ${JSON.stringify(typeCounts(messages))}`);
    assert(forged.size > 0, "the rogue forged a header (it was asked)");
    assert(messages.some((m) => m.type === "head"), "the rogue was asked head");
    assertEquals(messages.filter((m) => m.type === "challenge"), [], "no challenge");
    assertEquals(messages.filter((m) => m.nonce || m.proof), [], "no nonce, no proof");
    assertEquals(
      messages.filter((m) => m.objectId !== undefined && forged.has(m.objectId)),
      [],
      "no request names the forged object",
    );
    const types = new Set(messages.map((m) => m.type));
    assertEquals([...types].filter((t) => !["head", "info", "list"].includes(t)), []);
  });
}

Deno.test("attack rogue oracle: a trusted server forging a weak header (logN 10, k = 1, newest) gets no proof; get, put --force, rm succeed", async () => {
  await trustedForger("forge-weak", 9201);
});

Deno.test("attack rogue oracle: a trusted server forging a costly header (logN 22) neither makes the client run its scrypt nor gets a proof", async () => {
  await trustedForger("forge-costly", 9301);
});

Deno.test("attack rogue oracle: ls with a trusted forger lists the object the honest servers hold, not the forgery", async () => {
  await withHonest(async (network) => {
    const tag = "/attack/oracle/ls";
    const data = prng(9401).bytes(30_000);
    assertEquals((await put(network, tag, data)).code, 0);
    const rogue = await addRogue(network, "forge-weak");
    assertGot(await get(network, tag), data, "get"); // the rogue learns the tag
    const listed = await runMeasured(network, ["ls", "--json"]);
    assertEquals(listed.code, 0, listed.stderr);
    const entries = JSON.parse(listed.stdout) as { tag: string; size: number; k: number }[];
    console.log(`  ls --json: ${JSON.stringify(entries)}`);
    assertEquals(entries.map((e) => e.tag), [tag]);
    assertEquals(
      { size: entries[0].size, k: entries[0].k },
      { size: data.length, k: 2 },
      `ls shows the real object, not ${rogue.name}'s forgery`,
    );
  });
});

Deno.test("attack rogue oracle: get -k 1 of an object stored with -k 1 signs no proof for a trusted server's forged k = 1 header", async () => {
  await withHonest(async (network) => {
    const tag = "/attack/oracle/k1";
    const data = prng(9501).bytes(30_000);
    assertEquals((await put(network, tag, data, ["-k", "1"])).code, 0);
    const rogue = await addRogue(network, "forge-weak");
    const got = await runMeasured(network, ["get", tag, "-", "-k", "1"], {
      env: PW,
      timeoutMs: GUARD_MS,
    });
    report("get -k 1", got);
    assertGot(got, data, "get -k 1");
    const messages = await received(rogue);
    console.log(`  the rogue received ${JSON.stringify(typeCounts(messages))}`);
    assertEquals(
      messages.filter((m) => m.type === "challenge" || m.nonce || m.proof),
      [],
      `no challenge or proof for the forgery: ${JSON.stringify(messages)}`,
    );
  });
});
