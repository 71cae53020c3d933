/**
 * Time: a small get must not wait for a retransmission, and a server that
 * hangs (SIGSTOP: still subscribed, never answering) costs a timeout, not
 * the operation.
 */

import { assert, assertEquals } from "./assert.ts";
import { sameBytes } from "./objects.ts";
import { prng } from "./prng.ts";
import { closeSettled, getBytes, PASSWORD, putBytes, withNetwork } from "./harness/client.ts";
import { Client } from "../core/client/session.ts";
import { get as getObject } from "../core/client/get.ts";
import { concat } from "../core/bytes.ts";

Deno.test("a 1 KiB get from 5 servers completes in well under a second", async () => {
  await withNetwork(5, async (network) => {
    const data = prng(7701).bytes(1024);
    const put = await putBytes(network, "/timing/small", data, ["-k", "3"]);
    assertEquals(put.code, 0, put.stderr);
    const client = await Client.connect({ redisUrl: network.redis.url, network: "secshrnet" });
    try {
      const times: number[] = [];
      for (let i = 0; i < 4; i++) {
        const started = performance.now();
        const retrieval = await getObject(client, { tag: "/timing/small", password: PASSWORD });
        const chunks: Uint8Array[] = [];
        for await (const chunk of retrieval.plaintext) chunks.push(chunk);
        times.push(Math.round(performance.now() - started));
        assert(sameBytes(concat(...chunks), data), "round trip");
      }
      // scrypt at log N 10 takes a few ms; the rest is a handful of Redis round trips.
      // A chunk dropped on arrival costs the sender's 1.5 s retransmission timeout.
      assert(times.every((ms) => ms < 1000), `get took ${times.join(", ")} ms`);
    } finally {
      await closeSettled(client);
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
      assert(get.stderr.includes(hung.id), `names the hung server: ${get.stderr}`);

      // Five servers are online (the hung one is still subscribed), so n defaults to 5;
      // four store their share: recoverable, reduced redundancy, exit 3 naming the hung one.
      const reduced = await putBytes(network, "/timing/reduced", data, ["-k", "3"]);
      assertEquals(reduced.code, 3, `${reduced.stdout}${reduced.stderr}`);
      assert(reduced.stdout.includes("on 4 of 5 servers"), reduced.stdout);
      assert(reduced.stderr.includes(hung.id), reduced.stderr);
    } finally {
      await hung.signal("SIGCONT");
    }
    await network.waitForServers(5);
    const again = await getBytes(network, "/timing/hung");
    assertEquals(again.code, 0, again.stderr);
    assert(sameBytes(again.stdoutBytes, data), "still there once the server resumes");
  });
});
