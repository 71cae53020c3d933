/**
 * Limits against noisy or hostile clients on a live network. Online password
 * guessing: each server refuses a tag's access proofs for a while once too
 * many have failed, even a correct one, and other tags are not affected. A
 * client opening uploads without end gets `busy`, and others still store.
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
} from "./harness/client.ts";
import { MAX_UPLOADS_PER_CLIENT } from "../server/protocol.ts";
import { Host, RemoteError } from "../core/net/host.ts";
import { decodeHeader } from "../core/header.ts";
import { randomBytes, toHex } from "../core/bytes.ts";
import { accessKeys, proveAccess } from "../core/access.ts";

/** Failed proofs a server allows per tag at once (server/proofs.ts default). */
const BURST = 20;

Deno.test("too many failed proofs for a tag: the tag is refused for a while, other tags are not", async () => {
  await withNetwork(3, async (network) => {
    const random = prng(7301);
    const [target, bystander] = [random.bytes(30_000), random.bytes(20_000)];
    assertEquals((await putBytes(network, "/guess/target", target, ["-k", "2"])).code, 0);
    assertEquals((await putBytes(network, "/guess/other", bystander, ["-k", "2"])).code, 0);

    const host = await Host.connect({
      redisUrl: network.redis.url,
      network: "secshrnet",
      role: "client",
    });
    try {
      const guesser = await accessKeys(randomBytes(32));
      const codes: string[] = [];
      for (const server of await host.servers()) {
        const head = await host.request(server, "head", { tag: "/guess/target" });
        const header = (head.objects as { header: Uint8Array }[])[0].header;
        const { objectId } = decodeHeader(header);
        const guess = async () => {
          const { nonce } = await host.request(server, "challenge", {});
          const proof = await proveAccess(
            guesser,
            "get",
            nonce as Uint8Array,
            objectId,
            "/guess/target",
          );
          const body = { tag: "/guess/target", objectId, download: toHex(randomBytes(8)), nonce };
          const error = await assertRejects(
            () => host.request(server, "get-begin", { ...body, proof }),
            RemoteError,
          );
          return (error as RemoteError).code;
        };
        for (let i = 0; i < BURST + 3; i++) codes.push(await guess());
      }
      const expected = Array.from(
        { length: BURST + 3 },
        (_, i) => i < BURST ? "forbidden" : "rate-limited",
      );
      assertEquals(codes, [...expected, ...expected, ...expected]);
    } finally {
      await closeSettled(host);
    }

    // The password holder is refused too while the limit lasts, with a clear error...
    const locked = await getBytes(network, "/guess/target");
    assertEquals(locked.code, 1, locked.stderr);
    assert(
      /^secshrnet: too many failed password attempts for this tag lately; the servers refuse it for \d+ s more$/
        .test(locked.stderr.trim()),
      locked.stderr,
    );
    // ...but not for another tag on the same servers,
    const other = await getBytes(network, "/guess/other");
    assertEquals(other.code, 0, other.stderr);
    assert(sameBytes(other.stdoutBytes, bystander));
    // and gets in once failures have earned back (one every 3 s).
    const wait = Number(/for (\d+) s more/.exec(locked.stderr)?.[1]);
    assert(wait >= 1 && wait <= 3, locked.stderr);
    await new Promise((resolve) => setTimeout(resolve, wait * 1000 + 500));
    const unlocked = await getBytes(network, "/guess/target");
    assertEquals(unlocked.code, 0, unlocked.stderr);
    assert(sameBytes(unlocked.stdoutBytes, target));
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
