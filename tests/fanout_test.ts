/** FanOut: one producer, several readable streams, paced by the slowest stream still read. */

import { FanOut } from "../core/fanout.ts";
import { assert, assertEquals, assertRejects } from "./assert.ts";
import { prng } from "./prng.ts";

const tick = (ms = 5) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Tracks whether a promise has settled, and its value. */
function watch<T>(promise: Promise<T>): { settled: boolean; value?: T } {
  const state: { settled: boolean; value?: T } = { settled: false };
  promise.then((value) => {
    state.settled = true;
    state.value = value;
  });
  return state;
}

const chunk = (...bytes: number[]) => new Uint8Array(bytes);

Deno.test("fanout: ready() waits while any stream is full and unread", async () => {
  const fan = new FanOut(2, 2);
  const readers = fan.streams.map((s) => s.getReader());
  assertEquals(await fan.ready(), true);
  fan.enqueue(0, chunk(1));
  fan.enqueue(1, chunk(1));
  assertEquals(await fan.ready(), true, "one chunk queued of two allowed");
  fan.enqueue(0, chunk(2));
  fan.enqueue(1, chunk(2));
  const waiting = watch(fan.ready());
  for (let i = 0; i < 5; i++) await tick();
  assertEquals(waiting.settled, false, "ready() resolved although both streams are full");
  assertEquals((await readers[0].read()).value, chunk(1));
  for (let i = 0; i < 5; i++) await tick();
  assertEquals(waiting.settled, false, "ready() resolved although stream 1 is still full");
  assertEquals((await readers[1].read()).value, chunk(1));
  for (let i = 0; i < 5 && !waiting.settled; i++) await tick();
  assertEquals(waiting, { settled: true, value: true });
  for (const reader of readers) await reader.cancel();
});

Deno.test("fanout: a paced producer never queues more than the high-water mark", async () => {
  const seed = 0xfa;
  const rng = prng(seed);
  for (const [count, hwm] of [[1, 1], [3, 2], [5, 4]]) {
    const fan = new FanOut(count, hwm);
    const total = 60;
    const enqueued = new Array(count).fill(0);
    const consumed = new Array(count).fill(0);
    let worst = 0;
    const producer = (async () => {
      for (let i = 0; i < total; i++) {
        assert(await fan.ready(), "ready() false with open streams");
        for (let s = 0; s < count; s++) {
          fan.enqueue(s, chunk(i));
          enqueued[s]++;
          worst = Math.max(worst, enqueued[s] - consumed[s]);
        }
      }
      fan.close();
    })();
    const consumers = fan.streams.map(async (stream, s) => {
      const got: number[] = [];
      for await (const c of stream) {
        consumed[s]++;
        got.push(c[0]);
        if (rng.int(0, 2) === 0) await tick(rng.int(0, 2));
      }
      return got;
    });
    const results = await Promise.all(consumers);
    await producer;
    const expected = Array.from({ length: total }, (_, i) => i);
    results.forEach((got, s) => assertEquals(got, expected, `seed=${seed} stream ${s}`));
    assert(worst <= hwm + 1, `seed=${seed} count=${count}: ${worst} chunks in flight, hwm ${hwm}`);
  }
});

Deno.test("fanout: a cancelled stream is skipped", async () => {
  const fan = new FanOut(3, 1);
  const readers = fan.streams.map((s) => s.getReader());
  for (let s = 0; s < 3; s++) fan.enqueue(s, chunk(7));
  const waiting = watch(fan.ready());
  await tick();
  assertEquals(waiting.settled, false);
  await readers[1].cancel("not wanted");
  assertEquals(fan.cancelled, [false, true, false]);
  await tick();
  assertEquals(waiting.settled, false, "streams 0 and 2 are still full");
  await readers[0].read();
  await readers[2].read();
  for (let i = 0; i < 5 && !waiting.settled; i++) await tick();
  assertEquals(waiting, { settled: true, value: true });
  // Enqueueing to the cancelled stream is a no-op, not an error.
  fan.enqueue(1, chunk(8));
  fan.enqueue(0, chunk(8));
  fan.enqueue(2, chunk(8));
  fan.close();
  assertEquals(await readers[0].read(), { value: chunk(8), done: false });
  assertEquals(await readers[0].read(), { value: undefined, done: true });
  assertEquals(await readers[2].read(), { value: chunk(8), done: false });
  assertEquals(await readers[2].read(), { value: undefined, done: true });
});

Deno.test("fanout: cancelling the full stream wakes a waiting producer", async () => {
  const fan = new FanOut(2, 1);
  const readers = fan.streams.map((s) => s.getReader());
  fan.enqueue(0, chunk(1));
  const waiting = watch(fan.ready());
  await tick();
  assertEquals(waiting.settled, false);
  await readers[0].cancel();
  for (let i = 0; i < 5 && !waiting.settled; i++) await tick();
  assertEquals(waiting, { settled: true, value: true });
  await readers[1].cancel();
});

Deno.test("fanout: ready() is false once every stream is cancelled", async () => {
  const fan = new FanOut(2, 1);
  const readers = fan.streams.map((s) => s.getReader());
  fan.enqueue(0, chunk(1));
  fan.enqueue(1, chunk(1));
  const waiting = watch(fan.ready());
  await readers[0].cancel();
  await tick();
  assertEquals(waiting.settled, false, "stream 1 is open and full");
  await readers[1].cancel();
  for (let i = 0; i < 5 && !waiting.settled; i++) await tick();
  assertEquals(waiting, { settled: true, value: false });
  assertEquals(await fan.ready(), false);
  assertEquals(fan.cancelled, [true, true]);
  // Closing and failing after everyone left must not throw.
  fan.close();
  fan.error(new Error("late"));
  assertEquals(await new FanOut(0).ready(), false);
});

Deno.test("fanout: close() ends every stream after its queued chunks", async () => {
  const fan = new FanOut(3);
  for (let s = 0; s < 3; s++) fan.enqueue(s, chunk(s, 1));
  fan.enqueue(2, chunk(2, 2));
  fan.close();
  const bodies = await Promise.all(fan.streams.map((s) => new Response(s).bytes()));
  assertEquals(bodies, [chunk(0, 1), chunk(1, 1), chunk(2, 1, 2, 2)]);
});

Deno.test("fanout: error() fails every stream not cancelled with the same reason", async () => {
  const fan = new FanOut(3);
  const readers = fan.streams.map((s) => s.getReader());
  await readers[2].cancel();
  const reason = new RangeError("input broke");
  fan.enqueue(0, chunk(1));
  fan.error(reason);
  for (const reader of readers.slice(0, 2)) {
    const error = await assertRejects(() => reader.read(), RangeError, "input broke");
    assert(error === reason, "the very same error object");
  }
  assertEquals(await readers[2].read(), { value: undefined, done: true });
  assertEquals(fan.cancelled, [false, false, true]);
});
