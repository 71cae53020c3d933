/**
 * Tag hostility from the wire: `head`, `put-begin`, `get-begin` and `rm`
 * sent by hand (msgpack bytes as a hostile client would make them, MAC'd by
 * a real identity) with tags that hold path separators, `..`, NUL, control
 * characters, more than 4096 bytes, invalid UTF-8 or no string at all. Each
 * is refused with `bad-request` or treated as a tag like any other, whose
 * objects live under ROOT/tags/<2 hex>/<sha-256 hex>/; nothing appears
 * anywhere else. And the modes of everything a live server keeps: 0700
 * directories, 0600 files.
 */

import { assert, assertEquals } from "./assert.ts";
import { sameBytes } from "./objects.ts";
import { prng } from "./prng.ts";
import { entries, getBytes, putBytes, PW } from "./harness/client.ts";
import type { Address, Envelope } from "../core/net/envelope.ts";
import { toHex, utf8 } from "../core/bytes.ts";
import { FuzzDriver, type FuzzSender } from "./fuzz/driver.ts";
import { INVALID_UTF8, packed, rawStr } from "./fuzz/msgpack_raw.ts";
import { isolatedNetwork } from "./fuzz/isolated.ts";
import { markedEntries, strangePaths, wrongModes } from "./fuzz/root.ts";
import { CANARY } from "./fuzz/values.ts";

/** Tags the server must refuse with `bad-request` (encoded; a missing tag is `undefined`). */
const REFUSED: [string, Uint8Array | undefined][] = [
  ...[
    "",
    "\0",
    `${CANARY}\0/../../x`,
    "a/\0/b",
    "a\nb",
    "\r",
    "\t",
    "\x1b[2J",
    "\x7f",
    "\u0085",
    // (A lone surrogate is not UTF-8: see NOT_UTF8.)
    "x".repeat(4097),
    "é".repeat(2049),
    "😀".repeat(1025),
    "/".repeat(4097),
    "x".repeat(8193),
    "x".repeat(65536),
  ].map((tag): [string, Uint8Array] => [JSON.stringify(tag).slice(0, 30), packed(tag)]),
  ["bytes", packed(utf8("../../etc"))],
  ["number", packed(42)],
  ["list", packed([".."])],
  ["map", packed({ tag: ".." })],
  ["nil", packed(null)],
  ["missing", undefined],
];

/** Tags that are names like any other: looked up, stored and listed under their hash. */
const NAMES = [
  "/",
  "..",
  ".",
  "./",
  "../../etc/passwd",
  `../../${CANARY}`,
  `../../../../../../../../tmp/${CANARY}`,
  `/tmp/${CANARY}`,
  `a/../../${CANARY}`,
  `..\\..\\${CANARY}`,
  "tags/../uploads",
  "server-key",
  "/".repeat(4096),
  "x".repeat(4096),
];

/** Strings that are not UTF-8: the message carrying one is dropped before it is decoded. */
const NOT_UTF8: Uint8Array[] = [
  ...INVALID_UTF8,
  Uint8Array.of(0xed, 0xa0, 0x80), // "\ud800" as an encoder that does not check writes it
  Uint8Array.of(...utf8("../../"), 0xc0, 0xaf, ...utf8(CANARY)),
  Uint8Array.of(...utf8("../"), 0xff, ...utf8("/../" + CANARY)),
];

/** The code of an error answer, or `reply`. */
function outcome(answer: Envelope): string {
  return answer.type === "error" ? String(answer.body.code) : answer.type;
}

/** Sends each of head, put-begin, get-begin and rm with `tag`; returns the four outcomes. */
async function tryTag(
  driver: FuzzDriver,
  sender: FuzzSender,
  tag: Uint8Array | undefined,
): Promise<{ head: Envelope; putBegin: Envelope; getBegin: Envelope; rm: Envelope }> {
  const withTag = (rest: [string, Uint8Array][]): [string, Uint8Array][] =>
    tag === undefined ? rest : [["tag", tag], ...rest];
  const nonce = async () => {
    const answer = await driver.request(sender, "challenge", {});
    return packed(answer.body.nonce);
  };
  const objectId = packed(new Uint8Array(16).fill(1));
  const proof = packed(new Uint8Array(64));
  const head = await driver.requestRaw(sender, "head", withTag([]));
  const putBegin = await driver.requestRaw(
    sender,
    "put-begin",
    withTag([
      ["objectId", objectId],
      ["index", packed(1)],
      ["accessKey", packed(new Uint8Array(32).fill(2))],
    ]),
  );
  if (typeof putBegin.body.upload === "string") {
    const abort = await driver.request(sender, "put-abort", { upload: putBegin.body.upload });
    assertEquals(abort.type, "reply");
  }
  const getBegin = await driver.requestRaw(
    sender,
    "get-begin",
    withTag([
      ["objectId", objectId],
      ["download", packed("0123456789abcdef")],
      ["nonce", await nonce()],
      ["proof", proof],
    ]),
  );
  const rm = await driver.requestRaw(
    sender,
    "rm",
    withTag([["nonce", await nonce()], [
      "proof",
      proof,
    ]]),
  );
  return { head, putBegin, getBegin, rm };
}

Deno.test("wire tags: hostile tags are refused or hashed, and nothing lands outside ROOT/tags/<2>/<64>/", async () => {
  const { network, outer } = await isolatedNetwork(1);
  const [server] = network.servers;
  const address: Address = `server:${server.id}`;
  let driver: FuzzDriver | undefined;
  try {
    driver = await FuzzDriver.start(network.redis.url, address, 1);
    const [sender] = driver.senders;
    const problems: string[] = [];
    const expect = (label: string, what: string, got: string, want: string) => {
      if (got !== want) problems.push(`${what} ${label}: ${got}, expected ${want}`);
    };

    for (const [label, tag] of REFUSED) {
      const answers = await tryTag(driver, sender, tag);
      for (const [what, answer] of Object.entries(answers)) {
        expect(label, what, outcome(answer), "bad-request");
      }
    }
    const asName = (label: string, answers: Awaited<ReturnType<typeof tryTag>>) => {
      expect(label, "head", outcome(answers.head), "reply");
      if (answers.head.type === "reply") {
        expect(label, "head objects", String((answers.head.body.objects as []).length), "0");
      }
      expect(label, "put-begin", outcome(answers.putBegin), "reply");
      expect(label, "get-begin", outcome(answers.getBegin), "not-found");
      expect(label, "rm", outcome(answers.rm), "not-found");
    };
    for (const tag of NAMES) {
      asName(JSON.stringify(tag).slice(0, 30), await tryTag(driver, sender, packed(tag)));
    }
    // A string that is not UTF-8 fails the shape check before decoding: the whole message
    // is dropped unanswered (its sender cannot be trusted before decoding). All at once,
    // so the silence costs one wait.
    const objectId = packed(new Uint8Array(16).fill(1));
    const unanswered = await Promise.all(NOT_UTF8.flatMap((bytes) => {
      const tag: [string, Uint8Array] = ["tag", rawStr(bytes)];
      const begin: [string, Uint8Array][] = [
        tag,
        ["objectId", objectId],
        ["index", packed(1)],
        ["accessKey", packed(new Uint8Array(32).fill(2))],
      ];
      return [
        driver!.requestRaw(sender, "head", [tag], 3000).then(outcome, () => "dropped"),
        driver!.requestRaw(sender, "put-begin", begin, 3000).then(outcome, () => "dropped"),
      ];
    }));
    assertEquals(unanswered, Array(2 * NOT_UTF8.length).fill("dropped"));
    const alive = await driver.request(sender, "head", { tag: "/still/there" });
    assertEquals(outcome(alive), "reply", "the server still answers");
    assertEquals(problems, [], "every answer as expected");

    // Real objects under path-like names, over the wire by the real client.
    const random = prng(7401);
    const stored = new Map<string, Uint8Array>();
    for (const tag of [`../../${CANARY}`, `/tmp/${CANARY}`, "..", "/"]) {
      const data = random.bytes(random.int(1, 4000));
      const put = await putBytes(network, tag, data, ["-k", "1"]);
      assertEquals(put.code, 0, put.stderr);
      stored.set(tag, data);
    }
    for (const [tag, data] of stored) {
      const hash = toHex(new Uint8Array(await crypto.subtle.digest("SHA-256", utf8(tag))));
      const objects = await entries(`${server.root}/tags/${hash.slice(0, 2)}/${hash}`);
      assertEquals(objects.length, 1, `${JSON.stringify(tag)} is stored under its hash`);
      const get = await getBytes(network, tag, PW, ["-k", "1"]);
      assertEquals(get.code, 0, get.stderr);
      assert(sameBytes(get.stdoutBytes, data), `${JSON.stringify(tag)} reads back`);
    }

    assertEquals(await entries(`${server.root}/uploads`), [], "every refused upload is gone");
    assertEquals(await strangePaths(server.root), [], "only ROOT/tags/<2 hex>/<64 hex>/<object>/");
    assertEquals(await entries(outer), [network.dir.slice(outer.length + 1)]);
    for (const name of await entries(network.dir)) {
      assert(
        ["server-1", "work", ".cache", ".secshrnet"].includes(name),
        `unexpected ${name} in ${network.dir}`,
      );
    }
    const dirs = [outer, network.dir, server.root, Deno.cwd(), "/tmp", "/", "/etc"];
    assertEquals(await markedEntries(dirs, CANARY), [], "no file named after a hostile tag");
  } finally {
    await driver?.close();
    await network.stop();
    await Deno.remove(outer, { recursive: true });
  }
});

Deno.test("modes: a live server's root and every directory under it are 0700, every file 0600", async () => {
  const { network, outer } = await isolatedNetwork(1);
  const [server] = network.servers;
  let driver: FuzzDriver | undefined;
  try {
    const random = prng(7402);
    for (const tag of ["/modes/a", "/modes/b"]) {
      assertEquals((await putBytes(network, tag, random.bytes(3000), ["-k", "1"])).code, 0);
    }
    // Overwrite one (old object kept until pruned, then gone) and leave an upload in progress.
    assertEquals(
      (await putBytes(network, "/modes/a", random.bytes(2000), ["-k", "1", "--force"])).code,
      0,
    );
    driver = await FuzzDriver.start(network.redis.url, `server:${server.id}`, 1);
    const begin = await driver.request(driver.senders[0], "put-begin", {
      tag: "/modes/in-progress",
      objectId: new Uint8Array(16),
      index: 1,
      accessKey: new Uint8Array(32),
    });
    assertEquals(begin.type, "reply");
    const paths = new Set(await Array.fromAsync(Deno.readDir(server.root), (e) => e.name));
    for (const name of ["server-key", "server-id", "secshrnetd.log", "tags", "uploads"]) {
      assert(paths.has(name), `${name} exists`);
    }
    assertEquals(await entries(`${server.root}/uploads/${begin.body.upload}`), ["share"]);
    assertEquals(await wrongModes(server.root), [], "0700 directories and 0600 files only");
  } finally {
    await driver?.close();
    await network.stop();
    await Deno.remove(outer, { recursive: true });
  }
});
