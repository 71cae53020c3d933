/**
 * The network end to end, as a user runs it: a real redis-server, five real
 * `secshrnet serve` processes, and the `secshrnet` client commands.
 */

import { assert, assertEquals } from "./assert.ts";
import { startNetwork, type TestNetwork } from "./harness/network.ts";
import { prng } from "./prng.ts";
import { sameBytes } from "./objects.ts";

const PASSWORD = { SECSHRNET_PASSWORD: "correct horse battery staple" };
const S = 2 ** 20;

async function withNetwork(servers: number, test: (network: TestNetwork) => Promise<void>) {
  const network = await startNetwork(servers);
  try {
    await test(network);
  } finally {
    await network.stop();
  }
}

Deno.test("put and get round trips of 0 B, 1 B, segment ± 1 and 50 MiB", async () => {
  await withNetwork(5, async (network) => {
    const random = prng(4001);
    for (const size of [0, 1, S - 1, S, S + 1, 50 * S]) {
      const data = random.bytes(size);
      const input = `${network.dir}/in-${size}`;
      const output = `${network.dir}/out-${size}`;
      await Deno.writeFile(input, data);
      const tag = `/roundtrip/${size}`;
      const put = await network.run(["put", tag, input, "-k", "3", "--log-n", "10"], {
        env: PASSWORD,
      });
      assertEquals(put.code, 0, put.stderr);
      assert(put.stdout.includes("on 5 of 5 servers"), put.stdout);
      const get = await network.run(["get", tag, output], { env: PASSWORD });
      assertEquals(get.code, 0, get.stderr);
      assert(sameBytes(await Deno.readFile(output), data), `size ${size}`);
    }
  });
});
