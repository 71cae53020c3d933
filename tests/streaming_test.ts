/**
 * Streaming behaviour: sealing reads its input only as fast as the share
 * streams are read, cancelling every share stream cancels the input, opening
 * reads shares only as fast as the plaintext is read, and bad options are
 * refused before any work.
 */

import { seal, type SealOptions, UsageError } from "../mod.ts";
import { assert, assertEquals, assertRejects } from "./assert.ts";
import { openAll, sameBytes, sealToMemory, source } from "./objects.ts";
import { prng } from "./prng.ts";

const S = 65536;
const base: SealOptions = { tag: "/t", password: "p", k: 2, n: 3, logN: 10, segmentSize: S };

/** An endless input that counts how many 64 KiB chunks were pulled, and whether it was cancelled. */
function countingInput() {
  const state = { pulled: 0, cancelled: false };
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      state.pulled++;
      controller.enqueue(new Uint8Array(S));
    },
    cancel() {
      state.cancelled = true;
    },
  }, { highWaterMark: 0 });
  return { stream, state };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 50));

Deno.test("sealing reads no further ahead than a few segments when nobody reads the shares", async () => {
  const { stream, state } = countingInput();
  const sealed = await seal(stream, base);
  await settle();
  const idle = state.pulled;
  assert(idle <= 6, `pulled ${idle} segments with no reader`);
  const readers = sealed.shares.map((s) => s.getReader());
  for (let i = 0; i < 20; i++) await Promise.all(readers.map((r) => r.read()));
  await settle();
  assert(state.pulled > idle, "reading the shares did not pull more input");
  assert(state.pulled <= 20 + 6, `pulled ${state.pulled} for 20 reads`);
  await Promise.all(readers.map((r) => r.cancel()));
  await assertRejects(() => sealed.done, DOMException, "cancelled");
  assert(state.cancelled, "input not cancelled after every share stream was");
});

Deno.test("a cancelled share stream is dropped while the others go on", async () => {
  const data = prng(3001).bytes(5 * S + 9);
  const sealed = await seal(ReadableStream.from([data]), base);
  await sealed.shares[1].cancel();
  const bodies = await Promise.all(
    [0, 2].map((i) => new Response(sealed.shares[i]).bytes()),
  );
  const { headerBytes, manifest } = await sealed.done;
  const { plaintext } = await openAll(
    [1, 3].map((index, j) => ({
      index,
      header: headerBytes,
      manifest,
      shares: ReadableStream.from([bodies[j]]),
    })),
    { tag: "/t", password: "p" },
  );
  assert(sameBytes(plaintext, data));
});

Deno.test("an input error fails the sealing and every share stream", async () => {
  const input = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(new Uint8Array(3 * S));
      controller.error(new Error("disk read failed"));
    },
  });
  const sealed = await seal(input, base);
  await assertRejects(() => sealed.done, Error, "disk read failed");
  await assertRejects(() => new Response(sealed.shares[0]).bytes(), Error, "disk read failed");
});

// On the calling thread the opener reads one segment ahead; with workers, two per worker.
for (const workers of [0, 2]) {
  Deno.test(`opening with ${workers} workers pulls share data only as the plaintext is read`, async () => {
    const object = await sealToMemory(prng(3002).bytes(20 * S), { k: 2, n: 3 });
    let pulled = 0;
    const counted = [1, 2].map((index) => {
      const inner = source(object, index, { chunk: 4096 });
      const reader = inner.shares.getReader();
      const shares = new ReadableStream<Uint8Array>({
        async pull(controller) {
          const { value, done } = await reader.read();
          if (done) controller.close();
          else {
            pulled += value.length;
            controller.enqueue(value);
          }
        },
      }, { highWaterMark: 0 });
      return { ...inner, shares };
    });
    const { open } = await import("../mod.ts");
    const opened = await open(counted, { tag: "/test/object", password: "test password", workers });
    const reader = opened.plaintext.getReader();
    await reader.read();
    await settle();
    // One segment delivered, `ahead` read ahead and at most one more buffered: S each
    // (2 fragments of S/2), out of the 20 S of the object.
    const ahead = workers === 0 ? 1 : workers + 1;
    assert(pulled <= (2 + ahead) * S, `pulled ${pulled} bytes for one segment`);
    await reader.cancel();
  });
}

Deno.test("bad sealing options are refused with a UsageError naming the problem", async () => {
  const cases: [Partial<SealOptions>, string][] = [
    [{ k: 0 }, "k must be"],
    [{ k: 4 }, "k must be"],
    [{ k: 1.5 }, "k must be"],
    [{ n: 256, k: 2 }, "n must be"],
    [{ n: 0, k: 0 }, "n must be"],
    [{ k: 1 }, "ask for it explicitly"],
    [{ logN: 9 }, "logN"],
    [{ logN: 31 }, "logN"],
    [{ segmentSize: 1000 }, "segment size"],
    [{ segmentSize: 2 ** 21 }, "segment size"],
    [{ tag: "" }, "tag is empty"],
    [{ tag: "a\u0000b" }, "control character"],
    [{ created: -1 }, "created must be"],
    [{ created: 1.5 }, "created must be"],
  ];
  for (const [change, message] of cases) {
    await assertRejects(
      () => seal(ReadableStream.from([]), { ...base, ...change }),
      UsageError,
      message,
    );
  }
  const single = await seal(ReadableStream.from([new Uint8Array(1)]), {
    ...base,
    k: 1,
    allowSingleShare: true,
  });
  await Promise.all(single.shares.map((s) => new Response(s).bytes()));
  assertEquals((await single.done).header.k, 1);
});
