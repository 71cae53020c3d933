/** Shamir key shares of the 32-byte share key: split, combine, and the checks on x coordinates. */

import {
  combineKeyShares,
  KEY_SHARE_LENGTH,
  keyShareAt,
  SHARE_KEY_LENGTH,
  splitShareKey,
} from "../core/key_shares.ts";
import { assert, assertEquals, assertRejects } from "./assert.ts";
import { type Prng, prng } from "./prng.ts";

function pick<T>(rng: Prng, items: readonly T[], count: number): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [copy[i], copy[j]] = [copy[j], copy[i]];
  }
  return copy.slice(0, count);
}

function checkShapes(shares: Uint8Array[], n: number, ctx: string): void {
  assertEquals(shares.length, n, ctx);
  const xs = new Set<number>();
  for (const share of shares) {
    assertEquals(share.length, KEY_SHARE_LENGTH, ctx);
    const x = share[SHARE_KEY_LENGTH];
    assert(x >= 1 && x <= 255 && !xs.has(x), `bad or repeated x=${x} ${ctx}`);
    xs.add(x);
  }
}

Deno.test("key_shares: random (k, n): any k shares in any order rebuild the key", async () => {
  const seed = 0x5a;
  const rng = prng(seed);
  assertEquals([SHARE_KEY_LENGTH, KEY_SHARE_LENGTH], [32, 33]);
  for (let trial = 0; trial < 40; trial++) {
    const n = rng.int(2, 24);
    const k = rng.int(2, n);
    const key = rng.bytes(32);
    const ctx = `seed=${seed} trial=${trial} k=${k} n=${n}`;
    const shares = await splitShareKey(key, k, n);
    checkShapes(shares, n, ctx);
    for (let sample = 0; sample < 4; sample++) {
      const chosen = pick(rng, shares, k);
      assertEquals(await combineKeyShares(chosen, k), key, ctx);
    }
    // k − 1 shares interpolated as if the threshold were k − 1 give some other value.
    if (k > 2) {
      const fewer = await combineKeyShares(pick(rng, shares, k - 1), k - 1);
      assert(fewer.some((b, i) => b !== key[i]), `k-1 shares revealed the key ${ctx}`);
    }
  }
});

Deno.test("key_shares: exhaustive over every k-subset for n = 6", async () => {
  const key = prng(6).bytes(32);
  for (let k = 1; k <= 6; k++) {
    const shares = await splitShareKey(key, k, 6);
    checkShapes(shares, 6, `k=${k}`);
    let subsets = 0;
    for (let mask = 0; mask < 64; mask++) {
      const chosen = shares.filter((_, i) => mask & (1 << i));
      if (chosen.length !== k) continue;
      subsets++;
      assertEquals(await combineKeyShares(chosen, k), key, `k=${k} mask=${mask.toString(2)}`);
      assertEquals(await combineKeyShares(chosen.reverse(), k), key, `reversed k=${k}`);
    }
    assert(subsets > 0);
  }
});

Deno.test("key_shares: k = 1 gives the key itself with x = index, and each share opens", async () => {
  const key = prng(1).bytes(32);
  for (const n of [1, 2, 7, 255]) {
    const shares = await splitShareKey(key, 1, n);
    checkShapes(shares, n, `n=${n}`);
    for (let i = 0; i < n; i++) {
      assertEquals(shares[i].subarray(0, 32), key, `n=${n} i=${i}`);
      assertEquals(shares[i][32], i + 1);
      const rebuilt = await combineKeyShares([shares[i]], 1);
      assertEquals(rebuilt, key);
      rebuilt[0] ^= 1; // the result is a copy, not a view of the share
      assertEquals(shares[i].subarray(0, 32), key);
    }
  }
});

Deno.test("key_shares: k = n = 255 (sampled orders)", async () => {
  const seed = 255;
  const rng = prng(seed);
  const key = rng.bytes(32);
  const shares = await splitShareKey(key, 255, 255);
  checkShapes(shares, 255, "k=n=255");
  assertEquals(new Set(shares.map((s) => s[32])).size, 255);
  for (let sample = 0; sample < 2; sample++) {
    assertEquals(
      await combineKeyShares(pick(rng, shares, 255), 255),
      key,
      `seed=${seed} sample=${sample}`,
    );
  }
  await assertRejects(() => combineKeyShares(shares.slice(0, 254), 255), RangeError, "exactly 255");
  // 255 shares with threshold 254 can be split too, and 254 of them rebuild.
  const shares254 = await splitShareKey(key, 254, 255);
  assertEquals(await combineKeyShares(pick(rng, shares254, 254), 254), key);
});

Deno.test("key_shares: x coordinates, lengths and counts are validated", async () => {
  const key = prng(7).bytes(32);
  const shares = await splitShareKey(key, 3, 5);
  const [a, b, c] = shares;
  const withX = (share: Uint8Array, x: number) => {
    const copy = share.slice();
    copy[32] = x;
    return copy;
  };
  // Duplicate x: the same share twice, or another share relabelled.
  await assertRejects(() => combineKeyShares([a, a, b], 3), RangeError, "repeated x coordinate");
  await assertRejects(() => combineKeyShares([a, b, withX(c, a[32])], 3), RangeError, "repeated");
  // x = 0 would be the secret itself.
  await assertRejects(() => combineKeyShares([a, b, withX(c, 0)], 3), RangeError, "x coordinate 0");
  await assertRejects(() => combineKeyShares([withX(a, 0)], 1), RangeError, "x coordinate 0");
  // Wrong lengths.
  await assertRejects(
    () => combineKeyShares([a, b, c.subarray(0, 32)], 3),
    RangeError,
    "wrong length",
  );
  const long = new Uint8Array(34);
  long.set(c);
  await assertRejects(() => combineKeyShares([a, b, long], 3), RangeError, "wrong length");
  await assertRejects(() => combineKeyShares([new Uint8Array(0)], 1), RangeError, "wrong length");
  // Wrong counts.
  await assertRejects(() => combineKeyShares([a, b], 3), RangeError, "need exactly 3");
  await assertRejects(
    () => combineKeyShares([a, b, c, shares[3]], 3),
    RangeError,
    "need exactly 3",
  );
  await assertRejects(() => combineKeyShares([], 1), RangeError, "need exactly 1");
  // The valid triple still works after all that.
  assertEquals(await combineKeyShares([c, a, b], 3), key);
  // The share key must be 32 bytes.
  await assertRejects(() => splitShareKey(new Uint8Array(31), 2, 3), RangeError, "32 bytes");
  await assertRejects(() => splitShareKey(new Uint8Array(33), 1, 3), RangeError, "32 bytes");
});

Deno.test("keyShareAt rebuilds every lost share exactly from any k others (random k, n)", async () => {
  const rng = prng(0x5eed10);
  for (let round = 0; round < 40; round++) {
    const n = rng.int(1, 12);
    const k = rng.int(1, n);
    const key = rng.bytes(SHARE_KEY_LENGTH);
    const shares = await splitShareKey(key, k, n);
    for (let lost = 0; lost < n; lost++) {
      const others = pick(rng, shares.filter((_, i) => i !== lost), k);
      if (others.length < k) continue;
      const x = shares[lost][SHARE_KEY_LENGTH];
      const rebuilt = await keyShareAt(others, k, x);
      assertEquals(rebuilt, shares[lost], `k=${k} n=${n} lost=${lost + 1}`);
    }
  }
});

Deno.test("keyShareAt refuses an x that is among the shares, and out-of-range x", async () => {
  const shares = await splitShareKey(new Uint8Array(SHARE_KEY_LENGTH).fill(7), 2, 3);
  await assertRejects(() => keyShareAt(shares.slice(0, 2), 2, shares[0][SHARE_KEY_LENGTH]));
  await assertRejects(() => keyShareAt(shares.slice(0, 2), 2, 0));
  await assertRejects(() => keyShareAt(shares.slice(0, 2), 2, 256));
  // A wrong x gives a share that is not the lost one (it lies on the polynomial elsewhere).
  const lostX = shares[2][SHARE_KEY_LENGTH];
  const otherX = [...Array(255).keys()].map((i) => i + 1)
    .find((x) => !shares.some((s) => s[SHARE_KEY_LENGTH] === x))!;
  assert(otherX !== lostX);
  const wrong = await keyShareAt(shares.slice(0, 2), 2, otherX);
  assert(wrong.some((byte, i) => byte !== shares[2][i]));
});
