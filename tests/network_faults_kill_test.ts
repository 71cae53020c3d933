/**
 * Faults, SIGKILL of a server (issue 5): killed while a put streams to it,
 * while it commits, while a get reads from it, and while an rm reaches it.
 * The client names exactly the killed server with the documented exit code;
 * once restarted, the server holds the old object or the new one, byte for
 * byte, never a torn one; nothing staged survives; and get works whenever k
 * intact shares exist.
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
  objectDirs,
  putBytes,
  PW,
  withNetwork,
  workDir,
} from "./harness/client.ts";
import {
  completeObjects,
  expectedShareBytes,
  MiB,
  objectIdsIn,
  partialFiles,
  poll,
  stagedShareBytes,
  tagsDigest,
  waitForPartial,
  waitForStaged,
  watchBus,
} from "./harness/faults.ts";
import type { TestNetwork } from "./harness/network.ts";
import { tagHash } from "../server/paths.ts";

/** `put --json` output. */
interface PutJson {
  objectId: string;
  status: string;
  servers: { server: string; index: number; stored: boolean; error?: string }[];
}

const ids = (network: TestNetwork) => network.servers.map((s) => s.name);

Deno.test("SIGKILL of a server while a put --force streams to it: exit 3 naming it; restarted, it holds the old object byte for byte", async () => {
  await withNetwork(5, async (network) => {
    const random = prng(9101);
    const tag = "/faults/kill-put";
    const old = random.bytes(300_000);
    const first = await network.run(
      ["put", tag, await inputFile(network, old), "-k", "3", ...FAST],
      { env: PW },
    );
    assertEquals(first.code, 0, first.stderr);
    const victim = network.servers[1];
    const before = await tagsDigest(victim.root);
    assertEquals(objectIdsIn(before).length, 1, "the old object is on the victim");

    const data = random.bytes(40 * MiB);
    const full = expectedShareBytes(data.length, 3, 5);
    const file = await inputFile(network, data);
    const running = network.run(
      ["put", tag, file, "-k", "3", "--force", "--json", ...FAST],
      { env: PW },
    );
    await waitForStaged(victim, 2 * MiB);
    await victim.signal("SIGKILL");
    const staged = await stagedShareBytes(victim.root);
    assert(staged >= 2 * MiB && staged < full, `killed mid-transfer: ${staged} of ${full} bytes`);
    const put = await running;
    assertEquals(put.code, 3, put.stderr);
    const result = JSON.parse(put.stdout) as PutJson;
    assertEquals(result.status, "reduced");
    assertEquals(
      result.servers.filter((s) => !s.stored).map((s) => s.server),
      [`server:${victim.id}`],
      "exactly the killed server failed",
    );
    assertEquals(namedServers(put.stderr, ids(network)), [victim.name], put.stderr);

    await victim.restart();
    await network.waitForServers(5);
    assertEquals(await entries(`${victim.root}/uploads`), [], "the partial share is gone");
    assertEquals(await tagsDigest(victim.root), before, "the old object, byte for byte");
    const listed = (await lsJson(network)).find((e) => e.tag === tag);
    assertEquals(listed?.size, data.length, "ls shows the new object");
    assertEquals(listed?.servers.length, 4);
    const get = await getBytes(network, tag);
    assertEquals(get.code, 0, get.stderr);
    assert(sameBytes(get.stdoutBytes, data), "the new object comes back from the other four");
  });
});

Deno.test("SIGKILL of a server once its whole share has arrived (at commit): its report matches its disk, nothing torn", async () => {
  await withNetwork(5, async (network) => {
    const random = prng(9102);
    const tag = "/faults/kill-commit";
    const data = random.bytes(24 * MiB);
    const full = expectedShareBytes(data.length, 3, 5);
    const victim = network.servers[3];
    const running = network.run(
      ["put", tag, await inputFile(network, data), "-k", "3", "--json", ...FAST],
      { env: PW },
    );
    // The moment every byte is staged, or the object already committed.
    await poll(
      async () =>
        await stagedShareBytes(victim.root) >= full ||
        objectIdsIn(await tagsDigest(victim.root)).length > 0,
      "the victim's share complete",
    );
    await victim.signal("SIGKILL");
    const put = await running;
    assert(put.code === 0 || put.code === 3, `stored on at least k: ${put.code} ${put.stderr}`);
    const result = JSON.parse(put.stdout) as PutJson;
    const reported = result.servers.find((s) => s.server === `server:${victim.id}`)!;
    assertEquals(
      result.servers.filter((s) => !s.stored).map((s) => s.server),
      reported.stored ? [] : [reported.server],
      "no server but the killed one failed",
    );

    await victim.restart();
    await network.waitForServers(5);
    assertEquals(await entries(`${victim.root}/uploads`), [], "nothing staged survives");
    const after = await tagsDigest(victim.root);
    assert(completeObjects(after), "every object on disk is complete");
    const held = objectIdsIn(after);
    // Committed or not: never anything but the new object, whole.
    if (reported.stored) assertEquals(held, [result.objectId], "reported stored: it is there");
    else assert(held.length === 0 || held[0] === result.objectId, `held ${held}`);
    // Make the get depend on the victim when it holds the object.
    if (held.length === 1) {
      await Promise.all(
        network.servers.filter((s) => s !== victim).slice(0, 2).map((s) => s.stop()),
      );
      await network.waitForServers(3);
    }
    const get = await getBytes(network, tag);
    assertEquals(get.code, 0, get.stderr);
    assert(sameBytes(get.stdoutBytes, data), "identical");
  });
});

Deno.test("SIGKILL of a server during get: a spare steps in and the file is identical; with no spare the get fails and leaves no file", async () => {
  await withNetwork(5, async (network) => {
    const random = prng(9103);
    const data = random.bytes(40 * MiB);
    const file = await inputFile(network, data);
    const put = await network.run(
      ["put", "/faults/kill-get", file, "-k", "3", "--json", ...FAST],
      { env: PW },
    );
    assertEquals(put.code, 0, put.stderr);
    const placed = (JSON.parse(put.stdout) as PutJson).servers;
    const serverAt = (index: number) =>
      network.servers.find((s) =>
        `server:${s.id}` === placed.find((p) => p.index === index)!.server
      )!;
    // get reads indices 1..k first: kill index 2 while it streams.
    const victim = serverAt(2);
    const before = await tagsDigest(victim.root);
    const dir = await workDir(network, "get-out");
    const running = network.run(["get", "/faults/kill-get", `${dir}/out`, "--json"], { env: PW });
    await waitForPartial(dir, 4 * MiB);
    await victim.signal("SIGKILL");
    const get = await running;
    assertEquals(get.code, 0, get.stderr);
    assert(sameBytes(await Deno.readFile(`${dir}/out`), data), "identical despite the kill");
    const summary = JSON.parse(get.stdout) as { servers: string[]; rejected: { server: string }[] };
    assertEquals(summary.rejected.map((r) => r.server), [`server:${victim.id}`], get.stdout);
    assertEquals(summary.servers.length, 4, "k sources plus one spare");
    assertEquals(namedServers(get.stderr, ids(network)), [victim.name], get.stderr);
    assertEquals(await entries(dir), ["out"], "no partial file left");
    await victim.restart();
    await network.waitForServers(5);
    assertEquals(await tagsDigest(victim.root), before, "a get changes nothing on the server");

    // -n 3 -k 3: no spare. Killing a holder mid-stream must fail the get
    // without leaving an output or partial file.
    const tight = await network.run(
      ["put", "/faults/kill-get-tight", file, "-n", "3", "-k", "3", "--json", ...FAST],
      { env: PW },
    );
    assertEquals(tight.code, 0, tight.stderr);
    const holder = (JSON.parse(tight.stdout) as PutJson).servers[0].server;
    const doomed = network.servers.find((s) => `server:${s.id}` === holder)!;
    const out = await workDir(network, "tight-out");
    const failing = network.run(["get", "/faults/kill-get-tight", `${out}/out`], { env: PW });
    await waitForPartial(out, 4 * MiB);
    await doomed.signal("SIGKILL");
    const failed = await failing;
    assertEquals(failed.code, 4, failed.stderr);
    assert(failed.stderr.includes(doomed.name), `names the killed server: ${failed.stderr}`);
    assertEquals(await entries(out), [], "no output, no partial file");
    assertEquals(await partialFiles(out), []);
    await doomed.restart();
    await network.waitForServers(5);
    const back = await getBytes(network, "/faults/kill-get-tight");
    assertEquals(back.code, 0, back.stderr);
    assert(sameBytes(back.stdoutBytes, data), "k intact shares again: the get works");
  });
});

Deno.test("SIGKILL of a server as an rm reaches it: it keeps the tag whole or loses it whole; the deletion record then removes its remnant", async () => {
  await withNetwork(5, async (network) => {
    const random = prng(9104);
    const victim = network.servers[2];
    // Killed when the client asks it for a nonce (before its rm), when the rm
    // request is published to it, and when its reply to the rm is published.
    for (const trigger of ["challenge", "rm", "rm-reply"]) {
      const tag = `/faults/kill-rm/${trigger}`;
      // This round's tag only: an earlier round may have left its remnant on the victim.
      const hash = await tagHash(tag);
      const prefix = `${hash.slice(0, 2)}/${hash}/`;
      const digest = async () =>
        Object.fromEntries(
          Object.entries(await tagsDigest(victim.root)).filter(([p]) => p.startsWith(prefix)),
        );
      const first = await putBytes(network, tag, random.bytes(MiB), ["-k", "3"]);
      assertEquals(first.code, 0, first.stderr);
      const [oldDir] = (await objectDirs(victim.root)).filter((d) => d.includes(`/${prefix}`));
      const saved = `${network.dir}/saved-object`;
      await copyDir(oldDir, saved);
      const second = await putBytes(network, tag, random.bytes(MiB), ["-k", "3", "--force"]);
      assertEquals(second.code, 0, second.stderr);
      // The victim keeps both objects, as when a prune never reached it.
      await victim.stop();
      await Deno.rename(saved, oldDir);
      await victim.restart();
      await network.waitForServers(5);
      const before = await digest();
      assertEquals(objectIdsIn(before).length, 2);

      let killed: Promise<void> | undefined;
      let rmId: number | undefined;
      const bus = await watchBus(network, (message, channel) => {
        if (channel === `secshrnet:server:${victim.id}` && message.type === "rm") rmId = message.id;
        const hit = trigger === "rm-reply"
          ? message.from === `server:${victim.id}` && message.replyTo === rmId
          : channel === `secshrnet:server:${victim.id}` && message.type === trigger;
        if (hit) killed ??= victim.signal("SIGKILL");
      });
      const rm = await network.run(["rm", tag, "--json", "--timeout", "3"], { env: PW });
      await bus.close();
      assert(killed !== undefined, `saw ${trigger} to the victim`);
      await killed;
      const result = JSON.parse(rm.stdout) as RmJson;
      const victimRemoved = result.removed.includes(`server:${victim.id}`);
      assertEquals(rm.code, victimRemoved ? 0 : 1, rm.stderr);
      assertEquals(result.removed.length, victimRemoved ? 5 : 4, rm.stdout);
      assertEquals(
        result.failed.map((f) => f.server),
        victimRemoved ? [] : [`server:${victim.id}`],
      );
      assertEquals(namedServers(rm.stderr, ids(network)), victimRemoved ? [] : [victim.name]);

      await victim.restart();
      await network.waitForServers(5);
      assertEquals(await entries(`${victim.root}/uploads`), [], "nothing half-deleted survives");
      const after = await digest();
      const gone = objectIdsIn(after).length === 0;
      assert(gone || JSON.stringify(after) === JSON.stringify(before), "whole or gone");
      if (victimRemoved) assert(gone, "reported removed: it is gone");
      // What is left on the victim is not listed: the other 4 servers (at least k = 3) hold the
      // object's deletion record; `ls` passes it on, and the victim deletes its remnant.
      const listed = (await lsJson(network)).find((e) => e.tag === tag);
      assertEquals(listed, undefined, "a removed tag is not listed");
      assertEquals(objectIdsIn(await digest()), [], "the record reached the victim: remnant gone");
      const again = await network.run(["rm", tag, "--json"], { env: PW });
      assertEquals(again.code, 4, again.stderr);
      assert(again.stderr.includes("not found"), again.stderr);
    }
  });
});

/** `rm --json` output. */
interface RmJson {
  removed: string[];
  failed: { server: string; error: string }[];
}

async function copyDir(from: string, to: string): Promise<void> {
  const { success } = await new Deno.Command("cp", { args: ["-a", from, to] }).output();
  assert(success, `cp -a ${from} ${to}`);
}
