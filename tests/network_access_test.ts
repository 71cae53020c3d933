/**
 * Who may read, replace and delete a tag: the password holder only. Through
 * the CLI (wrong password, unknown tag, overwrite, rm) and through the
 * protocol itself, as a client on the Redis network that lacks the password.
 */

import { assert, assertEquals, assertRejects } from "./assert.ts";
import { sameBytes } from "./objects.ts";
import { prng } from "./prng.ts";
import type { TestNetwork } from "./harness/network.ts";
import {
  closeSettled,
  entries,
  getBytes,
  lsJson,
  objectDirs,
  putBytes,
  PW,
  serversJson,
  withNetwork,
  WRONG_PW,
} from "./harness/client.ts";
import { Host, RemoteError } from "../core/net/host.ts";
import {
  type Address,
  decodeEnvelope,
  encodeEnvelope,
  type Envelope,
  MAC_LENGTH,
  macOf,
} from "../core/net/envelope.ts";
import { Buffer } from "node:buffer";
import { Redis } from "ioredis";
import { decodeHeader } from "../core/header.ts";
import { randomBytes, toHex } from "../core/bytes.ts";
import { accessKeys, type AccessOp, proveAccess } from "../core/access.ts";

async function assertRetrievable(network: TestNetwork, tag: string, data: Uint8Array) {
  const get = await getBytes(network, tag);
  assertEquals(get.code, 0, get.stderr);
  assert(sameBytes(get.stdoutBytes, data), `${tag} holds its data`);
}

Deno.test("get: wrong password → exit 5 'wrong password'; unknown tag → exit 4 'not found'", async () => {
  await withNetwork(5, async (network) => {
    const data = prng(7201).bytes(5000);
    const put = await putBytes(network, "/access/get", data, ["-k", "3"]);
    assertEquals(put.code, 0, put.stderr);

    const wrong = await getBytes(network, "/access/get", WRONG_PW);
    assertEquals(wrong.code, 5, wrong.stderr);
    assert(wrong.stderr.includes("wrong password"), wrong.stderr);
    assertEquals(wrong.stdoutBytes.length, 0);
    assert(!wrong.stderr.includes(WRONG_PW.SECSHRNET_PASSWORD), "the password is never printed");

    const unknown = await getBytes(network, "/access/unknown");
    assertEquals(unknown.code, 4, unknown.stderr);
    assert(unknown.stderr.includes("not found"), unknown.stderr);
    assertEquals(unknown.stdoutBytes.length, 0);

    const rmUnknown = await network.run(["rm", "/access/unknown"], { env: WRONG_PW });
    assertEquals(rmUnknown.code, 4, rmUnknown.stderr);
    assert(rmUnknown.stderr.includes("not found"), rmUnknown.stderr);

    await assertRetrievable(network, "/access/get", data);
  });
});

Deno.test("overwrite: refused without --force, refused with a wrong password, done with the right one", async () => {
  await withNetwork(5, async (network) => {
    const random = prng(7202);
    const first = random.bytes(20_000);
    const second = random.bytes(30_000);
    const tag = "/access/overwrite";
    const put = await putBytes(network, tag, first, ["-k", "3"]);
    assertEquals(put.code, 0, put.stderr);

    const again = await putBytes(network, tag, second, ["-k", "3"]);
    assertEquals(again.code, 6, again.stderr);
    assert(again.stderr.includes("--force"), again.stderr);
    await assertRetrievable(network, tag, first);

    const wrong = await putBytes(network, tag, second, ["-k", "3", "--force"], WRONG_PW);
    assertEquals(wrong.code, 5, wrong.stderr);
    assert(wrong.stderr.includes("wrong password"), wrong.stderr);
    await assertRetrievable(network, tag, first);
    // Nothing of the refused uploads is left behind on any server.
    for (const server of network.servers) {
      assertEquals(await entries(`${server.root}/uploads`), [], server.root);
      assertEquals((await objectDirs(server.root)).length, 1, server.root);
    }

    const forced = await putBytes(network, tag, second, ["-k", "3", "--force"]);
    assertEquals(forced.code, 0, forced.stderr);
    await assertRetrievable(network, tag, second);

    const listing = await lsJson(network);
    assertEquals(listing.map((e) => e.tag), [tag], "one entry for the tag");
    assertEquals(listing[0].size, second.length);
    // The old object was pruned once the new one committed everywhere.
    const servers = await serversJson(network);
    assertEquals(servers.map((s) => s.objects), [1, 1, 1, 1, 1]);
    for (const server of network.servers) {
      assertEquals((await objectDirs(server.root)).length, 1, server.root);
    }
  });
});

Deno.test("rm: refused with a wrong password; with the right one the tag is gone everywhere", async () => {
  await withNetwork(5, async (network) => {
    const data = prng(7203).bytes(10_000);
    const tag = "/access/rm";
    const keep = "/access/keep";
    assertEquals((await putBytes(network, tag, data, ["-k", "3"])).code, 0);
    assertEquals((await putBytes(network, keep, data, ["-k", "3"])).code, 0);

    const wrong = await network.run(["rm", tag], { env: WRONG_PW });
    assertEquals(wrong.code, 5, wrong.stderr);
    assert(wrong.stderr.includes("wrong password"), wrong.stderr);
    await assertRetrievable(network, tag, data);

    const rm = await network.run(["rm", tag], { env: PW });
    assertEquals(rm.code, 0, rm.stderr);
    assert(rm.stdout.includes("from 5 servers"), rm.stdout);
    assertEquals((await lsJson(network)).map((e) => e.tag), [keep]);
    const get = await getBytes(network, tag);
    assertEquals(get.code, 4, get.stderr);
    assert(get.stderr.includes("not found"), get.stderr);
    const again = await network.run(["rm", tag], { env: PW });
    assertEquals(again.code, 4, again.stderr);
    await assertRetrievable(network, keep, data);
    assertEquals((await serversJson(network)).map((s) => s.objects), [1, 1, 1, 1, 1]);
  });
});

/** Every byte field in a decoded msgpack value, flattened. */
function byteFields(value: unknown, out: Uint8Array[] = []): Uint8Array[] {
  if (value instanceof Uint8Array) out.push(value);
  else if (Array.isArray(value)) value.forEach((v) => byteFields(v, out));
  else if (typeof value === "object" && value !== null) {
    Object.values(value).forEach((v) => byteFields(v, out));
  }
  return out;
}

/** Whether `needle` occurs in `haystack`. */
function contains(haystack: Uint8Array, needle: Uint8Array): boolean {
  if (needle.length === 0) return true;
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

Deno.test("a client without the password gets headers only and cannot fetch, replace or delete", async () => {
  await withNetwork(3, async (network) => {
    const data = prng(7204).bytes(50_000);
    const tag = "/access/protocol";
    assertEquals((await putBytes(network, tag, data, ["-k", "2"])).code, 0);

    const host = await Host.connect({
      redisUrl: network.redis.url,
      network: "secshrnet",
      role: "client",
    });
    try {
      const servers = await host.servers();
      assertEquals(servers.length, 3);
      const stranger = await accessKeys(randomBytes(32));
      for (const server of servers) {
        const id = server.slice("server:".length);
        const root = network.servers.find((s) => s.id === id)!.root;
        const [dir] = await objectDirs(root);
        const share = await Deno.readFile(`${dir}/share`);
        const manifest = await Deno.readFile(`${dir}/manifest`);
        const header = await Deno.readFile(`${dir}/header`);

        // head: public headers, the index and the public access key only.
        const head = await host.request(server, "head", { tag });
        assertEquals(Object.keys(head), ["objects"]);
        const objects = head.objects as Record<string, unknown>[];
        assertEquals(objects.length, 1);
        assertEquals(Object.keys(objects[0]).sort(), ["access", "header", "index"]);
        assert(sameBytes(objects[0].header as Uint8Array, header), "head returns the header");
        const encoded = encodeEnvelope({
          type: "reply",
          from: server,
          to: host.address,
          id: 1,
          body: head,
        });
        assert(!contains(encoded, manifest), "head reveals no manifest");
        assert(!contains(encoded, share.subarray(0, 64)), "head reveals no share bytes");
        for (const bytes of byteFields(head)) {
          assert(bytes.length <= header.length, "no byte field larger than the header");
        }
        // list: the same, for every tag.
        const list = await host.request(server, "list", {});
        const listed = encodeEnvelope({
          type: "reply",
          from: server,
          to: host.address,
          id: 1,
          body: list,
        });
        assert(!contains(listed, manifest), "list reveals no manifest");
        assert(!contains(listed, share.subarray(0, 64)), "list reveals no share bytes");

        const { objectId } = decodeHeader(objects[0].header as Uint8Array);
        const expectCode = async (type: string, body: Record<string, unknown>, code: string) => {
          const error = await assertRejects(() => host.request(server, type, body), RemoteError);
          assertEquals((error as RemoteError).code, code, `${type}: ${error.message}`);
        };
        // Access needs a signature, under the key derived from the password, over a fresh
        // nonce from the server: a random token (another key pair) proves nothing.
        const challenge = async () => (await host.request(server, "challenge", {})).nonce;
        const prove = async (op: AccessOp, nonce = challenge()) => {
          const n = await nonce as Uint8Array;
          return { nonce: n, proof: await proveAccess(stranger, op, n, objectId, tag) };
        };
        const download = () => toHex(randomBytes(8));
        await expectCode(
          "get-begin",
          { tag, objectId, download: download(), ...await prove("get") },
          "forbidden",
        );
        await expectCode("rm", { tag, ...await prove("rm") }, "forbidden");
        await expectCode("prune", { tag, objectId, ...await prove("prune") }, "forbidden");
        const randomProof = { nonce: await challenge(), proof: randomBytes(64) };
        await expectCode(
          "get-begin",
          { tag, objectId, download: download(), ...randomProof },
          "forbidden",
        );
        // A nonce the server never gave out is refused too ("expired": it proves nothing
        // either way, so it is not counted as a failed proof).
        const madeUp = await prove("get", Promise.resolve(randomBytes(32)));
        await expectCode(
          "get-begin",
          { tag, objectId, download: download(), ...madeUp },
          "expired",
        );
        const putBegin = {
          tag,
          objectId: randomBytes(16),
          index: 1,
          accessKey: stranger.publicKey,
        };
        await expectCode("put-begin", putBegin, "exists");
        await expectCode("put-begin", { ...putBegin, ...await prove("replace") }, "forbidden");

        // The store is untouched: same single object, no upload in progress.
        assertEquals(await objectDirs(root), [dir], root);
        assertEquals(await entries(`${root}/uploads`), [], root);
        assertEquals(toHex(decodeHeader(header).objectId), toHex(objectId));
      }
      // A server address that is not subscribed gets no answer at all (no crash, no hang).
      const ghost = `server:${toHex(randomBytes(32))}` as Address;
      await assertRejects(
        () => host.request(ghost, "head", { tag }, { timeoutMs: 200, attempts: 1 }),
      );
    } finally {
      await closeSettled(host);
    }
    await assertRetrievable(network, tag, data);
    assertEquals((await lsJson(network)).map((e) => e.tag), [tag]);
  });
});

Deno.test("nothing seen on the Redis bus can be replayed to fetch, replace or delete", async () => {
  await withNetwork(3, async (network) => {
    const random = prng(7205);
    const [first, second] = [random.bytes(20_000), random.bytes(25_000)];
    const tag = "/access/replay";
    assertEquals((await putBytes(network, tag, first, ["-k", "2"])).code, 0);

    // Anyone on the Redis network can subscribe to every channel, and publish as anyone.
    const sniffer = new Redis(network.redis.url, { lazyConnect: true });
    const publisher = new Redis(network.redis.url, { lazyConnect: true });
    const host = await Host.connect({
      redisUrl: network.redis.url,
      network: "secshrnet",
      role: "client",
    });
    const seen: { to: Address; envelope: Envelope; raw: Uint8Array }[] = [];
    const forged = new Map<number, (envelope: Envelope) => void>();
    try {
      await Promise.all([sniffer.connect(), publisher.connect()]);
      sniffer.on(
        "pmessageBuffer",
        (_pattern: unknown, channel: Uint8Array, message: Uint8Array) => {
          const to = new TextDecoder().decode(channel).slice("secshrnet:".length) as Address;
          let envelope: Envelope;
          try {
            envelope = decodeEnvelope(new Uint8Array(message));
          } catch {
            return;
          }
          if (envelope.replyTo !== undefined && forged.has(envelope.replyTo)) {
            forged.get(envelope.replyTo)!(envelope);
          } else seen.push({ to, envelope, raw: new Uint8Array(message) });
        },
      );
      await sniffer.psubscribe("secshrnet:*");

      // A legitimate client replaces the object and reads it back, in full view.
      const force = await putBytes(network, tag, second, ["-k", "2", "--force"]);
      assertEquals(force.code, 0, force.stderr);
      await assertRetrievable(network, tag, second);
      const proven = seen.filter(({ envelope }) =>
        ["get-begin", "put-begin", "prune", "rm"].includes(envelope.type) &&
        envelope.body.proof instanceof Uint8Array
      );
      const types = proven.map(({ envelope }) => envelope.type);
      assert(types.filter((t) => t === "get-begin").length >= 2, types.join(", "));
      assert(types.filter((t) => t === "put-begin").length >= 3, types.join(", "));
      assert(types.includes("prune"), types.join(", "));

      // Replay each proven request: as it was (with our own address, and forging the
      // sender's), with a fresh nonce of ours, and turned into an rm.
      let forgedId = 900_000;
      const forge = async (as: Address, server: Address, type: string, body: object) => {
        const id = ++forgedId;
        let timer: ReturnType<typeof setTimeout> | undefined;
        const reply = new Promise<Envelope | undefined>((resolve) => {
          forged.set(id, resolve);
          timer = setTimeout(() => resolve(undefined), 3000);
        }).finally(() => clearTimeout(timer));
        const bytes = encodeEnvelope({
          type,
          from: as,
          to: server,
          id,
          body: body as Record<string, unknown>,
        });
        // Without the private key of `as` the MAC can only be guessed.
        macOf(bytes).set(randomBytes(MAC_LENGTH));
        await publisher.publish(`secshrnet:${server}`, Buffer.from(bytes));
        const envelope = await reply;
        forged.delete(id);
        if (envelope === undefined) throw new Error("no reply");
        if (envelope.type === "error") {
          throw new RemoteError(server, String(envelope.body.code), String(envelope.body.message));
        }
        return envelope.body;
      };
      const accepted: string[] = [];
      // A message forged in another host's name is dropped unanswered.
      const unanswered = async (what: string, send: () => Promise<unknown>) => {
        try {
          await send();
          accepted.push(`${what}: answered`);
        } catch (error) {
          if ((error as Error).message !== "no reply") {
            accepted.push(`${what}: ${(error as Error).message} (not unanswered)`);
          }
        }
      };
      const attempt = async (what: string, server: Address, send: () => Promise<unknown>) => {
        try {
          const reply = await send() as Record<string, unknown>;
          accepted.push(what);
          if (typeof reply.download === "string") {
            await host.send(server, "get-cancel", { download: reply.download });
          }
          if (typeof reply.upload === "string") {
            await host.request(server, "put-abort", { upload: reply.upload });
          }
        } catch (error) {
          // Refused: a proof that fails (forbidden), a nonce spent or never given to this
          // client (expired), or, after its first 10 failures, this identity (rate-limited).
          const refusals = ["forbidden", "expired", "rate-limited"];
          if (!(error instanceof RemoteError) || !refusals.includes(error.code)) {
            accepted.push(`${what}: ${(error as Error).message} (not refused)`);
          }
        }
      };
      for (const { to: server, envelope, raw } of proven) {
        const { type, body, from } = envelope;
        const label = `${type} to ${server}`;
        await attempt(`${label}, replayed`, server, () => host.request(server, type, body));
        await unanswered(`${label}, replayed as ${from}`, () => forge(from, server, type, body));
        // The very bytes seen: authentic, so the server answers the original client, but
        // the nonce is spent (checked below: nothing changed).
        await publisher.publish(`secshrnet:${server}`, Buffer.from(raw));
        await attempt(`${label}, fresh nonce`, server, async () => {
          const { nonce } = await host.request(server, "challenge", {});
          return await host.request(server, type, { ...body, nonce });
        });
        await attempt(`${label}, as rm`, server, async () => {
          const { nonce } = await host.request(server, "challenge", {});
          return await host.request(server, "rm", { tag, nonce, proof: body.proof });
        });
      }
      assertEquals(accepted, [], "what a password-less eavesdropper got the servers to do");
    } finally {
      await closeSettled(host, {
        close: async () => void await Promise.allSettled([sniffer.quit(), publisher.quit()]),
      });
    }
    assertEquals((await lsJson(network)).map((e) => [e.tag, e.size]), [[tag, second.length]]);
    await assertRetrievable(network, tag, second);
  });
});
