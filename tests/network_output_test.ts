/**
 * What the commands print and write: `ls` and `servers` as tables and JSON,
 * `get` to files (never over one without --force, never a partial file) and
 * to stdout, and `put` from stdin.
 */

import { assert, assertEquals } from "./assert.ts";
import { sameBytes } from "./objects.ts";
import { prng } from "./prng.ts";
import type { TestNetwork } from "./harness/network.ts";
import {
  entries,
  getBytes,
  lsJson,
  objectDirs,
  putBytes,
  PW,
  serversJson,
  withNetwork,
  workDir,
  WRONG_PW,
} from "./harness/client.ts";

const HOST_ID = /^[0-9a-f]{64}$/;

function lines(text: string): string[] {
  return text.split("\n").filter((line) => line.trim() !== "");
}

Deno.test("ls and servers: tables with a header and one line per entry, and JSON with every field", async () => {
  await withNetwork(5, async (network) => {
    const random = prng(7501);
    const sizes = new Map([["/out/a", 1000], ["/out/b", 70_000], ["/out/c", 0]]);
    const before = Date.now();
    for (const [tag, size] of sizes) {
      const put = await putBytes(network, tag, random.bytes(size), ["-k", "3"]);
      assertEquals(put.code, 0, put.stderr);
    }
    const after = Date.now();
    const addresses = network.servers.map((s) => `server:${s.id}`).sort();

    const listing = await lsJson(network);
    assertEquals(listing.map((e) => e.tag), [...sizes.keys()]);
    for (const entry of listing) {
      assertEquals(
        Object.keys(entry).sort(),
        ["created", "k", "n", "recoverable", "servers", "size", "tag"],
      );
      assertEquals(entry.size, sizes.get(entry.tag));
      assertEquals([entry.k, entry.n, entry.recoverable], [3, 5, true]);
      assert(entry.created >= before - 1000 && entry.created <= after + 1000, `${entry.created}`);
      assertEquals([...entry.servers].sort(), addresses);
    }
    const ls = await network.run(["ls"]);
    assertEquals(ls.code, 0, ls.stderr);
    const lsLines = lines(ls.stdout);
    assertEquals(lsLines.length, 1 + sizes.size, ls.stdout);
    assert(/^TAG\s+SIZE\s+CREATED.*K\/N\s+SERVERS\s+RECOVERABLE$/.test(lsLines[0]), lsLines[0]);
    [...sizes.keys()].forEach((tag, i) => {
      const line = lsLines[i + 1];
      assert(line.startsWith(tag + " "), line);
      assert(/\s3\/5\s+5\s+yes$/.test(line), line);
    });
    assert(/1000 B/.test(lsLines[1]) && /68\.4 KiB/.test(lsLines[2]), ls.stdout);

    const servers = await serversJson(network);
    assertEquals(servers.map((s) => s.address), addresses);
    for (const server of servers) {
      for (
        const key of ["address", "trusted", "id", "hostname", "os", "version", "objects", "bytes"]
      ) {
        assert(key in server, `servers --json has ${key}`);
      }
      assert("latencyMs" in server, "servers --json has latencyMs");
      assertEquals(server.address, `server:${server.id}`);
      assertEquals(server.trusted, true);
      assert(HOST_ID.test(server.id), server.id);
      assertEquals(server.hostname, Deno.hostname());
      assert(server.os.includes(Deno.build.os), server.os);
      assert(/^\d+\.\d+\.\d+/.test(server.version), server.version);
      assertEquals(server.objects, 3, "three objects on every server");
      const root = network.servers.find((s) => s.id === server.id)!.root;
      let shareBytes = 0;
      for (const dir of await objectDirs(root)) {
        shareBytes += (await Deno.stat(`${dir}/share`)).size;
      }
      assertEquals(server.bytes, shareBytes, "bytes = the share bytes on disk");
      assert(Number.isInteger(server.latencyMs) && server.latencyMs >= 0, `${server.latencyMs}`);
      assert(server.latencyMs < 5000, `${server.latencyMs}`);
    }
    const table = await network.run(["servers"]);
    assertEquals(table.code, 0, table.stderr);
    const [serverTable, redisLine] = table.stdout.split("\n\n");
    const serverLines = lines(serverTable);
    assertEquals(serverLines.length, 1 + 5, table.stdout);
    assertEquals(redisLine.trim(), `Redis: one node, ${network.redis.url}`);
    assert(
      /^SERVER\s+TRUSTED\s+HOST\s+OS\s+VERSION\s+OBJECTS\s+STORED\s+FREE\s+RTT$/.test(
        serverLines[0],
      ),
      serverLines[0],
    );
    for (const server of network.servers) {
      const rows = serverLines.filter((l) => l.startsWith(server.name + " "));
      assertEquals(rows.length, 1, server.id);
      assert(/^\S+\s+yes\s/.test(rows[0]), rows[0]);
    }
  });
});

Deno.test("ls: a k=4 object with 2 of 5 servers down is listed as not recoverable", async () => {
  await withNetwork(5, async (network) => {
    const put = await putBytes(network, "/out/k4", prng(7502).bytes(5000), ["-k", "4"]);
    assertEquals(put.code, 0, put.stderr);
    await network.servers[0].signal("SIGKILL");
    await network.servers[3].signal("SIGKILL");
    await network.waitForServers(3);
    const [entry] = await lsJson(network);
    assertEquals([entry.tag, entry.k, entry.n, entry.servers.length], ["/out/k4", 4, 5, 3]);
    assertEquals(entry.recoverable, false);
    const ls = await network.run(["ls"]);
    assertEquals(ls.code, 0, ls.stderr);
    const [header, line, ...rest] = lines(ls.stdout);
    assert(header.startsWith("TAG"), header);
    assertEquals(rest, []);
    assert(/\s4\/5\s+3\s+no$/.test(line), line);
    const get = await getBytes(network, "/out/k4");
    assertEquals(get.code, 4, get.stderr);
    assert(get.stderr.includes("found 3 of 4 needed shares"), get.stderr);
  });
});

async function partials(dir: string): Promise<string[]> {
  return (await entries(dir)).filter((name) => name.includes("partial"));
}

/** Flips one byte of the share of the object of `tag`'s only object on `root`, `fromEnd` bytes before its end. */
async function corruptShare(root: string, fromEnd: number) {
  const [dir] = await objectDirs(root);
  const file = await Deno.open(`${dir}/share`, { read: true, write: true });
  try {
    const size = (await file.stat()).size;
    const byte = new Uint8Array(1);
    await file.seek(size - fromEnd, Deno.SeekMode.Start);
    await file.read(byte);
    byte[0] ^= 0xff;
    await file.seek(size - fromEnd, Deno.SeekMode.Start);
    await file.write(byte);
  } finally {
    file.close();
  }
}

async function getTo(network: TestNetwork, tag: string, path: string, extra: string[] = []) {
  return await network.run(["get", tag, path, ...extra], { env: PW });
}

Deno.test("get: no overwrite without --force, --force replaces, - writes only the bytes, put reads stdin", async () => {
  await withNetwork(3, async (network) => {
    const random = prng(7503);
    const data = random.bytes(200_000);
    const dir = await workDir(network, "get");

    // put TAG - reads standard input.
    const put = await network.run(["put", "/out/stdin", "-", "-k", "2", "--log-n", "10"], {
      env: PW,
      stdin: data,
    });
    assertEquals(put.code, 0, put.stderr);
    assert(put.stdout.includes("195 KiB"), put.stdout);

    // get TAG - : exactly the bytes on stdout, nothing else.
    const stdout = await getBytes(network, "/out/stdin");
    assertEquals(stdout.code, 0, stdout.stderr);
    assertEquals(stdout.stdoutBytes.length, data.length);
    assert(sameBytes(stdout.stdoutBytes, data), "stdout holds exactly the file");

    // An existing file is kept without --force.
    const target = `${dir}/target`;
    const old = new TextEncoder().encode("keep me\n");
    await Deno.writeFile(target, old);
    const refused = await getTo(network, "/out/stdin", target);
    assertEquals(refused.code, 6, refused.stderr);
    assert(refused.stderr.includes("--force"), refused.stderr);
    assert(sameBytes(await Deno.readFile(target), old), "the existing file is unchanged");
    assertEquals(await entries(dir), ["target"], "nothing else written");

    // --force replaces it.
    const forced = await getTo(network, "/out/stdin", target, ["--force"]);
    assertEquals(forced.code, 0, forced.stderr);
    assert(sameBytes(await Deno.readFile(target), data), "--force replaced the file");
    assertEquals(await entries(dir), ["target"], "no temporary file left");
    const mode = (await Deno.stat(target)).mode! & 0o777;
    assertEquals(mode & 0o077, 0, `retrieved file is private (mode ${mode.toString(8)})`);

    // A fresh file, with --json.
    const json = await getTo(network, "/out/stdin", `${dir}/fresh`, ["--json"]);
    assertEquals(json.code, 0, json.stderr);
    const summary = JSON.parse(json.stdout);
    assertEquals([summary.tag, summary.size, summary.k, summary.n], [
      "/out/stdin",
      data.length,
      2,
      3,
    ]);
    assert(sameBytes(await Deno.readFile(`${dir}/fresh`), data));
  });
});

Deno.test("get: a failed get leaves no output file and no partial file", async () => {
  await withNetwork(5, async (network) => {
    const random = prng(7504);
    const data = random.bytes(3 * 2 ** 20 + 777);
    const dir = await workDir(network, "failed");
    const put = await putBytes(network, "/out/fail", data, ["-k", "3"]);
    assertEquals(put.code, 0, put.stderr);

    const wrong = await network.run(["get", "/out/fail", `${dir}/wrong`], { env: WRONG_PW });
    assertEquals(wrong.code, 5, wrong.stderr);
    assertEquals(await entries(dir), [], "nothing left after a wrong password");

    // A server returning a corrupted share is named and not used while k others are intact.
    // Shares are numbered in the order of the server addresses; the opener reads the
    // first k indices first, so the liar is the server with share 1.
    const liar = [...network.servers].sort((a, b) => a.id < b.id ? -1 : 1)[0];
    await corruptShare(liar.root, 1000);
    const survived = await network.run(["get", "/out/fail", `${dir}/survived`], { env: PW });
    assertEquals(survived.code, 0, survived.stderr);
    assert(sameBytes(await Deno.readFile(`${dir}/survived`), data), "rebuilt from honest servers");
    assert(survived.stderr.includes(liar.name), `names the lying server: ${survived.stderr}`);
    await Deno.remove(`${dir}/survived`);

    // Fail half-way: 3 servers left (k = 3), one of them the liar, whose share
    // is bad only near its end, so the first segments are written before the failure.
    const [x, y, last] = network.servers.filter((s) => s !== liar);
    await x.signal("SIGKILL");
    await y.signal("SIGKILL");
    await network.waitForServers(3);
    const torn = await network.run(["get", "/out/fail", `${dir}/torn`], { env: PW });
    assertEquals(torn.code, 4, torn.stderr);
    assert(torn.stderr.includes("found 2 of 3 needed shares"), torn.stderr);
    assertEquals(await entries(dir), [], "nothing left after a get that failed mid-stream");
    assertEquals(await partials(network.dir), [], "no partial file in the scratch dir either");

    // Not enough servers at all.
    await last.signal("SIGKILL");
    await network.waitForServers(2);
    const few = await network.run(["get", "/out/fail", `${dir}/few`], { env: PW });
    assertEquals(few.code, 4, few.stderr);
    assertEquals(await entries(dir), [], "nothing left after a get with too few shares");

    // The error of the get that failed mid-stream names the server whose share was bad
    // (design: "Errors name what is missing ... (servers a, b)"), not only its share index.
    assert(torn.stderr.includes(liar.name), `names the bad server: ${torn.stderr}`);
  });
});
