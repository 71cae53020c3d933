/**
 * The server store on its own: commits become visible atomically, listing
 * pages by tag hash without reading what it skips, and files are private.
 */

import { seal } from "../mod.ts";
import { accessKeys } from "../core/access.ts";
import { Store } from "../server/store.ts";
import { assert, assertEquals } from "./assert.ts";

async function storeObject(store: Store, tag: string): Promise<void> {
  const sealed = await seal(ReadableStream.from([new TextEncoder().encode(tag)]), {
    tag,
    password: "store test",
    k: 1,
    n: 1,
    logN: 10,
    allowSingleShare: true,
  });
  const keys = await accessKeys(sealed.retrievalToken);
  const upload = await store.beginUpload({
    tag,
    objectId: sealed.objectId,
    index: 1,
    accessKey: keys.publicKey,
  });
  await upload.write(await new Response(sealed.shares[0]).bytes());
  const { headerBytes, manifest } = await sealed.done;
  await upload.commit(headerBytes, manifest);
}

Deno.test("store: listing pages by tag hash; names never hold the tag; files are private", async () => {
  const root = await Deno.makeTempDir();
  try {
    const store = await Store.open(root);
    const tags = Array.from({ length: 30 }, (_, i) => `/page/${i}/../секрет`);
    for (const tag of tags) await storeObject(store, tag);
    assertEquals(store.stats.objects, 30);

    const all = [];
    for await (const entry of store.tags()) all.push(entry);
    assertEquals(all.map((e) => e.tag).sort(), [...tags].sort());
    const hashes = all.map((e) => e.hash);
    assertEquals(hashes, [...hashes].sort());

    const rest = [];
    for await (const entry of store.tags(hashes[11])) rest.push(entry.hash);
    assertEquals(rest, hashes.slice(12));

    for await (const entry of Deno.readDir(`${root}/tags`)) {
      assert(/^[0-9a-f]{2}$/.test(entry.name), entry.name);
    }
    assertEquals((await Deno.stat(root)).mode! & 0o777, 0o700);
    const object = all[0].objects[0].dir;
    for (const file of ["header", "manifest", "share", "access", "index"]) {
      assertEquals((await Deno.stat(`${object}/${file}`)).mode! & 0o777, 0o600, file);
    }
    assertEquals([...Deno.readDirSync(`${root}/uploads`)], []);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
