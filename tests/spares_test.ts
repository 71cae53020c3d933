/**
 * Spares: opening reads k shares and starts another holder only where one in
 * use fails, positioned at the failing segment.
 */

import { NotEnoughSharesError, openUnlocked, type SpareSource, unlock } from "../mod.ts";
import { concat } from "../core/bytes.ts";
import { assert, assertEquals, assertRejects } from "./assert.ts";
import { cloneObject, type MemoryObject, sameBytes, sealToMemory, source } from "./objects.ts";
import { prng } from "./prng.ts";

const S = 65536;
const TAG = "/test/object";
const PASSWORD = "test password";

/** A spare for `index` of `object` that records the segments it was started at. */
function spare(object: MemoryObject, index: number, starts: [number, number][]): SpareSource {
  return {
    index,
    start(segment) {
      starts.push([index, segment]);
      return Promise.resolve({
        manifest: object.manifest,
        keyShare: object.keyShares[index - 1],
        frames: ReadableStream.from([concat(...object.frames[index - 1].slice(segment))]),
      });
    },
  };
}

async function openWithSpares(object: MemoryObject, members: number[], spares: SpareSource[]) {
  const unlocked = await unlock(object.header, { tag: TAG, password: PASSWORD });
  const opened = await openUnlocked(unlocked, members.map((i) => source(object, i)), [], spares);
  return { plaintext: await new Response(opened.plaintext).bytes(), rejections: opened.rejections };
}

Deno.test("a fragment failing mid-stream brings in a spare at that segment", async () => {
  const data = prng(5001).bytes(6 * S + 7);
  const object = await sealToMemory(data, { k: 3, n: 5 });
  const damaged = cloneObject(object);
  damaged.frames[1][3][10] ^= 1; // index 2, segment 3
  const starts: [number, number][] = [];
  const unlocked = await unlock(object.header, { tag: TAG, password: PASSWORD });
  const members = [source(object, 1), source(damaged, 2), source(object, 3)];
  const opened = await openUnlocked(unlocked, members, [], [
    spare(object, 4, starts),
    spare(object, 5, starts),
  ]);
  const plaintext = await new Response(opened.plaintext).bytes();
  assert(sameBytes(plaintext, data));
  assertEquals(starts, [[4, 3]]);
  assertEquals(opened.rejections.map((r) => [r.index, r.reason, r.segment]), [[
    2,
    "fragment-invalid",
    3,
  ]]);
});

Deno.test("spares are not started when the members are sound", async () => {
  const data = prng(5002).bytes(3 * S);
  const object = await sealToMemory(data, { k: 2, n: 4 });
  const starts: [number, number][] = [];
  const { plaintext } = await openWithSpares(object, [1, 2], [spare(object, 3, starts)]);
  assert(sameBytes(plaintext, data));
  assertEquals(starts, []);
});

Deno.test("a bad key share or manifest among members is replaced by a spare from segment 0", async () => {
  const data = prng(5003).bytes(2 * S + 1);
  const object = await sealToMemory(data, { k: 2, n: 4 });
  const badShare = cloneObject(object);
  badShare.keyShares[0][5] ^= 1;
  const starts: [number, number][] = [];
  const unlocked = await unlock(object.header, { tag: TAG, password: PASSWORD });
  const opened = await openUnlocked(
    unlocked,
    [source(badShare, 1), source(object, 2, { manifest: new Uint8Array(object.manifest.length) })],
    [],
    [spare(object, 3, starts), spare(object, 4, starts)],
  );
  assert(sameBytes(await new Response(opened.plaintext).bytes(), data));
  assertEquals(starts, [[3, 0], [4, 0]]);
  assertEquals(opened.rejections.map((r) => [r.index, r.reason]).sort(), [
    [1, "key-share-invalid"],
    [2, "manifest-invalid"],
  ]);
});

Deno.test("a spare that lies is rejected and the next one is tried", async () => {
  const data = prng(5004).bytes(4 * S);
  const object = await sealToMemory(data, { k: 2, n: 4 });
  const liar = cloneObject(object);
  liar.keyShares[2][0] ^= 1;
  const damaged = cloneObject(object);
  damaged.frames[1][2][0] ^= 1;
  const starts: [number, number][] = [];
  const unlocked = await unlock(object.header, { tag: TAG, password: PASSWORD });
  const opened = await openUnlocked(
    unlocked,
    [source(object, 1), source(damaged, 2)],
    [],
    [spare(liar, 3, starts), spare(object, 4, starts)],
  );
  assert(sameBytes(await new Response(opened.plaintext).bytes(), data));
  assertEquals(starts, [[3, 2], [4, 2]]);
  assertEquals(opened.rejections.map((r) => [r.index, r.reason]), [
    [2, "fragment-invalid"],
    [3, "key-share-invalid"],
  ]);
});

Deno.test("when spares run out the stream fails naming every rejected index", async () => {
  const object = await sealToMemory(prng(5005).bytes(3 * S), { k: 2, n: 3 });
  const damaged = cloneObject(object);
  damaged.frames[0][1][0] ^= 1;
  damaged.frames[2][1][0] ^= 1;
  const starts: [number, number][] = [];
  const error = await assertRejects(
    () => openWithSpares(damaged, [1, 2], [spare(damaged, 3, starts)]),
    NotEnoughSharesError,
  );
  assertEquals(error.rejections.map((r) => [r.index, r.segment]), [[1, 1], [3, 1]]);
  assertEquals(starts, [[3, 1]]);
});

/** A source for `index` whose stream delivers `segments` frames, then stalls until cancelled. */
function stalling(object: MemoryObject, index: number, segments: number) {
  let cancelled = false;
  const body = concat(object.keyShares[index - 1], ...object.frames[index - 1].slice(0, segments));
  const shares = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(body);
    },
    pull: () => new Promise<void>(() => {}), // never more, never an end
    cancel() {
      cancelled = true;
    },
  });
  return {
    source: { index, header: object.header, manifest: object.manifest, shares },
    cancelled: () => cancelled,
  };
}

Deno.test("a share that stalls mid-stream is swapped for a spare after the straggler time", async () => {
  const data = prng(5011).bytes(5 * S + 3);
  const object = await sealToMemory(data, { k: 3, n: 5 });
  const starts: [number, number][] = [];
  const unlocked = await unlock(object.header, { tag: TAG, password: PASSWORD });
  const staller = stalling(object, 2, 2);
  const members = [source(object, 1), staller.source, source(object, 3)];
  const opened = await openUnlocked(unlocked, members, [], [spare(object, 4, starts)], {
    stragglerMs: 50,
    stallMs: 60_000,
  });
  assert(sameBytes(await new Response(opened.plaintext).bytes(), data));
  assertEquals(starts, [[4, 2]]);
  assertEquals(opened.rejections.map((r) => [r.index, r.reason, r.segment]), [[2, "slow", 2]]);
  assert(staller.cancelled(), "the slow share's stream was cancelled");
});

Deno.test("with no spare, a stalled share is waited for until the stall time, then named", async () => {
  const data = prng(5012).bytes(4 * S);
  const object = await sealToMemory(data, { k: 2, n: 3 });
  const unlocked = await unlock(object.header, { tag: TAG, password: PASSWORD });
  const staller = stalling(object, 1, 1);
  const opened = await openUnlocked(unlocked, [staller.source, source(object, 2)], [], [], {
    stragglerMs: 20,
    stallMs: 100,
  });
  const error = await assertRejects(() => new Response(opened.plaintext).bytes());
  assert(error instanceof NotEnoughSharesError, String(error));
  assertEquals(error.rejections.map((r) => [r.index, r.reason, r.segment]), [[1, "slow", 1]]);
  assert(staller.cancelled(), "the slow share's stream was cancelled");
});

Deno.test("a share slower than the straggler time but within the stall time is still used when no spare is left", async () => {
  const data = prng(5013).bytes(3 * S);
  const object = await sealToMemory(data, { k: 2, n: 2 });
  const unlocked = await unlock(object.header, { tag: TAG, password: PASSWORD });
  const body = concat(object.keyShares[0], ...object.frames[0]);
  let delivered = false;
  const late = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (delivered) return controller.close();
      await new Promise((resolve) => setTimeout(resolve, 150));
      delivered = true;
      controller.enqueue(body);
    },
  });
  const members = [
    { index: 1, header: object.header, manifest: object.manifest, shares: late },
    source(object, 2),
  ];
  const opened = await openUnlocked(unlocked, members, [], [], { stragglerMs: 20, stallMs: 5000 });
  assert(sameBytes(await new Response(opened.plaintext).bytes(), data));
  assertEquals(opened.rejections, []);
});
