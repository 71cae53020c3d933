/**
 * core/net/sharded_bus.ts on a real 3-master Redis Cluster: binary messages
 * arrive byte for byte on channels spread over the masters, each channel is
 * found on the master that owns it, and a message is never decoded to text
 * on the way (ioredis would do so for every message while its text listener
 * is attached, which cost the servers most of their CPU in a put).
 */

import { Buffer } from "node:buffer";
import { assert, assertEquals } from "./assert.ts";
import { prng } from "./prng.ts";
import { startCluster } from "./harness/cluster.ts";
import { openBus } from "../core/net/bus.ts";
import { until } from "./harness/sentinel.ts";
import { parserSettled } from "./harness/redis_parser.ts";

Deno.test("sharded bus: binary messages arrive intact on every master's channels, never decoded to text", async () => {
  const setup = await startCluster();
  const channels = Array.from({ length: 6 }, (_, i) => `t:server:${i}`);
  const bus = await openBus(
    { cluster: { nodes: setup.nodes, tls: false } },
    undefined,
    channels,
    () => {},
  );
  const toString = Buffer.prototype.toString;
  try {
    const found = await bus.channels("t:server:*");
    assertEquals([...found.keys()].sort(), channels);
    for (const channel of channels) {
      assertEquals(found.get(channel), `127.0.0.1:${await setup.ownerOf(channel)}`);
    }
    assertEquals(new Set(found.values()).size > 1, true, "channels on more than one master");
    assertEquals(await bus.subscribers(channels[0]), 1);

    let decoded = 0;
    Buffer.prototype.toString = function (this: Buffer, ...args: unknown[]) {
      if (this.length >= 4096) decoded++;
      return toString.apply(this, args as []);
    } as typeof Buffer.prototype.toString;
    const received: Uint8Array[] = [];
    bus.onMessage((message) => received.push(new Uint8Array(message)));
    const random = prng(5);
    const sent = channels.map(() => random.bytes(64 * 1024));
    for (const [i, channel] of channels.entries()) {
      assertEquals(await bus.publish(channel, Buffer.from(sent[i])), 1);
    }
    await until(() => Promise.resolve(received.length === sent.length), "every message");
    const key = (bytes: Uint8Array) => Array.from(bytes.subarray(0, 16)).join(",");
    assertEquals(received.map(key).sort(), sent.map(key).sort());
    for (const bytes of received) {
      const match = sent.find((s) => key(s) === key(bytes));
      assert(match !== undefined && match.every((b, i) => b === bytes[i]), "identical bytes");
    }
    assertEquals(decoded, 0, "messages decoded to text on receipt");
  } finally {
    Buffer.prototype.toString = toString;
    await bus.close();
    await setup.stop();
    await parserSettled();
  }
});
