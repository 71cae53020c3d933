/**
 * Crash consistency of the server store (threat model promise 5): a crash
 * after any one step that changes what is visible (a rename or a remove) of
 * a commit, a repair in place, a prune, an rm or a forget leaves the tag, once the store is opened again
 * as a restarted server opens it, as it was before or as it is after: the
 * same objects, each whole, and nothing staged. A crash is simulated by
 * letting the Nth rename or remove happen and failing it and every later one,
 * which a killed process would never do.
 */

import { seal } from "../mod.ts";
import { type AccessKeys, accessKeys, proveAccess } from "../core/access.ts";
import { toHex } from "../core/bytes.ts";
import { decodeDeletionRecord, type DeletionRecord, makeDeletionRecord } from "../core/deletion.ts";
import { type AccessProof, Store } from "../server/store.ts";
import { assert, assertEquals } from "./assert.ts";
import { entries } from "./harness/client.ts";

const TAG = "/crash/tag";

/** A sealed object kept in memory, to be stored again in every fresh root. */
interface Sealed {
  id: string;
  objectId: Uint8Array;
  keys: AccessKeys;
  share: Uint8Array;
  header: Uint8Array;
  manifest: Uint8Array;
}

async function sealObject(text: string, version: number): Promise<Sealed> {
  const sealed = await seal(ReadableStream.from([new TextEncoder().encode(text)]), {
    tag: TAG,
    version,
    password: "crash test",
    k: 1,
    n: 1,
    logN: 10,
    allowSingleShare: true,
  });
  const share = await new Response(sealed.shares[0]).bytes();
  const { headerBytes, manifest } = await sealed.done;
  return {
    id: toHex(sealed.objectId),
    objectId: sealed.objectId,
    keys: await accessKeys(sealed.retrievalToken),
    share,
    header: headerBytes,
    manifest,
  };
}

/** A proof of `op` on `object`, as a client would send it. */
async function proof(object: Sealed, op: "replace" | "prune" | "rm"): Promise<AccessProof> {
  const nonce = crypto.getRandomValues(new Uint8Array(32));
  return { nonce, proof: await proveAccess(object.keys, op, nonce, object.objectId, TAG) };
}

/** The deletion record of `object`, as a client makes it. */
async function record(object: Sealed): Promise<DeletionRecord> {
  return decodeDeletionRecord(await makeDeletionRecord(object.header, object.keys));
}

/** Commits `object` into `store`, replacing (with a proof) the newest one, `replacing`. */
async function commit(store: Store, object: Sealed, replacing?: Sealed): Promise<void> {
  const upload = await store.beginUpload({
    tag: TAG,
    objectId: object.objectId,
    index: 1,
    accessKey: object.keys.publicKey,
    replace: replacing === undefined ? undefined : await proof(replacing, "replace"),
  });
  await upload.write(object.share);
  await upload.commit(object.header, object.manifest);
}

class Crash extends Error {}

/**
 * Runs `task` with Deno.rename and Deno.remove counted: the `steps`-th call is
 * carried out and then fails, as does every later one. Returns how many calls
 * were made, and whether the crash point was reached.
 */
async function crashAfter(steps: number, task: () => Promise<unknown>) {
  const rename = Deno.rename;
  const remove = Deno.remove;
  let count = 0;
  const counted =
    <A extends unknown[]>(real: (...args: A) => Promise<void>) => async (...args: A) => {
      if (count >= steps) throw new Crash("already crashed");
      count++;
      await real(...args);
      if (count === steps) throw new Crash(`crash after step ${steps}`);
    };
  Deno.rename = counted(rename);
  Deno.remove = counted(remove);
  try {
    await task();
  } catch (error) {
    if (!(error instanceof Crash) && count < steps) throw error;
  } finally {
    Deno.rename = rename;
    Deno.remove = remove;
  }
  return { count, crashed: count >= steps };
}

/** The tag's objects (ids, newest first) as a restarted server sees them; checks each is whole. */
async function visible(root: string): Promise<string[]> {
  const store = await Store.open(root);
  assertEquals(await entries(`${root}/uploads`), [], "nothing staged survives a restart");
  const objects = await store.objects(TAG);
  for (const object of objects) {
    assertEquals(await entries(object.dir), [
      "access",
      "checksums",
      "header",
      "index",
      "manifest",
      "share",
    ]);
  }
  const tagDir = objects[0]?.dir.replace(/\/[^/]+$/, "");
  if (tagDir !== undefined) {
    const names = (await entries(tagDir)).filter((name) => /^\d{15}-/.test(name));
    assertEquals(names.length, objects.length, "no object directory that is not whole");
    const ids = objects.map((o) => toHex(o.info.objectId));
    assertEquals(new Set(ids).size, ids.length, "never two copies of one object");
  }
  return objects.map((o) => toHex(o.info.objectId));
}

interface Scenario {
  name: string;
  /** Builds the state before the operation. */
  setup: (store: Store) => Promise<void>;
  /** The operation. */
  run: (store: Store) => Promise<unknown>;
  /** The states (object ids, newest first) a crash may leave: before, after, and none else. */
  allowed: string[][];
}

Deno.test("store: a crash after any step of a commit, a repair, a prune, an rm or a forget leaves the tag as before or as after", async () => {
  const [v1, v2, v3] = await Promise.all(
    ["one", "two", "three"].map((text, i) => sealObject(text, i + 1)),
  );
  const scenarios: Scenario[] = [
    {
      name: "commit replacing one object",
      setup: (store) => commit(store, v1),
      run: (store) => commit(store, v2, v1),
      allowed: [[v1.id], [v2.id, v1.id]],
    },
    {
      name: "commit beyond the two kept",
      setup: async (store) => {
        await commit(store, v1);
        await commit(store, v2, v1);
      },
      run: (store) => commit(store, v3, v2),
      // With three visible the newest is the new one and the oldest is about to go.
      allowed: [[v2.id, v1.id], [v3.id, v2.id, v1.id], [v3.id, v2.id]],
    },
    {
      name: "prune",
      setup: async (store) => {
        await commit(store, v1);
        await commit(store, v2, v1);
      },
      run: async (store) => store.prune(TAG, v2.id, await proof(v2, "prune")),
      allowed: [[v2.id, v1.id], [v2.id]],
    },
    {
      name: "rm of a tag holding two objects",
      setup: async (store) => {
        await commit(store, v1);
        await commit(store, v2, v1);
      },
      run: async (store) => store.remove(TAG, await proof(v2, "rm"), await record(v2)),
      allowed: [[v2.id, v1.id], []],
    },
    {
      name: "forget of the older of two objects",
      setup: async (store) => {
        await commit(store, v1);
        await commit(store, v2, v1);
      },
      run: async (store) => store.forget(TAG, await record(v1)),
      allowed: [[v2.id, v1.id], [v2.id]],
    },
    {
      name: "forget of the newest of two objects",
      setup: async (store) => {
        await commit(store, v1);
        await commit(store, v2, v1);
      },
      run: async (store) => store.forget(TAG, await record(v2)),
      allowed: [[v2.id, v1.id], []],
    },
    {
      name: "repair in place of the newest of two objects",
      setup: async (store) => {
        await commit(store, v1);
        await commit(store, v2, v1);
      },
      run: (store) => commit(store, v2, v2),
      allowed: [[v2.id, v1.id]],
    },
  ];
  for (const scenario of scenarios) {
    let total = Infinity;
    for (let steps = 1; steps <= total + 1; steps++) {
      const root = await Deno.makeTempDir({ prefix: "secshrnet-crash-" });
      try {
        await scenario.setup(await Store.open(root));
        const before = await visible(root);
        assertEquals(before, scenario.allowed[0], `${scenario.name}: setup`);
        const { count, crashed } = await crashAfter(steps, async () => {
          await scenario.run(await Store.open(root));
        });
        if (!crashed) total = Math.min(total, count);
        const after = await visible(root);
        assert(
          scenario.allowed.some((state) => state.join() === after.join()),
          `${scenario.name}, crash after step ${steps}: left [${after}], allowed ${
            JSON.stringify(scenario.allowed)
          }`,
        );
        if (!crashed) {
          assertEquals(after, scenario.allowed.at(-1), `${scenario.name}: completed`);
        }
      } finally {
        await Deno.remove(root, { recursive: true });
      }
    }
    assert(total >= 1 && total < Infinity, `${scenario.name}: ${total} steps`);
  }
});
