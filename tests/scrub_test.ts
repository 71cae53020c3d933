/**
 * The scrub (server/scrub.ts) on real files: a clean pass marks nothing; a
 * flipped byte, a short, long or missing share is marked `damaged` with the
 * offset of the first bad block, and `head` says so; an object stored
 * without checksums gets them; the rate is kept and a stop is prompt. The
 * `[server] scrub_rate` and `scrub_interval` keys. And a real `secshrnet
 * serve` finding a flipped byte by itself, reported by `head`, `list` and
 * `info` over Redis.
 */

import { ConfigError, parseConfig } from "../core/config.ts";
import { Host } from "../core/net/host.ts";
import { CHECKSUM_BLOCK } from "../server/checksums.ts";
import { Scrubber, type ScrubOptions } from "../server/scrub.ts";
import { Store, type StoredObject } from "../server/store.ts";
import { assert, assertEquals, assertThrows } from "./assert.ts";
import { startNetwork } from "./harness/network.ts";
import { waitUntil } from "./harness/client.ts";
import { commit, flipByte, type Sealed, sealObject } from "./harness/stored.ts";
import { prng } from "./prng.ts";

const TAG = "/scrub/tag";
const FAST = 2 ** 30;

/** A store in a fresh root holding `object`, a scrubber on it, and the scrub's log lines. */
async function withScrub(
  object: Sealed,
  test: (store: Store, scrub: Scrubber, lines: string[]) => Promise<void>,
  options: Partial<ScrubOptions> = {},
): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "secshrnet-scrub-" });
  const lines: string[] = [];
  const scrub = (store: Store) =>
    new Scrubber(store, {
      rate: FAST,
      intervalMs: 3_600_000,
      log: (level, message) => lines.push(`${level} ${message}`),
      ...options,
    });
  try {
    const store = await Store.open(root);
    await commit(store, object);
    const scrubber = scrub(store);
    try {
      await test(store, scrubber, lines);
    } finally {
      await scrubber.stop();
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

/** The newest object of TAG. */
async function newest(store: Store): Promise<StoredObject> {
  return (await store.objects(TAG))[0];
}

/** The `damaged` file of `object`, parsed, or undefined. */
async function damage(
  object: StoredObject,
): Promise<{ offset: number; found: number } | undefined> {
  const text = await Deno.readTextFile(`${object.dir}/damaged`).catch(() => undefined);
  return text === undefined ? undefined : JSON.parse(text);
}

const object = await sealObject(TAG, prng(2001).bytes(700_000), 1);
const shareBytes = object.shares[0].length;

Deno.test("scrub: a clean pass marks nothing; a flipped byte is marked at its block's offset, and head reports it", async () => {
  await withScrub(object, async (store, scrub, lines) => {
    await scrub.pass();
    assertEquals(await damage(await newest(store)), undefined);
    assertEquals(scrub.status.bytesChecked, shareBytes);
    assertEquals(scrub.status.passes, 1);
    assert(scrub.status.lastPassEnded! <= Date.now());

    const flippedAt = CHECKSUM_BLOCK + 12_345;
    await flipByte(`${(await newest(store)).dir}/share`, flippedAt);
    const before = Date.now();
    await scrub.pass();
    const marked = await newest(store);
    const found = await damage(marked);
    assertEquals(found?.offset, CHECKSUM_BLOCK, "the first byte of the bad block");
    assert(found!.found >= before && found!.found <= Date.now(), String(found?.found));
    assertEquals(marked.damaged, true, "head reports it");
    assertEquals(store.stats.damaged, 1);
    const warning = lines.find((line) => line.startsWith("warn scrub: share 1 of object"));
    assert(warning?.includes(object.id) && warning.includes(`byte ${CHECKSUM_BLOCK}`), warning);
    assertEquals(await Deno.stat(`${marked.dir}/damaged`).then((s) => s.mode! & 0o777), 0o600);

    // A damaged share is not read again.
    const checked = scrub.status.bytesChecked;
    await scrub.pass();
    assertEquals(scrub.status.bytesChecked, checked);
  });
});

Deno.test("scrub: a short, a long and a missing share are damaged", async () => {
  const cases: [string, (share: string) => Promise<void>, number][] = [
    ["cut at a block boundary", (share) => Deno.truncate(share, CHECKSUM_BLOCK), CHECKSUM_BLOCK],
    ["cut within a block", (share) => Deno.truncate(share, shareBytes - 10), 2 * CHECKSUM_BLOCK],
    [
      "one byte more", // the last block no longer matches
      (share) => Deno.writeFile(share, new Uint8Array(1), { append: true }),
      2 * CHECKSUM_BLOCK,
    ],
    ["missing", (share) => Deno.remove(share), 0],
  ];
  for (const [name, spoil, offset] of cases) {
    await withScrub(object, async (store, scrub) => {
      await spoil(`${(await newest(store)).dir}/share`);
      await scrub.pass();
      assertEquals((await damage(await newest(store)))?.offset, offset, name);
    });
  }
});

Deno.test("scrub: an object stored without checksums gets them on its first pass, then is checked against them", async () => {
  await withScrub(object, async (store, scrub) => {
    const { dir } = await newest(store);
    const written = await Deno.readFile(`${dir}/checksums`);
    await Deno.remove(`${dir}/checksums`);
    await scrub.pass();
    assertEquals(await Deno.readFile(`${dir}/checksums`), written);
    assertEquals(await damage(await newest(store)), undefined);
    await flipByte(`${dir}/share`, 5);
    await scrub.pass();
    assertEquals((await damage(await newest(store)))?.offset, 0);
  });
});

Deno.test("scrub: a pass reads no faster than the rate, and a stop is prompt", async () => {
  const rate = 2 ** 20;
  await withScrub(object, async (_store, scrub) => {
    const started = Date.now();
    await scrub.pass();
    const elapsed = Date.now() - started;
    const floor = ((shareBytes - CHECKSUM_BLOCK) / rate) * 1000; // the last block is not waited for
    assert(elapsed >= floor, `${shareBytes} bytes at ${rate} B/s took ${elapsed} ms`);
  }, { rate });

  await withScrub(object, async (_store, scrub) => {
    scrub.start();
    await new Promise((resolve) => setTimeout(resolve, 200));
    const stopping = Date.now();
    await scrub.stop();
    assert(Date.now() - stopping < 1000, `stop took ${Date.now() - stopping} ms`);
    assertEquals(scrub.status.passes, 0, "the slow pass was cut short");
    assert(scrub.status.bytesChecked < shareBytes, String(scrub.status.bytesChecked));
  }, { rate: 64 * 1024 });
});

Deno.test("config: [server] scrub_rate and scrub_interval", () => {
  const FILE = "/etc/secshrnet.conf";
  const server = (text: string) => parseConfig(`[server]\n${text}\n`, FILE).server;
  assertEquals(server(""), {});
  assertEquals(server(`scrub_rate = "4 MiB"`), { scrubRate: 4 * 2 ** 20 });
  assertEquals(server(`scrub_rate = "4MiB/s"`), { scrubRate: 4 * 2 ** 20 });
  assertEquals(server(`scrub_rate = 1000000`), { scrubRate: 1_000_000 });
  assertEquals(server(`scrub_rate = 0`), { scrubRate: 0 });
  assertEquals(server(`scrub_rate = "0"`), { scrubRate: 0 });
  assertEquals(server(`scrub_interval = 3600`), { scrubIntervalMs: 3_600_000 });
  const refused = (text: string, part: string) => {
    const error = assertThrows(() => server(text), ConfigError, part);
    assert(!error.message.includes("\n") && error.message.startsWith(FILE), error.message);
  };
  refused(`scrub_rate = "fast"`, "[server] scrub_rate");
  refused(`scrub_rate = -1`, "[server] scrub_rate");
  refused(`scrub_rate = true`, "[server] scrub_rate");
  refused(`scrub_interval = 0`, "[server] scrub_interval must be an integer from 1 to 2592000");
  refused(`scrub_interval = "1h"`, "[server] scrub_interval must be an integer");
  refused(`scrub_speed = 1`, "unknown key");
});

Deno.test("serve: the scrub finds a flipped byte by itself; head, list and info report it over Redis", async () => {
  const config = `[server]\nscrub_interval = 1\nscrub_rate = "256 MiB"\n`;
  const network = await startNetwork(0, { config });
  let host: Host | undefined;
  try {
    const root = `${network.dir}/server-1`;
    await commit(await Store.open(root), object);
    const server = await network.addServer();
    await network.waitForServers(1);
    const [stored] = await (await Store.open(root)).objects(TAG);
    await flipByte(`${stored.dir}/share`, 2 * CHECKSUM_BLOCK + 1000);
    await waitUntil(
      () => Deno.stat(`${stored.dir}/damaged`).then(() => true, () => false),
      20_000,
      "the scrub marks the share damaged",
    );
    const log = await Deno.readTextFile(`${root}/secshrnetd.log`);
    assert(log.includes(`is damaged at byte ${2 * CHECKSUM_BLOCK}`), log);

    host = await Host.connect({
      redisUrl: network.redis.url,
      network: "secshrnet",
      role: "client",
    });
    const to = `server:${server.id}` as const;
    const head = await host.request(to, "head", { tag: TAG });
    const [entry] = head.objects as Record<string, unknown>[];
    assertEquals(entry.damaged, true);
    assertEquals(entry.access, object.keys.publicKey);
    const list = await host.request(to, "list", {});
    assertEquals((list.entries as Record<string, unknown>[]).map((e) => e.damaged), [true]);
    const info = await host.request(to, "info", {});
    assertEquals(info.damaged, 1);
    const scrub = info.scrub as Record<string, number>;
    assertEquals(scrub.rate, 256 * 2 ** 20);
    assert(scrub.passes >= 1 && scrub.bytesChecked >= shareBytes, JSON.stringify(scrub));
    assert(typeof scrub.lastPassEnded === "number", JSON.stringify(scrub));
  } finally {
    await host?.close();
    await network.stop();
  }
});
