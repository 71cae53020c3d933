/**
 * Property tests of the whole pipeline: random k ≤ n and sizes, every sampled
 * k-subset reconstructs exactly, k − 1 never does, and up to n − k bad
 * indices are survived and named.
 */

import { NotEnoughSharesError, type Rejection } from "../mod.ts";
import { assert, assertEquals, assertRejects } from "./assert.ts";
import { type Prng, prng } from "./prng.ts";
import {
  cloneObject,
  type MemoryObject,
  openAll,
  sameBytes,
  sealToMemory,
  shareBody,
  source,
} from "./objects.ts";

const S = 65536;
const SIZES = [0, 1, S - 1, S, S + 1, 3 * 2 ** 20 + 17];

/** A random k-subset of 1..n, sorted. */
function subset(random: Prng, n: number, k: number): number[] {
  const all = Array.from({ length: n }, (_, i) => i + 1);
  for (let i = n - 1; i > 0; i--) {
    const j = random.int(0, i);
    [all[i], all[j]] = [all[j], all[i]];
  }
  return all.slice(0, k).sort((a, b) => a - b);
}

function configs(seed: number): { k: number; n: number }[] {
  const random = prng(seed);
  const list = [{ k: 1, n: 1 }, { k: 1, n: 2 }, { k: 2, n: 2 }, { k: 3, n: 5 }];
  for (let i = 0; i < 4; i++) {
    const n = random.int(2, 12);
    list.push({ k: random.int(1, n), n });
  }
  return list;
}

Deno.test("every sampled k-subset reconstructs exactly, for random k ≤ n and edge sizes", async () => {
  const seed = 1001;
  const random = prng(seed);
  for (const { k, n } of configs(seed)) {
    for (const size of SIZES) {
      const data = random.bytes(size);
      const object = await sealToMemory(data, { k, n }, random.int(1, 200_000));
      for (let trial = 0; trial < 3; trial++) {
        const chosen = subset(random, n, k);
        const { plaintext, rejections } = await openAll(chosen.map((i) => source(object, i)));
        assert(sameBytes(plaintext, data), `seed ${seed} k=${k} n=${n} size=${size} ${chosen}`);
        assertEquals(rejections, []);
      }
    }
  }
});

Deno.test("n = 255: random k-subsets reconstruct, k − 1 do not", async () => {
  const seed = 1002;
  const random = prng(seed);
  for (const k of [1, 2, 128, 255]) {
    const data = random.bytes(2 * S + 5);
    const object = await sealToMemory(data, { k, n: 255 });
    for (let trial = 0; trial < 2; trial++) {
      const chosen = subset(random, 255, k);
      const { plaintext } = await openAll(chosen.map((i) => source(object, i)));
      assert(sameBytes(plaintext, data), `seed ${seed} k=${k} subset ${chosen}`);
    }
    if (k > 1) {
      const error = await assertRejects(
        () => openAll(subset(random, 255, k - 1).map((i) => source(object, i))),
        NotEnoughSharesError,
      );
      assertEquals([error.needed, error.found], [k, k - 1]);
    }
  }
});

Deno.test("k − 1 shares fail with NotEnoughSharesError naming the count", async () => {
  const seed = 1003;
  const random = prng(seed);
  for (const { k, n } of configs(seed).filter((c) => c.k > 1)) {
    const object = await sealToMemory(random.bytes(S + 3), { k, n });
    const chosen = subset(random, n, k - 1);
    const error = await assertRejects(
      () => openAll(chosen.map((i) => source(object, i))),
      NotEnoughSharesError,
      `found ${k - 1} of ${k} needed shares`,
    );
    assertEquals(error.found, k - 1);
  }
});

type Damage = "flip-fragment" | "flip-key-share" | "flip-manifest" | "flip-header" | "truncate";
const DAMAGE: Damage[] = [
  "flip-fragment",
  "flip-key-share",
  "flip-manifest",
  "flip-header",
  "truncate",
];
const EXPECTED: Record<Damage, Rejection["reason"][]> = {
  "flip-fragment": ["fragment-invalid"],
  "flip-key-share": ["key-share-invalid"],
  "flip-manifest": ["manifest-invalid"],
  "flip-header": ["header-mismatch", "header-invalid"],
  "truncate": ["truncated"],
};

/** The source of `index`, damaged as `damage` says. */
function damaged(
  object: MemoryObject,
  index: number,
  damage: Damage,
  random: Prng,
) {
  const copy = cloneObject(object);
  const flip = (bytes: Uint8Array) =>
    bytes[random.int(0, bytes.length - 1)] ^= 1 << random.int(0, 7);
  switch (damage) {
    case "flip-fragment":
      flip(copy.frames[index - 1][random.int(0, copy.frames[index - 1].length - 1)]);
      return source(copy, index);
    case "flip-key-share":
      flip(copy.keyShares[index - 1]);
      return source(copy, index);
    case "flip-manifest":
      flip(copy.manifest);
      return source(copy, index);
    case "flip-header":
      flip(copy.header);
      return source(copy, index);
    case "truncate": {
      const body = shareBody(object, index);
      return source(object, index, { body: body.subarray(0, random.int(0, body.length - 1)) });
    }
  }
}

Deno.test("up to n − k damaged indices are survived and each is named with its fault", async () => {
  const seed = 1004;
  const random = prng(seed);
  for (const { k, n } of [{ k: 2, n: 5 }, { k: 3, n: 5 }, { k: 1, n: 3 }, { k: 4, n: 7 }]) {
    const data = random.bytes(3 * S + 100);
    const object = await sealToMemory(data, { k, n });
    for (let trial = 0; trial < 4; trial++) {
      const bad = subset(random, n, random.int(1, n - k));
      const kinds = new Map(bad.map((i) => [i, DAMAGE[random.int(0, DAMAGE.length - 1)]]));
      const sources = Array.from({ length: n }, (_, i) => i + 1).map((i) =>
        kinds.has(i) ? damaged(object, i, kinds.get(i)!, random) : source(object, i)
      );
      const context = `seed ${seed} k=${k} n=${n} damage ${JSON.stringify([...kinds])}`;
      const { plaintext, rejections } = await openAll(sources);
      assert(sameBytes(plaintext, data), context);
      assertEquals(rejections.map((r) => r.index).sort((a, b) => a - b), bad, context);
      for (const rejection of rejections) {
        const damage = kinds.get(rejection.index)!;
        assert(EXPECTED[damage].includes(rejection.reason), `${context}: ${rejection.reason}`);
      }
    }
  }
});

Deno.test("n − k + 1 damaged indices fail, naming every damaged index", async () => {
  const seed = 1005;
  const random = prng(seed);
  const k = 3, n = 5;
  const object = await sealToMemory(random.bytes(2 * S), { k, n });
  for (let trial = 0; trial < 4; trial++) {
    const bad = subset(random, n, n - k + 1);
    const sources = Array.from({ length: n }, (_, i) => i + 1).map((i) =>
      bad.includes(i)
        ? damaged(object, i, DAMAGE[trial % DAMAGE.length], random)
        : source(object, i)
    );
    const error = await assertRejects(() => openAll(sources), NotEnoughSharesError);
    const named = error.rejections.map((r) => r.index).sort((a, b) => a - b);
    assertEquals(named, bad, `seed ${seed} trial ${trial}`);
  }
});
