/**
 * The server store (server/store.ts) with issue 10's additions, on real
 * files: per-block checksums written at commit, deletion records (`rm` needs
 * one and keeps it; `forget` applies one passed on; commits the record covers
 * conflict) and a repair in place (a commit of the newest object's own header
 * replaces its directory and touches nothing else).
 */

import { decodeHeader } from "../core/header.ts";
import { Store, StoreError } from "../server/store.ts";
import { tagHash } from "../server/paths.ts";
import { CHECKSUM_BLOCK } from "../server/checksums.ts";
import { assert, assertEquals, assertRejects } from "./assert.ts";
import { entries } from "./harness/client.ts";
import { commit, flipByte, proof, record, sealObject } from "./harness/stored.ts";
import { prng } from "./prng.ts";

const TAG = "/records/tag";

/** Runs `test` with a store in a fresh root, removed after. */
async function withStore(test: (store: Store, root: string) => Promise<void>): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "secshrnet-records-" });
  try {
    await test(await Store.open(root), root);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

/** The StoreError code `task` fails with. */
async function code(task: () => Promise<unknown>): Promise<string> {
  const error = await assertRejects(task, StoreError);
  return error.code;
}

/** Each file of `dir` with its bytes and modification time. */
async function snapshot(dir: string): Promise<Record<string, [string, number]>> {
  const files: Record<string, [string, number]> = {};
  for (const name of await entries(dir)) {
    const bytes = await Deno.readFile(`${dir}/${name}`);
    const sum = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
    files[name] = [sum.join(","), (await Deno.stat(`${dir}/${name}`)).mtime!.getTime()];
  }
  return files;
}

Deno.test("store: checksums are the SHA-256 of each 256 KiB block of the share, written at commit, however the upload was cut", async () => {
  const data = prng(1001).bytes(700_000);
  const object = await sealObject(TAG, data, 1);
  const share = object.shares[0];
  assert(share.length > 2 * CHECKSUM_BLOCK, `${share.length} bytes: three blocks or more`);
  const expected: number[] = [];
  for (let offset = 0; offset < share.length; offset += CHECKSUM_BLOCK) {
    const block = share.slice(offset, offset + CHECKSUM_BLOCK);
    expected.push(...new Uint8Array(await crypto.subtle.digest("SHA-256", block)));
  }
  for (const chunk of [1000, 100_000, CHECKSUM_BLOCK, 2 ** 20 + 64]) {
    await withStore(async (store) => {
      await commit(store, object, { chunk });
      const [stored] = await store.objects(TAG);
      const checksums = await Deno.readFile(`${stored.dir}/checksums`);
      assertEquals([...checksums], expected, `chunks of ${chunk} bytes`);
      assertEquals((await Deno.stat(`${stored.dir}/checksums`)).mode! & 0o777, 0o600);
      assertEquals(stored.access, object.keys.publicKey, "the access key is read with the object");
      assertEquals(stored.damaged, false);
    });
  }
});

Deno.test("store: rm needs the newest object's deletion record and keeps it; commits at or below its version conflict", async () => {
  const [v1, v2, v3] = await Promise.all(
    [1, 2, 3].map((version) => sealObject(TAG, new TextEncoder().encode(`v${version}`), version)),
  );
  const other = await sealObject("/records/other", new TextEncoder().encode("other"), 1);
  await withStore(async (store) => {
    await commit(store, v1);
    await commit(store, v2, { replacing: v1 });
    // A record of the older object, a record signed by another key, a wrong proof.
    assertEquals(
      await code(async () => store.remove(TAG, await proof(v2, "rm"), await record(v1))),
      "bad-request",
    );
    assertEquals(
      await code(async () =>
        store.remove(TAG, await proof(v2, "rm"), await record(v2, other.keys))
      ),
      "forbidden",
    );
    assertEquals(
      await code(async () => store.remove(TAG, await proof(v1, "rm"), await record(v2))),
      "forbidden",
    );
    assertEquals((await store.objects(TAG)).length, 2, "nothing deleted by a refused rm");

    const removal = await record(v2);
    assertEquals(await store.remove(TAG, await proof(v2, "rm"), removal), 2);
    const { objects, deleted } = await store.state(TAG);
    assertEquals(objects, []);
    assertEquals(deleted?.bytes, removal.bytes);
    const tagDir = store.paths.tagDir(await tagHash(TAG));
    assertEquals(await entries(tagDir), ["deleted"], "only the record stays");
    assertEquals(store.stats, { objects: 0, bytes: 0, damaged: 0 });
    const listed = [];
    for await (const entry of store.listing()) listed.push(entry);
    assertEquals(listed.map((e) => [e.objects.length, e.deleted?.bytes]), [[0, removal.bytes]]);

    // The removed object again, an older version, and a new object at the removed version.
    const again = await code(() => commit(store, v2));
    assertEquals(again, "conflict");
    assertEquals(await code(() => commit(store, v1)), "conflict");
    const sameVersion = await sealObject(TAG, new TextEncoder().encode("v2 again"), 2);
    const error = await assertRejects(() => commit(store, sameVersion), StoreError);
    assert(
      error.code === "conflict" && error.message.includes("removed at version 2"),
      error.message,
    );
    assertEquals(await entries(`${store.paths.root}/uploads`), [], "refused uploads leave nothing");
    // Above it, a new object is stored as any first object is.
    await commit(store, v3);
    const after = await store.state(TAG);
    assertEquals(after.objects.map((o) => o.info.version), [3]);
    assertEquals(after.deleted?.header.version, 2);
  });
});

Deno.test("store: forget deletes the object a record names and every older one, keeps newer ones, and checks the stored key", async () => {
  const [v1, v2] = await Promise.all(
    [1, 2].map((version) => sealObject(TAG, new TextEncoder().encode(`v${version}`), version)),
  );
  const stranger = await sealObject(TAG, new TextEncoder().encode("not here"), 7);
  const other = await sealObject("/records/other", new TextEncoder().encode("other"), 1);
  await withStore(async (store) => {
    await commit(store, v1);
    await commit(store, v2, { replacing: v1 });
    await commit(store, other);
    // v1's header signed by v2's key: valid under the key the record carries, not under v1's.
    assertEquals(await code(async () => store.forget(TAG, await record(v1, v2.keys))), "forbidden");
    assertEquals(await code(async () => store.forget(TAG, await record(stranger))), "not-found");
    assertEquals(await code(async () => store.forget(TAG, await record(other))), "bad-request");
    assertEquals((await store.objects(TAG)).length, 2, "nothing deleted by a refused forget");

    // The older object's record: it goes, the newer one stays.
    const newer = (await store.objects(TAG))[0];
    const before = await snapshot(newer.dir);
    assertEquals(await store.forget(TAG, await record(v1)), 1);
    assertEquals((await store.objects(TAG)).map((o) => o.info.version), [2]);
    assertEquals(await snapshot(newer.dir), before, "the newer object untouched");
    assertEquals((await store.deletion(TAG))?.header.version, 1);
    assertEquals(await code(async () => store.forget(TAG, await record(v1))), "not-found");
    assertEquals(await code(() => commit(store, v1, { replacing: v2 })), "conflict");

    // The newest object's record: the tag is gone, the higher record kept.
    assertEquals(await store.forget(TAG, await record(v2)), 1);
    assertEquals(await store.objects(TAG), []);
    assertEquals((await store.deletion(TAG))?.header.version, 2);
    assertEquals((await store.objects("/records/other")).length, 1, "another tag untouched");
  });

  // One record deletes every older object at once.
  await withStore(async (store) => {
    await commit(store, v1);
    await commit(store, v2, { replacing: v1 });
    assertEquals(await store.forget(TAG, await record(v2)), 2);
    assertEquals(await store.objects(TAG), []);
  });
});

Deno.test("store: a record is the deletion; object directories a crash left behind it are gone at the next start", async () => {
  const [v1, v2] = await Promise.all(
    [1, 2].map((version) => sealObject(TAG, new TextEncoder().encode(`v${version}`), version)),
  );
  await withStore(async (store, rootDir) => {
    await commit(store, v1);
    await commit(store, v2, { replacing: v1 });
    const [newest] = await store.objects(TAG);
    const tagDir = newest.dir.slice(0, newest.dir.lastIndexOf("/"));
    // As if a forget of v1 stopped right after storing the record.
    await Deno.writeFile(`${tagDir}/deleted`, (await record(v1)).bytes);
    assertEquals((await store.objects(TAG)).map((o) => o.info.version), [2], "v1 gone at once");
    assertEquals((await entries(tagDir)).length, 3, "its directory is still there");
    const reopened = await Store.open(rootDir);
    assertEquals((await entries(tagDir)).length, 2, "deleted at start");
    assertEquals(reopened.stats.objects, 1);
  });
});

Deno.test("store: a commit of the newest object's own header replaces its directory; the other object is untouched", async () => {
  const data = prng(1002).bytes(300_000);
  const v1 = await sealObject(TAG, new TextEncoder().encode("the older one"), 1);
  const v2 = await sealObject(TAG, data, 2, { k: 2, n: 3 });
  await withStore(async (store) => {
    await commit(store, v1);
    await commit(store, v2, { replacing: v1, index: 2 });
    const [damaged, older] = await store.objects(TAG);
    await flipByte(`${damaged.dir}/share`, 100_000);
    assert(await store.markDamaged(damaged, 0));
    assertEquals(store.stats.damaged, 1);
    assertEquals((await store.objects(TAG))[0].damaged, true);
    const untouched = await snapshot(older.dir);

    // Another object at the same version, or a lower one, is refused as ever.
    const rival = await sealObject(TAG, new TextEncoder().encode("rival"), 2);
    assertEquals(await code(() => commit(store, rival, { replacing: v2 })), "conflict");
    // The same object, index 2 again: it takes the damaged copy's place.
    await commit(store, v2, { replacing: v2, index: 2 });
    const objects = await store.objects(TAG);
    assertEquals(objects.map((o) => o.info.version), [2, 1]);
    const [repaired] = objects;
    assert(repaired.dir !== damaged.dir, "a new directory");
    assertEquals(await Deno.stat(damaged.dir).then(() => true, () => false), false, "old one gone");
    assertEquals(await Deno.readFile(`${repaired.dir}/share`), v2.shares[1]);
    assertEquals([repaired.damaged, repaired.index], [false, 2]);
    assertEquals(decodeHeader(repaired.header).objectId, v2.objectId);
    assertEquals(objects[1].dir, older.dir);
    assertEquals(await snapshot(older.dir), untouched, "the older object's files untouched");
    assertEquals(store.stats.objects, 2);
    assertEquals(store.stats.damaged, 0);
  });
});
