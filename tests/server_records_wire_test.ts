/**
 * Protocol 4's server side over Redis, against a real `secshrnet serve`: the
 * fields of `head` and `list` (access keys, deletion records, entries that
 * hold only a record), `rm` that needs a record (once the tag is found), and
 * `forget`.
 */

import { proveAccess } from "../core/access.ts";
import { Host, RemoteError } from "../core/net/host.ts";
import type { Address } from "../core/net/envelope.ts";
import { decodeHeader } from "../core/header.ts";
import { decodeDeletionRecord } from "../core/deletion.ts";
import { Store } from "../server/store.ts";
import { assert, assertEquals, assertRejects } from "./assert.ts";
import { startNetwork } from "./harness/network.ts";
import { commit, proof, record, type Sealed, sealObject } from "./harness/stored.ts";

const text = (s: string) => new TextEncoder().encode(s);

Deno.test("serve: head and list carry access keys and deletion records; rm needs a record; forget applies one", async () => {
  const [a1, a2] = await Promise.all([1, 2].map((v) => sealObject("/wire/a", text(`a${v}`), v)));
  const b1 = await sealObject("/wire/b", text("b1"), 1);
  const c1 = await sealObject("/wire/c", text("c1"), 1);
  const none = await sealObject("/wire/none", text("none"), 1);
  const network = await startNetwork(0);
  let host: Host | undefined;
  try {
    const root = `${network.dir}/server-1`;
    const store = await Store.open(root);
    await commit(store, a1);
    await commit(store, a2, { replacing: a1 });
    await commit(store, b1);
    await commit(store, c1);
    await store.remove(c1.tag, await proof(c1, "rm"), await record(c1));
    const server = await network.addServer();
    await network.waitForServers(1);
    host = await Host.connect({
      redisUrl: network.redis.url,
      network: "secshrnet",
      role: "client",
    });
    const client = host;
    const to = `server:${server.id}` as Address;
    const request = (type: string, body: Record<string, unknown>) => client.request(to, type, body);
    const refusal = async (type: string, body: Record<string, unknown>) =>
      (await assertRejects(() => request(type, body), RemoteError)).code;
    const rmBody = async (object: Sealed, extra: Record<string, unknown>) => {
      const { nonce } = await request("challenge", {}) as { nonce: Uint8Array };
      const proved = await proveAccess(object.keys, "rm", nonce, object.objectId, object.tag);
      return { tag: object.tag, nonce, proof: proved, ...extra };
    };

    // head: every object with its access key, newest first; a removed tag: its record only.
    const headA = await request("head", { tag: "/wire/a" });
    assertEquals(headA.objects, [
      { header: a2.header, index: 1, access: a2.keys.publicKey },
      { header: a1.header, index: 1, access: a1.keys.publicKey },
    ]);
    assertEquals(headA.deleted, undefined);
    const recordC = (await record(c1)).bytes;
    const headC = await request("head", { tag: "/wire/c" });
    assertEquals([headC.objects, headC.deleted], [[], recordC]);

    // list: the newest object of each tag; a removed tag as an entry with only its record.
    const listed = async () => {
      const list = await request("list", {});
      assertEquals(list.next, undefined);
      return byTag(list.entries as Record<string, unknown>[]);
    };
    assertEquals(await listed(), {
      "/wire/a": { header: a2.header, index: 1, access: a2.keys.publicKey },
      "/wire/b": { header: b1.header, index: 1, access: b1.keys.publicKey },
      "/wire/c": { deleted: recordC },
    });

    // rm of a tag not stored here: not-found, record or none.
    assertEquals(await refusal("rm", await rmBody(none, {})), "not-found");
    // rm: without a record, with a malformed one, with the older object's: bad-request.
    assertEquals(await refusal("rm", await rmBody(a2, {})), "bad-request");
    assertEquals(
      await refusal("rm", await rmBody(a2, { record: text("SSND junk") })),
      "bad-request",
    );
    const recordA1 = (await record(a1)).bytes;
    assertEquals(await refusal("rm", await rmBody(a2, { record: recordA1 })), "bad-request");
    const forgedA2 = (await record(a2, b1.keys)).bytes;
    assertEquals(await refusal("rm", await rmBody(a2, { record: forgedA2 })), "forbidden");
    assertEquals(((await request("head", { tag: "/wire/a" })).objects as unknown[]).length, 2);
    const recordA2 = (await record(a2)).bytes;
    assertEquals(await request("rm", await rmBody(a2, { record: recordA2 })), { removed: 2 });
    const removedA = await request("head", { tag: "/wire/a" });
    assertEquals([removedA.objects, removedA.deleted], [[], recordA2]);

    // forget: needs no proof; checked under the stored key; the object must be here.
    const forgedB1 = (await record(b1, a2.keys)).bytes;
    assertEquals(await refusal("forget", { tag: "/wire/b", record: forgedB1 }), "forbidden");
    assertEquals(await refusal("forget", { tag: "/wire/a", record: recordA2 }), "not-found");
    assertEquals(await refusal("forget", { tag: "/wire/b", record: recordA2 }), "bad-request");
    assertEquals(await refusal("forget", { tag: "/wire/b" }), "bad-request");
    const recordB1 = (await record(b1)).bytes;
    assertEquals(await request("forget", { tag: "/wire/b", record: recordB1 }), { removed: 1 });
    assertEquals(await listed(), {
      "/wire/a": { deleted: recordA2 },
      "/wire/b": { deleted: recordB1 },
      "/wire/c": { deleted: recordC },
    });

    const info = await request("info", {});
    assertEquals([info.objects, info.bytes, info.damaged], [0, 0, 0]);
    assert(typeof (info.scrub as Record<string, unknown>).bytesChecked === "number");
  } finally {
    await host?.close();
    await network.stop();
  }
});

/** `list` entries by the tag of their header, or of their record when they have only that. */
function byTag(entries: Record<string, unknown>[]): Record<string, Record<string, unknown>> {
  const tags: Record<string, Record<string, unknown>> = {};
  for (const entry of entries) {
    const tag = entry.header instanceof Uint8Array
      ? decodeHeader(entry.header).tag
      : decodeDeletionRecord(entry.deleted as Uint8Array).header.tag;
    tags[tag] = entry;
  }
  return tags;
}
