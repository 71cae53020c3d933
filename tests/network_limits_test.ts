/**
 * Limits against noisy or hostile clients on a live network. Online password
 * guessing: each server refuses an identity's proofs unchecked once it has
 * failed too often, and, once a tag's failures are spent, every identity that
 * fails on it; a correct proof is always checked, so the owner is never
 * locked out. A client opening uploads without end gets `busy`, and others
 * still store.
 */

import { assert, assertEquals, assertRejects } from "./assert.ts";
import { sameBytes } from "./objects.ts";
import { prng } from "./prng.ts";
import {
  closeSettled,
  entries,
  getBytes,
  putBytes,
  waitUntil,
  withNetwork,
  WRONG_PW,
} from "./harness/client.ts";
import type { Address } from "../core/net/envelope.ts";
import { MAX_UPLOADS_PER_CLIENT } from "../server/protocol.ts";
import { Host, RemoteError } from "../core/net/host.ts";
import { decodeHeader } from "../core/header.ts";
import { randomBytes, toHex } from "../core/bytes.ts";
import { accessKeys, proveAccess } from "../core/access.ts";

/** Failed proofs a server allows per tag, and per client identity, at once (server/proofs.ts). */
const TAG_BURST = 20;
const CLIENT_BURST = 10;

Deno.test("failed proofs: one identity is refused after its burst, a tag's guessers after the tag's; the owner never", async () => {
  await withNetwork(3, async (network) => {
    const random = prng(7301);
    const [target, bystander] = [random.bytes(30_000), random.bytes(20_000)];
    assertEquals((await putBytes(network, "/guess/target", target, ["-k", "2"])).code, 0);
    assertEquals((await putBytes(network, "/guess/other", bystander, ["-k", "2"])).code, 0);

    const hosts: Host[] = [];
    const connect = async () => {
      const host = await Host.connect({
        redisUrl: network.redis.url,
        network: "secshrnet",
        role: "client",
      });
      hosts.push(host);
      return host;
    };
    try {
      const guesser = await accessKeys(randomBytes(32));
      /** One wrong guess at `tag` by `host` on `server`: the error code it gets. */
      const guess = async (host: Host, server: Address, tag: string) => {
        const head = await host.request(server, "head", { tag });
        const header = (head.objects as { header: Uint8Array }[])[0].header;
        const { objectId } = decodeHeader(header);
        const { nonce } = await host.request(server, "challenge", {});
        const proof = await proveAccess(guesser, "get", nonce as Uint8Array, objectId, tag);
        const body = { tag, objectId, download: toHex(randomBytes(8)), nonce, proof };
        const error = await assertRejects(
          () => host.request(server, "get-begin", body),
          RemoteError,
        );
        return (error as RemoteError).code;
      };
      // One identity: its first 10 failures are checked, then it is refused unchecked.
      const single = await connect();
      const [server] = await single.servers();
      const codes: string[] = [];
      for (let i = 0; i < CLIENT_BURST + 3; i++) {
        codes.push(await guess(single, server, "/guess/target"));
      }
      assertEquals(codes, [
        ...Array(CLIENT_BURST).fill("forbidden"),
        ...Array(3).fill("rate-limited"),
      ]);
      // ...for every tag, while the owner, with the right password, gets in at once.
      assertEquals(await guess(single, server, "/guess/other"), "rate-limited");
      const owner = await getBytes(network, "/guess/target");
      assertEquals(owner.code, 0, owner.stderr);
      assert(sameBytes(owner.stdoutBytes, target));

      // A new identity for every guess: the tag's burst (20, the 10 above included)
      // is checked, then each identity failing on it is refused at once...
      const sybils: string[] = [];
      for (let i = 0; i < TAG_BURST - CLIENT_BURST + 3; i++) {
        const host = await connect();
        sybils.push(await guess(host, server, "/guess/target"));
        // ...from then on, whatever it asks.
        if (i >= TAG_BURST - CLIENT_BURST) {
          assertEquals(await guess(host, server, "/guess/other"), "rate-limited");
        }
      }
      assertEquals(sybils, [
        ...Array(TAG_BURST - CLIENT_BURST).fill("forbidden"),
        ...Array(3).fill("rate-limited"),
      ]);
    } finally {
      await closeSettled(...hosts);
    }

    // The password holder is never locked out: every get with the right password works.
    for (const [tag, data] of [["/guess/target", target], ["/guess/other", bystander]] as const) {
      const get = await getBytes(network, tag);
      assertEquals(get.code, 0, get.stderr);
      assert(sameBytes(get.stdoutBytes, data));
    }
    // A wrong password while the tag is being guessed is refused as such, clearly.
    const wrong = await getBytes(network, "/guess/target", WRONG_PW);
    assert([1, 5].includes(wrong.code), wrong.stderr);
    assertEquals(wrong.stderr.trim().split("\n").length, 1, wrong.stderr);
  });
});

Deno.test("a client opening uploads without end gets 'busy'; another client still stores", async () => {
  await withNetwork(2, async (network) => {
    const host = await Host.connect({
      redisUrl: network.redis.url,
      network: "secshrnet",
      role: "client",
    });
    try {
      const [server] = await host.servers();
      const root = network.servers.find((s) => `server:${s.id}` === server)!.root;
      const keys = await accessKeys(randomBytes(32));
      const outcomes: string[] = [];
      const uploads: string[] = [];
      for (let i = 0; i < MAX_UPLOADS_PER_CLIENT + 4; i++) {
        try {
          const reply = await host.request(server, "put-begin", {
            tag: `/flood/${i}`,
            objectId: randomBytes(16),
            index: 1,
            accessKey: keys.publicKey,
          });
          uploads.push(reply.upload as string);
          outcomes.push("open");
        } catch (error) {
          outcomes.push(error instanceof RemoteError ? error.code : String(error));
        }
      }
      assertEquals(outcomes, [
        ...Array(MAX_UPLOADS_PER_CLIENT).fill("open"),
        ...Array(4).fill("busy"),
      ]);
      assertEquals((await entries(`${root}/uploads`)).length, MAX_UPLOADS_PER_CLIENT);
      const data = prng(7302).bytes(40_000);
      const put = await putBytes(network, "/flood/bystander", data, ["-k", "2"]);
      assertEquals(put.code, 0, put.stderr);
      const get = await getBytes(network, "/flood/bystander");
      assert(sameBytes(get.stdoutBytes, data), get.stderr);
      for (const upload of uploads) await host.request(server, "put-abort", { upload });
      await waitUntil(
        async () => (await entries(`${root}/uploads`)).length === 0,
        20_000,
        "uploads gone",
      );
    } finally {
      await closeSettled(host);
    }
  });
});
