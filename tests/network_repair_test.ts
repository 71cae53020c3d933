/**
 * Durability over time with real servers: `check` finds a lost server and a
 * damaged share, `repair` rebuilds exactly the missing shares (the others'
 * files untouched), and repair's limits: too few free servers, a lost tag,
 * and a client killed in the middle.
 */

import { assert, assertEquals } from "./assert.ts";
import { sameBytes } from "./objects.ts";
import { prng } from "./prng.ts";
import { getBytes, objectDirs, putBytes, PW, runJson, withNetwork } from "./harness/client.ts";
import { secshrnetArgs, type TestNetwork } from "./harness/network.ts";

/** One entry of `check --json`. */
interface Health {
  tag: string;
  status: string;
  k: number;
  n: number;
  good: number;
  missing: number[];
  shares: { server: string; index: number; state: string; segment?: number }[];
}

/** Every share file of every server with its bytes and mtime. */
async function shareFiles(network: TestNetwork) {
  const files = new Map<string, { bytes: Uint8Array; mtime: number }>();
  for (const server of network.servers.filter((s) => s.running)) {
    for (const dir of await objectDirs(server.root)) {
      for (const name of ["share", "header", "manifest", "index", "access"]) {
        const path = `${dir}/${name}`;
        files.set(path, {
          bytes: await Deno.readFile(path),
          mtime: (await Deno.stat(path)).mtime!.getTime(),
        });
      }
    }
  }
  return files;
}

Deno.test("a dead server replaced by an empty one: check 3, repair 0, check 0; other shares untouched", async () => {
  await withNetwork(4, async (network) => {
    const data = prng(1001).bytes(1_300_000);
    const put = await putBytes(network, "/repair/replaced", data);
    assertEquals(put.code, 0, put.stderr);
    const healthy = await network.run(["check", "/repair/replaced"]);
    assertEquals(healthy.code, 0, healthy.stdout + healthy.stderr);
    assert(/healthy/.test(healthy.stdout), healthy.stdout);

    // Its disk dies: the server goes, its root is gone, a new empty server joins and is trusted.
    const dead = network.servers[1];
    await dead.stop();
    await Deno.remove(dead.root, { recursive: true });
    const fresh = await network.addServer();
    await network.waitForServers(4);

    const degraded = await network.run(["check", "--json"]);
    assertEquals(degraded.code, 3, degraded.stderr);
    const [before] = JSON.parse(degraded.stdout) as Health[];
    assertEquals([before.status, before.k, before.n, before.good], ["degraded", 3, 4, 3]);
    assertEquals(before.missing.length, 1, degraded.stdout);
    const table = await network.run(["check"]);
    assertEquals(table.code, 3);
    assert(table.stdout.includes("degraded"), table.stdout);

    const untouched = await shareFiles(network);
    await new Promise((resolve) => setTimeout(resolve, 20)); // a rewrite would show in the mtime
    const repair = await network.run(["repair"], { env: PW });
    assertEquals(repair.code, 0, repair.stdout + repair.stderr);
    assert(repair.stdout.includes(fresh.name), repair.stdout);

    const after = await runJson<Health[]>(network, ["check", "--json"]);
    assertEquals(after.map((h) => [h.status, h.good]), [["healthy", 4]]);
    for (const [path, file] of untouched) {
      const now = await Deno.stat(path);
      assertEquals(now.mtime!.getTime(), file.mtime, `${path} was rewritten`);
      assert(sameBytes(await Deno.readFile(path), file.bytes), `${path} changed`);
    }
    const rebuilt = await objectDirs(fresh.root);
    assertEquals(rebuilt.length, 1, "the new server holds the rebuilt share");
    assertEquals(
      Number(await Deno.readTextFile(`${rebuilt[0]}/index`)),
      before.missing[0],
      "with the missing index",
    );
    // The same object: its header and manifest equal the others'.
    const other = (await objectDirs(network.servers[0].root))[0];
    for (const name of ["header", "manifest"]) {
      assert(
        sameBytes(
          await Deno.readFile(`${rebuilt[0]}/${name}`),
          await Deno.readFile(`${other}/${name}`),
        ),
        `${name} differs`,
      );
    }
    // The rebuilt share alone with k − 1 others opens the file.
    await network.servers[0].stop();
    await network.waitForServers(3);
    const get = await getBytes(network, "/repair/replaced");
    assertEquals(get.code, 0, get.stderr);
    assert(sameBytes(get.stdoutBytes, data), "rebuilt with the repaired share");
  });
});

Deno.test("a flipped byte: check --verify names the server and segment, repair replaces it in place, verify is clean", async () => {
  await withNetwork(3, async (network) => {
    const data = prng(1002).bytes(2_500_000);
    const put = await putBytes(network, "/repair/flipped", data, ["-k", "2"]);
    assertEquals(put.code, 0, put.stderr);
    const victim = network.servers[2];
    const [dir] = await objectDirs(victim.root);
    const share = await Deno.readFile(`${dir}/share`);
    const offset = share.length - 1000; // inside the last segment's frame
    share[offset] ^= 0x40;
    await Deno.writeFile(`${dir}/share`, share);

    const verify = await network.run(["check", "--verify", "/repair/flipped", "--json"], {
      env: PW,
    });
    assertEquals(verify.code, 3, verify.stderr);
    const [found] = JSON.parse(verify.stdout) as Health[];
    const bad = found.shares.filter((s) => s.state === "bad");
    assertEquals(bad.map((s) => s.server), [`server:${victim.id}`], verify.stdout);
    assert(bad[0].segment !== undefined && bad[0].segment > 0, verify.stdout);
    const text = await network.run(["check", "--verify", "/repair/flipped"], { env: PW });
    assertEquals(text.code, 3);
    assert(text.stderr.includes(victim.name) && text.stderr.includes("segment"), text.stderr);

    const others = await shareFiles(network);
    others.delete(`${dir}/share`);
    const repair = await network.run(["repair", "/repair/flipped"], { env: PW });
    assertEquals(repair.code, 0, repair.stdout + repair.stderr);
    const clean = await network.run(["check", "--verify", "/repair/flipped"], { env: PW });
    assertEquals(clean.code, 0, clean.stdout + clean.stderr);
    for (const [path, file] of others) {
      if (path.startsWith(victim.root)) continue;
      assertEquals((await Deno.stat(path)).mtime!.getTime(), file.mtime, `${path} rewritten`);
    }
    assertEquals((await objectDirs(victim.root)).length, 1, "replaced in place, one object");
    const get = await getBytes(network, "/repair/flipped");
    assert(get.code === 0 && sameBytes(get.stdoutBytes, data), get.stderr);
  });
});

Deno.test("repair with too few free servers exits 3 naming what is missing; a lost tag exits 4", async () => {
  await withNetwork(3, async (network) => {
    const put = await putBytes(network, "/repair/short", prng(1003).bytes(200_000), ["-k", "2"]);
    assertEquals(put.code, 0, put.stderr);
    await network.servers[0].stop();
    await network.waitForServers(2);
    const check = await network.run(["check", "/repair/short"]);
    assertEquals(check.code, 3, check.stdout + check.stderr);
    const repair = await network.run(["repair", "/repair/short"], { env: PW });
    assertEquals(repair.code, 3, repair.stdout + repair.stderr);
    assert(/still missing/.test(repair.stderr) && /more server/.test(repair.stderr), repair.stderr);

    await network.servers[1].stop();
    await network.waitForServers(1);
    const lost = await network.run(["check", "/repair/short"]);
    assertEquals(lost.code, 4, lost.stdout + lost.stderr);
    assert(lost.stdout.includes("lost"), lost.stdout);
    const hopeless = await network.run(["repair", "/repair/short"], { env: PW });
    assertEquals(hopeless.code, 4, hopeless.stdout + hopeless.stderr);
    const all = await network.run(["repair"], { env: PW });
    assertEquals(all.code, 4, all.stdout + all.stderr);
    assert(all.stderr.includes("lost"), all.stderr);
  });
});

Deno.test("repair killed with SIGKILL mid-transfer, then run again, ends healthy", async () => {
  await withNetwork(3, async (network) => {
    const data = prng(1004).bytes(24_000_000);
    const put = await putBytes(network, "/repair/killed", data, ["-k", "2"]);
    assertEquals(put.code, 0, put.stderr);
    const dead = network.servers[0];
    await dead.stop();
    const fresh = await network.addServer();
    await network.waitForServers(3);

    const child = new Deno.Command(Deno.execPath(), {
      args: [...secshrnetArgs(), "repair", "/repair/killed"],
      env: { ...network.env, ...PW },
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    // Kill it once the new server is receiving the rebuilt share.
    const uploads = `${fresh.root}/uploads`;
    const receiving = async () => {
      for await (const upload of Deno.readDir(uploads)) {
        const share = await Deno.stat(`${uploads}/${upload.name}/share`).catch(() => undefined);
        if (share !== undefined && share.size > 1_000_000) return true;
      }
      return false;
    };
    const deadline = Date.now() + 60_000;
    while (!await receiving()) {
      assert(Date.now() < deadline, "the repair never started uploading");
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    child.kill("SIGKILL");
    await child.status;
    assertEquals(
      (await objectDirs(fresh.root)).length,
      0,
      "nothing committed by the killed repair",
    );

    const again = await network.run(["repair", "/repair/killed"], { env: PW });
    assertEquals(again.code, 0, again.stdout + again.stderr);
    assertEquals((await objectDirs(fresh.root)).length, 1);
    const check = await network.run(["check", "/repair/killed"]);
    assertEquals(check.code, 0, check.stdout + check.stderr);
    await network.servers[1].stop();
    await network.waitForServers(2);
    const get = await getBytes(network, "/repair/killed");
    assert(get.code === 0 && sameBytes(get.stdoutBytes, data), get.stderr);
  });
});

Deno.test("repair without TAG repairs the degraded tags the password opens and says which it skipped (exit 3)", async () => {
  await withNetwork(3, async (network) => {
    const other = { SECSHRNET_PASSWORD: "another password" };
    const mine = await putBytes(network, "/repair/mine", prng(1005).bytes(100_000), ["-k", "2"]);
    const theirs = await putBytes(network, "/repair/theirs", prng(1006).bytes(100_000), [
      "-k",
      "2",
    ], other);
    assertEquals([mine.code, theirs.code], [0, 0], mine.stderr + theirs.stderr);
    const dead = network.servers[0];
    await dead.stop();
    await Deno.remove(dead.root, { recursive: true });
    await network.addServer();
    await network.waitForServers(3);

    const first = await network.run(["repair", "--json"], { env: PW });
    assertEquals(first.code, 3, first.stderr);
    const repaired = JSON.parse(first.stdout) as { tag: string; after: Health }[];
    assertEquals(repaired.map((r) => [r.tag, r.after.status]), [["/repair/mine", "healthy"]]);
    assert(
      first.stderr.includes("/repair/theirs") && first.stderr.includes("skipped"),
      first.stderr,
    );
    const wrong = await network.run(["repair", "/repair/theirs"], { env: PW });
    assertEquals(wrong.code, 5, wrong.stderr);
    const second = await network.run(["repair"], { env: other });
    assertEquals(second.code, 0, second.stdout + second.stderr);
    const check = await network.run(["check"]);
    assertEquals(check.code, 0, check.stdout + check.stderr);
  });
});
