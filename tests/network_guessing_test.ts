/**
 * Online password guessing: each server refuses a tag's access proofs for a
 * while once too many have failed, even a correct one, and other tags are
 * not affected.
 */

import { assert, assertEquals, assertRejects } from "./assert.ts";
import { sameBytes } from "./objects.ts";
import { prng } from "./prng.ts";
import { closeSettled, getBytes, putBytes, withNetwork } from "./harness/client.ts";
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
    assert(locked.code !== 0, "refused while rate limited");
    assert(/too many failed access proofs/.test(locked.stderr), locked.stderr);
    assert(locked.stderr.trim().split("\n").length <= 3, locked.stderr);
    // ...but not for another tag on the same servers,
    const other = await getBytes(network, "/guess/other");
    assertEquals(other.code, 0, other.stderr);
    assert(sameBytes(other.stdoutBytes, bystander));
    // and gets in once failures have earned back (one every 3 s).
    const wait = Number(/try again in (\d+) s/.exec(locked.stderr)?.[1]);
    assert(wait >= 1 && wait <= 3, locked.stderr);
    await new Promise((resolve) => setTimeout(resolve, wait * 1000 + 500));
    const unlocked = await getBytes(network, "/guess/target");
    assertEquals(unlocked.code, 0, unlocked.stderr);
    assert(sameBytes(unlocked.stdoutBytes, target));
  });
});
