/**
 * Without a network: the trust file (cli/trust.ts), which headers a client
 * acts on and the version a new object takes (core/client/vetting.ts), and
 * when the open-Redis warning is due (core/net/url.ts).
 */

import { assert, assertEquals, assertRejects } from "./assert.ts";
import { prng } from "./prng.ts";
import { readTrust, trustFilePath, writeTrust } from "../cli/trust.ts";
import { ConfigError } from "../core/config.ts";
import { encodeHeader, MAX_TAG_VERSION, type ObjectHeader } from "../core/header.ts";
import type { ObjectView, TagView } from "../core/client/heads.ts";
import { newestFirst } from "../core/client/heads.ts";
import { nextVersion, noVouchedObject, vet } from "../core/client/vetting.ts";
import { KdfLimitError, NotEnoughSharesError, UsageError } from "../core/errors.ts";
import type { Address } from "../core/net/envelope.ts";
import { isLoopbackHost, openRedisWarning } from "../core/net/url.ts";

Deno.test("trust file: beside the config, its extension replaced by .trusted", () => {
  assertEquals(trustFilePath("/h/.secshrnet/secshrnet.conf"), "/h/.secshrnet/secshrnet.trusted");
  assertEquals(trustFilePath("/etc/secshrnet/prod.toml"), "/etc/secshrnet/prod.trusted");
  assertEquals(trustFilePath("/etc/secshrnet"), "/etc/secshrnet.trusted");
  assertEquals(trustFilePath("a.b/conf"), "a.b/conf.trusted");
  assertEquals(trustFilePath("/x/.hidden"), "/x/.hidden.trusted");
  assertEquals(trustFilePath("relative.conf"), "relative.trusted");
});

Deno.test("trust file: written 0600 and atomically, read back; comments, blanks and repeats ignored", async () => {
  const dir = await Deno.makeTempDir({ prefix: "secshrnet-trust-" });
  try {
    const path = `${dir}/new/secshrnet.trusted`;
    assertEquals(await readTrust(path), [], "a missing file is an empty list");
    const [a, b] = ["a", "b"].map((c) => c.repeat(64));
    await writeTrust(path, [{ id: a, note: "vm 2026-11-30" }, { id: b, note: "" }]);
    assertEquals((await Deno.stat(path)).mode! & 0o777, 0o600);
    assertEquals((await Deno.stat(`${dir}/new`)).mode! & 0o777, 0o700);
    assertEquals(await readTrust(path), [{ id: a, note: "vm 2026-11-30" }, { id: b, note: "" }]);
    const text = await Deno.readTextFile(path);
    assert(text.startsWith("# secshrnet trusted servers"), text);
    await Deno.writeTextFile(path, `${text}\n   \n# a comment\n${a} again\n`);
    assertEquals((await readTrust(path)).map((e) => e.id), [a, b]);
    assertEquals((await Array.fromAsync(Deno.readDir(`${dir}/new`))).length, 1, "no temp file");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("trust file: a line that is not an id is one error naming the file and line", async () => {
  const dir = await Deno.makeTempDir({ prefix: "secshrnet-trust-" });
  try {
    const path = `${dir}/x.trusted`;
    for (const bad of ["A".repeat(64), "a".repeat(63), "server:" + "a".repeat(64), "zz"]) {
      await Deno.writeTextFile(path, `# ok\n${"c".repeat(64)}\n${bad} note\n`);
      const error = await assertRejects(() => readTrust(path), ConfigError);
      assert(error.message.startsWith(`${path}:3: not a server id`), error.message);
      assert(!error.message.includes("\n"), error.message);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

const random = prng(9901);
const server = (i: number) => `server:${String(i).repeat(64).slice(0, 64)}` as Address;

/** An object as `head` answers would show it, held by `holders` servers. */
function object(over: Partial<ObjectHeader>, holders: number): ObjectView {
  const header: ObjectHeader = {
    kdf: { logN: 16, r: 8, p: 1, salt: random.bytes(32) },
    objectId: random.bytes(16),
    k: 2,
    n: 3,
    segmentSize: 2 ** 16,
    created: 1_800_000_000_000,
    size: 10,
    tag: "/t",
    version: 1,
    ...over,
  };
  const all = Array.from({ length: holders }, (_, i) => ({ server: server(i + 1), index: i + 1 }));
  return {
    headerBytes: encodeHeader(header),
    header,
    holders: all,
    newestOn: all.map((h) => h.server),
  };
}

function view(...objects: ObjectView[]): TagView {
  return { objects: objects.sort(newestFirst), answered: [], failed: [], invalid: [] };
}

Deno.test("vetting: only headers k trusted servers return, with k ≥ 2 and the work factor in bounds", () => {
  const genuine = object({ version: 3 }, 3);
  const lonely = object({ version: 9 }, 1); // fewer holders than its k
  const single = object({ version: 8, k: 1, n: 1 }, 1); // k = 1, never asked for
  const cheap = object({ version: 7, kdf: { logN: 10, r: 8, p: 1, salt: random.bytes(32) } }, 2);
  const costly = object({ version: 6, kdf: { logN: 23, r: 8, p: 1, salt: random.bytes(32) } }, 2);
  const vetted = vet(view(genuine, lonely, single, cheap, costly), { minLogN: 16, maxLogN: 22 });
  assertEquals(vetted.vouched, [genuine]);
  assertEquals(
    vetted.doubted.map((d) => [d.object.header.version, d.error.constructor.name]),
    [
      [9, "NotEnoughSharesError"],
      [8, "UsageError"],
      [7, "KdfLimitError"],
      [6, "KdfLimitError"],
    ],
  );
  // -k 1 accepts a k = 1 object one server holds when it is the tag's only object; a lower
  // floor accepts the cheap one.
  const lenient = { minLogN: 10, allowSingleShare: true };
  assertEquals(vet(view(single), lenient).vouched, [single]);
  assertEquals(vet(view(cheap), lenient).vouched, [cheap]);
  // Beside other objects, one server's k = 1 claim is not enough (anyone could make one)...
  const beside = vet(view(single, cheap), lenient);
  assertEquals(beside.vouched, [cheap]);
  assert(beside.doubted[0].reason.includes("single server"), beside.doubted[0].reason);
  // ...two servers' is.
  const pair = object({ version: 10, k: 1, n: 2 }, 2);
  assertEquals(vet(view(pair, cheap), lenient).vouched, [pair, cheap]);
  // With nothing vouched for, the error says why: held by k but out of bounds first.
  assert(noVouchedObject(vet(view(lonely, cheap))) instanceof KdfLimitError);
  assert(noVouchedObject(vet(view(lonely, single))) instanceof UsageError);
  const short = noVouchedObject(vet(view(lonely)));
  assert(short instanceof NotEnoughSharesError, short.message);
  assert(short.message.startsWith("found 1 of 2 needed shares"), short.message);
});

Deno.test("vetting: objects are ordered by tag version, never by the clock", () => {
  const older = object({ version: 4, created: 2_000_000_000_000 }, 2); // a clock far ahead
  const newer = object({ version: 5, created: 1_000_000_000_000 }, 2); // a clock far behind
  // Equal versions (as every format-1 object has: 0) fall back to the creation time.
  const v1a = object({ version: 1, created: 10 }, 2);
  const v1b = object({ version: 1, created: 20 }, 2);
  assertEquals(vet(view(older, newer, v1a, v1b)).vouched, [newer, older, v1b, v1a]);
});

Deno.test("vetting: a new object's version is one more than any reported, even unvouched", () => {
  assertEquals(nextVersion(view(), vet(view())), 1);
  const held = object({ version: 3 }, 3);
  const away = object({ version: 6 }, 1); // its other holders are away: still counts
  assertEquals(nextVersion(view(held, away), vet(view(held, away))), 7);
  // A liar claiming the top of the range cannot exhaust it: then only vouched versions count.
  const top = object({ version: MAX_TAG_VERSION }, 1);
  assertEquals(nextVersion(view(held, top), vet(view(held, top))), 4);
});

Deno.test("open Redis: warned about when no password is given and the host is not loopback", () => {
  for (const host of ["localhost", "127.0.0.1", "127.8.9.10", "[::1]", "db.localhost"]) {
    assert(isLoopbackHost(new URL(`redis://${host}:6379`).hostname), host);
    assertEquals(openRedisWarning(`redis://${host}:6379`), undefined, host);
  }
  for (const url of ["redis://10.0.0.1:6379", "redis://0.0.0.0:1", "rediss://redis.example.net"]) {
    const warning = openRedisWarning(url) ?? "";
    assert(warning.includes("needs no password"), `${url}: ${warning}`);
    assert(warning.includes("docs/REDIS.md"), warning);
  }
  assertEquals(openRedisWarning("redis://:secret@10.0.0.1:6379"), undefined);
  assertEquals(openRedisWarning("redis://user:secret@10.0.0.1:6379"), undefined);
  assert(openRedisWarning("redis://user@10.0.0.1:6379") !== undefined, "a user without password");
});
