/**
 * Tampering: every single flipped byte is caught and blamed on the right
 * index; truncation, reordering, swapping between objects, a wrong tag and a
 * wrong password each fail with their own error.
 */

import {
  KdfLimitError,
  NotEnoughSharesError,
  type Rejection,
  WrongPasswordError,
  WrongTagError,
} from "../mod.ts";
import { assert, assertEquals, assertRejects } from "./assert.ts";
import { prng } from "./prng.ts";
import {
  cloneObject,
  type MemoryObject,
  openAll,
  sameBytes,
  sealToMemory,
  shareBody,
  source,
} from "./objects.ts";
import { concat } from "../core/bytes.ts";

const S = 65536;
const masterKeys = new Map<string, Promise<Uint8Array>>();

/** Every (part, position) of index `index` that a single flip can hit. */
function positions(object: MemoryObject, index: number) {
  const parts: { name: string; bytes: (o: MemoryObject) => Uint8Array; segment?: number }[] = [
    { name: "header", bytes: (o) => o.header },
    { name: "manifest", bytes: (o) => o.manifest },
    { name: "key share", bytes: (o) => o.keyShares[index - 1] },
    ...object.frames[index - 1].map((_, j) => ({
      name: `frame ${j}`,
      bytes: (o: MemoryObject) => o.frames[index - 1][j],
      segment: j,
    })),
  ];
  // Every byte of the small parts; the ends and a sample of each large frame.
  const random = prng(index);
  return parts.flatMap((part) => {
    const length = part.bytes(object).length;
    const all = Array.from({ length }, (_, position) => position);
    const picked = length <= 400 ? all : [
      ...all.slice(0, 100),
      ...all.slice(-100),
      ...all.map(() => random.int(0, length - 1))
        .slice(0, 100),
    ];
    return picked.map((position) => ({ ...part, position }));
  });
}

const ALLOWED: Record<string, Rejection["reason"][]> = {
  "header": ["header-mismatch", "header-invalid"],
  "manifest": ["manifest-invalid"],
  "key share": ["key-share-invalid"],
  "frame": ["fragment-invalid"],
};

Deno.test("every single flipped byte of one index is caught and blamed on that index", async () => {
  const random = prng(2001);
  const data = random.bytes(S + 10);
  const object = await sealToMemory(data, { k: 2, n: 3 });
  const index = 2;
  let tried = 0;
  for (const spot of positions(object, index)) {
    const copy = cloneObject(object);
    spot.bytes(copy)[spot.position] ^= 1 << random.int(0, 7);
    // The header and manifest flips apply to index 2's copy only.
    const sources = [1, 2, 3].map((i) => i === index ? source(copy, i) : source(object, i));
    const context = `${spot.name} byte ${spot.position}`;
    const { plaintext, rejections } = await openAll(sources, { masterKeys });
    assert(sameBytes(plaintext, data), context);
    assertEquals(rejections.length, 1, context);
    assertEquals(rejections[0].index, index, context);
    const allowed = ALLOWED[spot.name.startsWith("frame") ? "frame" : spot.name];
    assert(allowed.includes(rejections[0].reason), `${context}: ${rejections[0].reason}`);
    if (spot.segment !== undefined) assertEquals(rejections[0].segment, spot.segment, context);
    tried++;
  }
  assert(tried > 300, `only ${tried} positions`);
});

Deno.test("with k = n a flipped byte makes the object unrecoverable and names the index", async () => {
  const random = prng(2002);
  const object = await sealToMemory(random.bytes(100), { k: 2, n: 2 });
  const spots = positions(object, 1);
  for (let trial = 0; trial < 40; trial++) {
    const spot = spots[random.int(0, spots.length - 1)];
    const copy = cloneObject(object);
    spot.bytes(copy)[spot.position] ^= 0x80;
    const error = await assertRejects(
      () => openAll([source(copy, 1), source(object, 2)], { masterKeys }),
      NotEnoughSharesError,
    );
    assertEquals(error.rejections.map((r) => r.index), [1], `${spot.name} ${spot.position}`);
  }
});

/** Opens an object whose every share stream went through `edit`. */
function editAll(
  object: MemoryObject,
  edit: (frames: Uint8Array[], index: number) => Uint8Array[],
) {
  return object.frames.map((frames, i) =>
    source(object, i + 1, { body: concat(object.keyShares[i], ...edit(frames, i + 1)) })
  );
}

Deno.test("truncation: dropping the last segment everywhere fails as truncated", async () => {
  const object = await sealToMemory(prng(2003).bytes(3 * S), { k: 2, n: 3 });
  const error = await assertRejects(
    () => openAll(editAll(object, (frames) => frames.slice(0, -1)), { masterKeys }),
    NotEnoughSharesError,
  );
  assertEquals(error.rejections.map((r) => r.reason), ["truncated", "truncated", "truncated"]);
  assertEquals(error.rejections.map((r) => r.segment), [2, 2, 2]);
});

Deno.test("truncation inside a frame and inside the key share are named", async () => {
  const object = await sealToMemory(prng(2004).bytes(2 * S), { k: 2, n: 3 });
  const body1 = shareBody(object, 1);
  const error = await assertRejects(
    () =>
      openAll([
        source(object, 1, { body: body1.subarray(0, body1.length - 1) }),
        source(object, 2, { body: shareBody(object, 2).subarray(0, 20) }),
        source(object, 3),
      ], { masterKeys }),
    NotEnoughSharesError,
    "found 1 of 2 needed shares",
  );
  const byIndex = [...error.rejections].sort((a, b) => a.index - b.index);
  assertEquals(byIndex.map((r) => [r.index, r.reason, r.segment]), [
    [1, "truncated", 1],
    [2, "truncated", undefined],
  ]);
});

Deno.test("reordering: swapped segments are reported as out of order", async () => {
  const object = await sealToMemory(prng(2005).bytes(3 * S), { k: 2, n: 3 });
  const error = await assertRejects(
    () => openAll(editAll(object, ([a, b, c]) => [b, a, c]), { masterKeys }),
    NotEnoughSharesError,
  );
  assertEquals(error.rejections.map((r) => [r.reason, r.segment]), [
    ["fragment-out-of-order", 0],
    ["fragment-out-of-order", 0],
    ["fragment-out-of-order", 0],
  ]);
});

Deno.test("swapping a segment in from another object fails authentication", async () => {
  const random = prng(2006);
  const a = await sealToMemory(random.bytes(3 * S), { k: 2, n: 3 });
  const b = await sealToMemory(random.bytes(3 * S), { k: 2, n: 3 });
  const error = await assertRejects(
    () =>
      openAll(editAll(a, (frames, index) => [frames[0], b.frames[index - 1][1], frames[2]]), {
        masterKeys,
      }),
    NotEnoughSharesError,
  );
  assertEquals(error.rejections.map((r) => [r.reason, r.segment]), [
    ["fragment-invalid", 1],
    ["fragment-invalid", 1],
    ["fragment-invalid", 1],
  ]);
});

Deno.test("a whole share of another object is a header mismatch", async () => {
  const random = prng(2007);
  const data = random.bytes(S);
  const a = await sealToMemory(data, { k: 2, n: 3 });
  const b = await sealToMemory(random.bytes(S), { k: 2, n: 3 });
  const { plaintext, rejections } = await openAll(
    [source(a, 1), source(b, 2), source(a, 3)],
    { masterKeys },
  );
  assert(sameBytes(plaintext, data));
  assertEquals(rejections.map((r) => [r.index, r.reason]), [[2, "header-mismatch"]]);
});

Deno.test("wrong tag and wrong password fail with their own errors", async () => {
  const object = await sealToMemory(prng(2008).bytes(10), { k: 2, n: 3 });
  const sources = () => [1, 2, 3].map((i) => source(object, i));
  await assertRejects(() => openAll(sources(), { tag: "/other" }), WrongTagError, "/test/object");
  await assertRejects(() => openAll(sources(), { password: "not it" }), WrongPasswordError);
  const { plaintext } = await openAll(sources());
  assertEquals(plaintext.length, 10);
});

Deno.test("a work factor above the cap is refused before any scrypt", async () => {
  const object = await sealToMemory(new Uint8Array(5), { k: 1, n: 1, logN: 12 });
  const error = await assertRejects(
    () => openAll([source(object, 1)], { maxLogN: 11 }),
    KdfLimitError,
  );
  assertEquals([error.logN, error.maxLogN], [12, 11]);
  assertEquals((await openAll([source(object, 1)], { maxLogN: 12 })).plaintext.length, 5);
});

Deno.test("trailing bytes after the last fragment are named; the output is still right", async () => {
  const data = prng(2009).bytes(S + 1);
  const object = await sealToMemory(data, { k: 2, n: 3 });
  const { plaintext, rejections } = await openAll([
    source(object, 1, { body: concat(shareBody(object, 1), new Uint8Array([0])) }),
    source(object, 2),
  ], { masterKeys });
  assert(sameBytes(plaintext, data));
  assertEquals(rejections.map((r) => [r.index, r.reason]), [[1, "trailing-data"]]);
});

Deno.test("duplicate and out-of-range indices are rejected, not trusted", async () => {
  const data = prng(2010).bytes(100);
  const object = await sealToMemory(data, { k: 2, n: 3 });
  const { plaintext, rejections } = await openAll([
    source(object, 1),
    source(object, 1),
    { ...source(object, 3), index: 0 },
    { ...source(object, 3), index: 4 },
    source(object, 2),
  ], { masterKeys });
  assert(sameBytes(plaintext, data));
  assertEquals(rejections.map((r) => [r.index, r.reason]), [
    [1, "duplicate-index"],
    [0, "index-out-of-range"],
    [4, "index-out-of-range"],
  ]);
});

Deno.test("a share stream that errors is rejected with its error", async () => {
  const data = prng(2011).bytes(2 * S);
  const object = await sealToMemory(data, { k: 2, n: 3 });
  const body = shareBody(object, 2);
  const failing = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(body.subarray(0, 1000));
      controller.error(new Error("connection lost"));
    },
  });
  const { plaintext, rejections } = await openAll([
    source(object, 1),
    { ...source(object, 2), shares: failing },
    source(object, 3),
  ], { masterKeys });
  assert(sameBytes(plaintext, data));
  assertEquals(rejections.map((r) => [r.index, r.reason]), [[2, "stream-error"]]);
  assert(rejections[0].detail.includes("connection lost"));
});

Deno.test("no readable header at all is reported as such", async () => {
  const object = await sealToMemory(new Uint8Array(3), { k: 1, n: 2 });
  const junk = new Uint8Array(50);
  const error = await assertRejects(
    () => openAll([1, 2].map((i) => source(object, i, { header: junk }))),
    NotEnoughSharesError,
    "no share with a readable header",
  );
  assertEquals(error.rejections.map((r) => r.reason), ["header-invalid", "header-invalid"]);
});
