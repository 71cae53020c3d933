/**
 * Tags are names, never paths: slashes, dots, "..", any Unicode and up to
 * 4096 UTF-8 bytes are stored and listed exactly, and nothing of the tag
 * reaches a server's file system. Longer tags and control characters are
 * refused as usage errors before anything is stored.
 */

import { assert, assertEquals, assertRejects } from "./assert.ts";
import { sameBytes } from "./objects.ts";
import { prng } from "./prng.ts";
import { ROOT_ENTRIES } from "./fuzz/root.ts";
import type { RunResult, TestNetwork } from "./harness/network.ts";
import {
  closeSettled,
  entries,
  getBytes,
  inputFile,
  lsJson,
  PASSWORD,
  putBytes,
  trustedServers,
  walk,
  withNetwork,
} from "./harness/client.ts";
import { Client } from "../core/client/session.ts";
import { put as putObject } from "../core/client/put.ts";
import { get as getObject } from "../core/client/get.ts";
import { SecshrnetError } from "../core/errors.ts";
import { Host, RemoteError } from "../core/net/host.ts";

const LONG = "é".repeat(2046) + "/😀"; // 4092 + 1 + 4 = 4097 bytes: one too many
const MAX = "é".repeat(2046) + "😀"; // exactly 4096 UTF-8 bytes

/** Tags that must be stored and listed exactly. */
const GOOD = [
  "/a/b",
  "..",
  "../../etc/passwd",
  "a/../b",
  "/./.././/x/",
  "🔑 wallet 🗝️👨‍👩‍👧",
  "秘密/鍵.txt",
  "מפתח סודי",
  "مفتاح/سري",
  "\u202eevil\u202c.txt",
  " spaced tag ",
  "*?[]$(touch pwned)`id`;|&<>'\"\\",
  MAX,
];

/** Tags the CLI must refuse with exit 2, a label and what the message must name (NUL cannot be passed in argv; see the library test). */
const BAD: { label: string; tag: string; detail: string }[] = [
  { label: "4097 bytes", tag: LONG, detail: "4097" },
  { label: "newline", tag: "new\nline", detail: "U+000a" },
  { label: "ESC", tag: "esc\x1b[31mape", detail: "U+001b" },
  { label: "tab", tag: "tab\there", detail: "U+0009" },
  { label: "DEL", tag: "del\x7f", detail: "U+007f" },
  { label: "C1 NEL", tag: "c1\u0085next", detail: "U+0085" },
  // (Not at the very end: Deno drops a trailing "\r" from argv before the program sees it.)
  { label: "CR", tag: "c\rr", detail: "U+000d" },
];

async function checkRoot(root: string, tags: string[]) {
  for (const name of await entries(root)) {
    assert(ROOT_ENTRIES.includes(name), `unexpected ${name} in ${root}`);
  }
  assertEquals(await entries(`${root}/uploads`), [], `${root}/uploads is empty`);
  for (const path of await walk(`${root}/tags`)) {
    const parts = path.split("/");
    assert(/^[0-9a-f]{2}$/.test(parts[0]), `tags/${path}`);
    if (parts.length > 1) assert(/^[0-9a-f]{64}$/.test(parts[1]), `tags/${path}`);
    if (parts.length > 2) {
      assert(/^\d{15}-[0-9a-f]{32}$/.test(parts[2]) || parts[2] === "tag", `tags/${path}`);
    }
    // Inside an object: fixed file names (header, manifest, share, ...), never from the tag.
    if (parts.length > 3) assert(/^[a-z]{1,16}$/.test(parts[3]), `tags/${path}`);
    assert(parts.length <= 4, `tags/${path}`);
    for (const tag of tags) assert(!path.includes(tag), `tags/${path} holds tag ${tag}`);
  }
}

async function assertNothingOutside(network: TestNetwork) {
  const expected = network.servers.map((_, i) => `server-${i + 1}`);
  for (const name of await entries(network.dir)) {
    // .cache is Deno's own cache (the harness sets HOME to the scratch dir); .secshrnet holds
    // the clients' config and trust file, written by the harness.
    assert(
      expected.includes(name) || ["work", ".cache", ".secshrnet"].includes(name),
      `unexpected ${name} in ${network.dir}`,
    );
  }
  for (const path of await walk(`${network.dir}/work`)) {
    assert(/^(input|out)-\d+$/.test(path), `unexpected work/${path}`);
  }
}

Deno.test("tags with slashes, dots, Unicode and 4096 bytes are stored, listed and read exactly", async () => {
  await withNetwork(3, async (network) => {
    const random = prng(7301);
    const stored = new Map<string, Uint8Array>();
    for (const tag of GOOD) {
      const data = random.bytes(random.int(0, 3000));
      const put = await putBytes(network, tag, data, ["-k", "2"]);
      assertEquals(put.code, 0, `${JSON.stringify(tag)}: ${put.stderr}`);
      stored.set(tag, data);
    }

    const listing = await lsJson(network);
    assertEquals(listing.map((e) => e.tag).sort(), [...GOOD].sort(), "ls shows every tag exactly");
    for (const entry of listing) {
      assertEquals(entry.size, stored.get(entry.tag)!.length, entry.tag);
      assertEquals(entry.servers.length, 3, entry.tag);
    }
    const plain = await network.run(["ls"]);
    assertEquals(plain.code, 0, plain.stderr);
    for (const tag of GOOD) assert(plain.stdout.includes(tag), `plain ls shows ${tag}`);

    let outputs = 0;
    for (const [tag, data] of stored) {
      const get = await getBytes(network, tag);
      assertEquals(get.code, 0, `${JSON.stringify(tag)}: ${get.stderr}`);
      assert(sameBytes(get.stdoutBytes, data), `get ${JSON.stringify(tag)} returns its data`);
      if (!["..", "../../etc/passwd", "a/../b", MAX].includes(tag)) continue;
      // And to a named file: written where asked, nowhere else.
      const out = `${network.dir}/work/out-${++outputs}`;
      const file = await network.run(["get", tag, out], { env: { SECSHRNET_PASSWORD: PASSWORD } });
      assertEquals(file.code, 0, `${JSON.stringify(tag)}: ${file.stderr}`);
      assert(sameBytes(await Deno.readFile(out), data), `${out} holds ${JSON.stringify(tag)}`);
    }

    for (const server of network.servers) {
      await checkRoot(server.root, GOOD.filter((t) => t.length > 2 && !/^[0-9a-f]+$/.test(t)));
    }
    await assertNothingOutside(network);
    assert(!await Deno.stat("/tmp/etc/passwd").then(() => true, () => false));
  });
});

Deno.test("tags over 4096 bytes or with control characters are refused with exit 2", async () => {
  await withNetwork(3, async (network) => {
    const data = prng(7302).bytes(100);
    const file = await inputFile(network, data);
    const problems: string[] = [];
    const expect = (what: string, result: RunResult, detail: string) => {
      if (result.code !== 2 || !result.stderr.includes(detail)) {
        problems.push(`${what}: exit ${result.code}, ${result.stderr.trim().slice(0, 300)}`);
      } else if (result.stderr.trim().split("\n").length !== 1) {
        problems.push(`${what}: more than one line: ${result.stderr}`);
      }
    };
    for (const { label, tag, detail } of BAD) {
      const put = await network.run(["put", tag, file, "--log-n", "10"], {
        env: { SECSHRNET_PASSWORD: PASSWORD },
      });
      expect(`put (${label})`, put, detail);
      const get = await getBytes(network, tag);
      expect(`get (${label})`, get, detail);
      const rm = await network.run(["rm", tag], { env: { SECSHRNET_PASSWORD: PASSWORD } });
      expect(`rm (${label})`, rm, detail);
    }
    assertEquals(
      problems,
      [],
      "each refused with exit 2 and a one-line message naming the problem",
    );
    assertEquals(await lsJson(network), [], "nothing was stored");
    for (const server of network.servers) {
      assertEquals(await entries(`${server.root}/tags`), [], server.root);
      assertEquals(await entries(`${server.root}/uploads`), [], server.root);
    }
  });
});

Deno.test("a NUL in a tag is refused by the client library and by every server", async () => {
  await withNetwork(3, async (network) => {
    const tag = "nul\0byte";
    const host = await Host.connect({
      redisUrl: network.redis.url,
      network: "secshrnet",
      role: "client",
    });
    const client = await Client.connect(
      { redisUrl: network.redis.url, network: "secshrnet" },
      trustedServers(network),
    );
    try {
      for (const server of await host.servers()) {
        for (const bad of [tag, "x".repeat(4097), "a\nb"]) {
          const error = await assertRejects(() => host.request(server, "head", { tag: bad }));
          assert(error instanceof RemoteError, error.message);
          assertEquals(error.code, "bad-request", error.message);
          const begin = await assertRejects(() =>
            host.request(server, "put-begin", {
              tag: bad,
              objectId: new Uint8Array(16),
              index: 1,
              tokenHash: new Uint8Array(32),
            })
          );
          assertEquals((begin as RemoteError).code, "bad-request", begin.message);
        }
      }
      const stored = await assertRejects(() =>
        putObject(client, ReadableStream.from([new Uint8Array(10)]), {
          tag,
          password: PASSWORD,
          k: 2,
          logN: 10,
        })
      );
      assertEquals((stored as SecshrnetError).code, "usage", stored.message);
      assert(stored.message.includes("U+0000"), stored.message);
      const read = await assertRejects(() =>
        getObject(client, { tag, password: PASSWORD, minLogN: 10 })
      );
      assertEquals((read as SecshrnetError).code, "usage", read.message);
    } finally {
      await closeSettled(host, client);
    }

    for (const server of network.servers) {
      assertEquals(await entries(`${server.root}/tags`), [], server.root);
      assertEquals(await entries(`${server.root}/uploads`), [], server.root);
    }
  });
});
