/**
 * Faults, space (issue 5): a server over its configured byte limit
 * (`max_total_bytes`, `max_object_bytes`), and a server whose root is a
 * tmpfs that fills up, during the data and at commit. The server refuses
 * cleanly (`full`), the client names it and says why, nothing torn or staged
 * remains, the space comes back, and a put that cannot reach k servers
 * leaves nothing visible.
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
  PW,
  withNetwork,
} from "./harness/client.ts";
import {
  configureServers,
  expectedShareBytes,
  MiB,
  objectIdsIn,
  poll,
  startTmpfsServer,
  tagsDigest,
  watchBus,
} from "./harness/faults.ts";
import type { TestNetwork } from "./harness/network.ts";

/** `put --json` output. */
interface PutJson {
  servers: { server: string; index: number; stored: boolean; error?: string }[];
}

/** The servers that did not store, with their errors, from `put --json`. */
function failures(stdout: string): Record<string, string> {
  const { servers } = JSON.parse(stdout) as PutJson;
  return Object.fromEntries(servers.filter((s) => !s.stored).map((s) => [s.server, s.error ?? ""]));
}

/** Waits until no server root in `roots` has anything staged. */
async function nothingStaged(roots: string[]): Promise<void> {
  await poll(async () => {
    const left = await Promise.all(roots.map((root) => entries(`${root}/uploads`)));
    return left.every((names) => names.length === 0);
  }, "every staged upload removed");
}

const put = (network: TestNetwork, tag: string, file: string, k: number) =>
  network.run(["put", tag, file, "-k", String(k), "--json", ...FAST], { env: PW });

Deno.test("servers over max_total_bytes / max_object_bytes refuse cleanly and are named; below k nothing is left visible", async () => {
  await withNetwork(5, async (network) => {
    const [total, object] = network.servers;
    await configureServers(network, [total], '[server]\nmax_total_bytes = "1 MiB"\n');
    await configureServers(network, [object], '[server]\nmax_object_bytes = "512 KiB"\n');
    const ids = network.servers.map((s) => s.name);
    const data = prng(9401).bytes(3 * MiB);
    const stored = await put(network, "/faults/limits/fits", await inputFile(network, data), 3);
    assertEquals(stored.code, 3, stored.stderr);
    assertEquals(failures(stored.stdout), {
      [`server:${object.id}`]: "full: object exceeds this server's limit of 524288 bytes",
      [`server:${total.id}`]: "full: server storage limit of 1048576 bytes reached",
    });
    assertEquals(namedServers(stored.stderr, ids).sort(), [object.name, total.name].sort());
    await nothingStaged([total.root, object.root]);
    for (const server of [total, object]) {
      assertEquals(objectIdsIn(await tagsDigest(server.root)), [], "nothing committed");
    }
    const get = await getBytes(network, "/faults/limits/fits");
    assertEquals(get.code, 0, get.stderr);
    assert(sameBytes(get.stdoutBytes, data), "identical from the three others");

    // k = 4 with two servers full: not stored, and nothing of it is listed or
    // kept (the three that received their share do not commit it).
    const digests = await Promise.all(network.servers.map((s) => tagsDigest(s.root)));
    const large = await inputFile(network, prng(9402).bytes(6 * MiB));
    const refused = await put(network, "/faults/limits/short", large, 4);
    assertEquals(refused.code, 1, refused.stderr);
    assert(refused.stderr.includes("only 3 of the 4 servers needed"), refused.stderr);
    assertEquals(namedServers(refused.stderr, ids).sort(), [object.name, total.name].sort());
    await nothingStaged(network.servers.map((s) => s.root));
    assertEquals(await Promise.all(network.servers.map((s) => tagsDigest(s.root))), digests);
    assertEquals((await lsJson(network)).map((e) => e.tag), ["/faults/limits/fits"]);
    const retry = await put(network, "/faults/limits/short", large, 3);
    assertEquals(retry.code, 3, `a retry needs no --force: ${retry.stderr}`);
  });
});

Deno.test("a server on a full tmpfs refuses cleanly during the data and at commit, frees the space and keeps serving", async () => {
  await withNetwork(3, async (network) => {
    const small = await startTmpfsServer(
      network,
      "tmpfs-root",
      "8m",
      '[server]\nmax_total_bytes = "9 MiB"\n', // above the disk: the disk fills first
    );
    // What the small server tells clients: a `put-reset` fails an upload during
    // the data, an `error` reply fails a request such as put-commit.
    const told: string[] = [];
    const bus = await watchBus(network, (message) => {
      if (message.from !== `server:${small.id}`) return;
      if (message.type === "put-reset" || message.type === "error") {
        told.push(`${message.type} ${message.body.code}`);
      }
    }, "secshrnet:client:*");
    try {
      await network.waitForServers(4);
      const name = `server:${small.id}`;
      // Free bytes, not counting the pages of the server's log (on the same tmpfs, growing).
      const unlogged = async () => {
        const log = await Deno.stat(`${small.root}/secshrnetd.log`);
        return await small.freeBytes() + Math.ceil(log.size / 4096) * 4096;
      };
      const space = await unlogged();
      const full = `full: no space left on this server's disk`;

      // 30 MiB with k = 3: a 10 MiB share, more than the 8 MiB disk holds.
      const big = prng(9403).bytes(30 * MiB);
      const during = await put(network, "/faults/tmpfs/during", await inputFile(network, big), 3);
      assertEquals(during.code, 3, during.stderr);
      assertEquals(Object.keys(failures(during.stdout)), [name]);
      assert(failures(during.stdout)[name].startsWith(full), during.stdout);
      assert(during.stderr.includes(small.id.slice(0, 16)), during.stderr);
      assert(told.length > 0 && told.every((t) => t === "put-reset full"), `during: ${told}`);
      told.length = 0;
      await nothingStaged([small.root]);
      assertEquals(await unlogged(), space, "every byte of the partial share freed");

      // Leave room for the share and one page: it arrives whole, and the
      // metadata written at commit finds the disk full.
      const data = prng(9404).bytes(18 * MiB);
      const pages = Math.ceil(expectedShareBytes(data.length, 3, 4) / 4096);
      const room = (pages + 1) * 4096; // one page more: the log may take it, then the header fails
      await Deno.writeFile(`${small.root}/ballast`, new Uint8Array(await small.freeBytes() - room));
      const commit = await put(network, "/faults/tmpfs/commit", await inputFile(network, data), 3);
      assertEquals(commit.code, 3, commit.stderr);
      assertEquals(Object.keys(failures(commit.stdout)), [name]);
      assert(failures(commit.stdout)[name].startsWith(full), commit.stdout);
      assertEquals(told, ["error full"], "the whole share arrived; the commit failed");
      await nothingStaged([small.root]);
      assertEquals(
        objectIdsIn(await tagsDigest(small.root)),
        [],
        "nothing committed, nothing torn",
      );
      await Deno.remove(`${small.root}/ballast`);
      assertEquals(await unlogged(), space);

      // The refused uploads gave back their reservations of max_total_bytes: a
      // 4 MiB share fits under the 9 MiB limit beside the 6 MiB one refused.
      const after = prng(9405).bytes(12 * MiB);
      const fits = await put(network, "/faults/tmpfs/after", await inputFile(network, after), 3);
      assertEquals(fits.code, 0, fits.stderr);
      assertEquals(failures(fits.stdout), {});
      assertEquals(objectIdsIn(await tagsDigest(small.root)).length, 1);
      await bus.close();
      const get = await getBytes(network, "/faults/tmpfs/during");
      assertEquals(get.code, 0, get.stderr);
      assert(sameBytes(get.stdoutBytes, big), "what the others stored is intact");
    } finally {
      await bus.close();
      await small.stop();
    }
  });
});
