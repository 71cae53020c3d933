/**
 * Buffers used again: outgoing messages (core/net/message_buffers.ts) and a
 * download's chunks (`WindowedSender`'s `onAcked`). Reuse must never change
 * a message that is still on its way, which the last test checks with large
 * messages of different contents between real hosts on a real redis-server.
 */

import { assert, assertEquals } from "./assert.ts";
import { startRedis } from "./harness/redis.ts";
import { Host } from "../core/net/host.ts";
import type { Envelope } from "../core/net/envelope.ts";
import {
  MAX_FREE_PER_CLASS,
  MessageBuffers,
  MIN_POOLED_BYTES,
} from "../core/net/message_buffers.ts";
import { WindowedSender } from "../core/net/transfer.ts";
import { prng } from "./prng.ts";
import { parserSettled } from "./harness/redis_parser.ts";

Deno.test("message buffers: a buffer given back serves the next message of its size class", () => {
  const pool = new MessageBuffers();
  const first = pool.take(300 * 1024);
  assertEquals(first.length, 300 * 1024);
  assertEquals(first.buffer.byteLength, 320 * 1024, "rounded up to 64 KiB");
  assertEquals(pool.allocatedBytes, 320 * 1024);
  pool.give(first);
  assertEquals(pool.freeCount, 1);
  const again = pool.take(290 * 1024);
  assert(again.buffer === first.buffer, "the same buffer again");
  assertEquals(again.length, 290 * 1024);
  assertEquals(pool.allocatedBytes, 320 * 1024, "nothing new allocated");
  // Another size class gets a buffer of its own.
  const other = pool.take(100 * 1024);
  assert(other.buffer !== first.buffer);
  assertEquals(pool.allocatedBytes, 320 * 1024 + 128 * 1024);
});

Deno.test("message buffers: small messages and foreign views are not pooled; the pool is bounded", () => {
  const pool = new MessageBuffers();
  const small = pool.take(MIN_POOLED_BYTES - 1);
  assertEquals(small.buffer.byteLength, MIN_POOLED_BYTES - 1);
  pool.give(small);
  pool.give(new Uint8Array(128 * 1024).subarray(64)); // not at the start of its buffer
  pool.give(new Uint8Array(100 * 1000)); // not a size class
  assertEquals(pool.freeCount, 0);
  const taken = Array.from({ length: MAX_FREE_PER_CLASS + 5 }, () => pool.take(MIN_POOLED_BYTES));
  taken.forEach((view) => pool.give(view));
  assertEquals(pool.freeCount, MAX_FREE_PER_CLASS);
});

Deno.test("windowed sender: onAcked gets each chunk once, in order, when a cumulative ack covers it", async () => {
  const acked: Uint8Array[] = [];
  const sender = new WindowedSender(() => Promise.resolve(true), {
    onAcked: (chunk) => void acked.push(chunk),
  });
  try {
    const chunks = [1, 2, 3, 4].map((n) => new Uint8Array(n));
    for (const chunk of chunks) await sender.push(chunk);
    sender.ack(1);
    assertEquals(acked, chunks.slice(0, 2));
    sender.ack(1); // a duplicate ack: nothing new
    sender.ack(0);
    assertEquals(acked.length, 2);
    sender.ack(3);
    assert(acked.every((chunk, i) => chunk === chunks[i]), "the very chunks pushed, in order");
    await sender.drain();
  } finally {
    sender.close();
  }
});

Deno.test("host: large messages sent back to back arrive intact while their buffers are used again", async () => {
  const redis = await startRedis();
  const connect = (role: "server" | "client") =>
    Host.connect({ redisUrl: redis.url, network: "reuse", role });
  const server = await connect("server");
  const client = await connect("client");
  try {
    const received: Envelope[] = [];
    server.listen("blob", (message) => void received.push(message));
    const rng = prng(0xb0ff);
    // Sizes in few classes, so buffers come back and go out again many times over.
    const blobs = Array.from({ length: 120 }, () => rng.bytes(rng.int(64, 200) * 1024));
    // In batches: each batch goes out at once (messages in flight together), and takes the
    // buffers the batch before it gave back.
    for (let start = 0; start < blobs.length; start += 8) {
      const batch = blobs.slice(start, start + 8);
      const sent = await Promise.all(
        batch.map((data, i) => client.send(server.address, "blob", { seq: start + i, data })),
      );
      assert(sent.every((ok) => ok), "every publish reached the server");
    }
    const deadline = Date.now() + 30_000;
    while (received.length < blobs.length && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assertEquals(received.length, blobs.length);
    received.forEach((message, i) => {
      assertEquals(message.body.seq, i);
      assertEquals(message.body.data, blobs[i], `message ${i}`);
    });
  } finally {
    await Promise.allSettled([server.close(), client.close()]);
    await redis.stop();
    // ioredis' RESP parser ends a module-wide interval of its own some time after large replies.
    await parserSettled();
  }
});
