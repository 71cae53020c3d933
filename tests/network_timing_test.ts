/**
 * Retransmission and hangs: a small get never needs a chunk sent twice, and
 * a server that hangs (SIGSTOP: still subscribed, never answering) costs a
 * timeout, not the operation. No test here asserts a duration.
 */

import { assert, assertEquals } from "./assert.ts";
import { sameBytes } from "./objects.ts";
import { prng } from "./prng.ts";
import {
  closeSettled,
  getBytes,
  PASSWORD,
  putBytes,
  trustedServers,
  withNetwork,
} from "./harness/client.ts";
import { Client } from "../core/client/session.ts";
import { get as getObject } from "../core/client/get.ts";
import { concat } from "../core/bytes.ts";
import { decodeEnvelope } from "../core/net/envelope.ts";
import { Redis } from "ioredis";
import type { Buffer } from "node:buffer";

Deno.test("a small get needs no retransmission: every chunk is published once", async () => {
  await withNetwork(5, async (network) => {
    const data = prng(7701).bytes(1024);
    const put = await putBytes(network, "/timing/small", data, ["-k", "3"]);
    assertEquals(put.code, 0, put.stderr);
    // Watch every message to clients. A chunk that arrives before the client knows
    // its download is dropped and sent again after the sender's resend timeout:
    // the same (download, seq) would then be published twice.
    const sniffer = new Redis(network.redis.url, { lazyConnect: true });
    const published = new Map<string, number>();
    await sniffer.connect();
    sniffer.on("pmessageBuffer", (_pattern: Buffer, _channel: Buffer, message: Buffer) => {
      const envelope = decodeEnvelope(new Uint8Array(message));
      if (envelope.type !== "get-data") return;
      const key = `${envelope.from}/${envelope.body.download}/${envelope.body.seq}`;
      published.set(key, (published.get(key) ?? 0) + 1);
    });
    await sniffer.psubscribe("secshrnet:client:*");
    const client = await Client.connect(
      { redisUrl: network.redis.url, network: "secshrnet" },
      trustedServers(network),
    );
    try {
      for (let i = 0; i < 4; i++) {
        const retrieval = await getObject(client, {
          tag: "/timing/small",
          password: PASSWORD,
          minLogN: 10,
        });
        const chunks: Uint8Array[] = [];
        for await (const chunk of retrieval.plaintext) chunks.push(chunk);
        assert(sameBytes(concat(...chunks), data), "round trip");
      }
      assert(published.size >= 4 * 3, `saw only ${published.size} chunks`);
      const repeated = [...published].filter(([, count]) => count > 1);
      assertEquals(repeated, [], "chunks published more than once");
    } finally {
      await closeSettled(client, { close: async () => void await sniffer.quit() });
    }
  });
});

Deno.test("a hung server (SIGSTOP) is named and worked around by get, and put stores on the others (exit 3)", async () => {
  await withNetwork(5, async (network) => {
    const data = prng(7702).bytes(50_000);
    const put = await putBytes(network, "/timing/hung", data, ["-k", "3"]);
    assertEquals(put.code, 0, put.stderr);
    const hung = network.servers[2];
    await hung.signal("SIGSTOP");
    try {
      const get = await getBytes(network, "/timing/hung");
      assertEquals(get.code, 0, get.stderr);
      assert(sameBytes(get.stdoutBytes, data), "rebuilt without the hung server");
      assert(get.stderr.includes(hung.name), `names the hung server: ${get.stderr}`);

      // Five servers are online (the hung one is still subscribed), so n defaults to 5;
      // four store their share: recoverable, reduced redundancy, exit 3 naming the hung one.
      const reduced = await putBytes(network, "/timing/reduced", data, ["-k", "3"]);
      assertEquals(reduced.code, 3, `${reduced.stdout}${reduced.stderr}`);
      assert(reduced.stdout.includes("on 4 of 5 servers"), reduced.stdout);
      assert(reduced.stderr.includes(hung.name), reduced.stderr);
    } finally {
      await hung.signal("SIGCONT");
    }
    await network.waitForServers(5);
    const again = await getBytes(network, "/timing/hung");
    assertEquals(again.code, 0, again.stderr);
    assert(sameBytes(again.stdoutBytes, data), "still there once the server resumes");
  });
});
