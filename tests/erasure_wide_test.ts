/**
 * The erasure code on fragments large enough for its 16-bit product tables
 * (64 KiB and more), and past the number of such tables a coder builds,
 * against a reference written here from the definition in core/erasure.ts:
 * parity row r, column c is 1 / ((k + r) xor c) in GF(2^8) with x^8 + x^4 +
 * x^3 + x^2 + 1. The reference multiplies bit by bit; it shares no table with
 * the implementation.
 */

import { ErasureCoder, fragmentLength, MAX_WIDE_TABLES } from "../core/erasure.ts";
import { assert, assertEquals } from "./assert.ts";
import { prng } from "./prng.ts";
import { slowInv, slowMul } from "./references.ts";

/** All products, built from slowMul (so a fragment of 100 KiB stays quick). */
const PRODUCTS = Uint8Array.from({ length: 65536 }, (_, i) => slowMul(i >> 8, i & 255));

/** The n fragments of `data` by the definition. */
function referenceEncode(data: Uint8Array, k: number, n: number): Uint8Array[] {
  const size = 4 * Math.ceil(data.length / (4 * k));
  const padded = new Uint8Array(k * size);
  padded.set(data);
  const fragments = Array.from({ length: k }, (_, c) => padded.slice(c * size, (c + 1) * size));
  for (let r = 0; r < n - k; r++) {
    const parity = new Uint8Array(size);
    for (let c = 0; c < k; c++) {
      const row = slowInv((k + r) ^ c) * 256;
      const source = fragments[c];
      for (let i = 0; i < size; i++) parity[i] ^= PRODUCTS[row + source[i]];
    }
    fragments.push(parity);
  }
  return fragments;
}

Deno.test("erasure: fragments of 64 KiB and more code as the definition says, and decode back", () => {
  // k = 10, n = 20 has 100 parity coefficients: most of them past the 16-bit tables a coder builds.
  assert(10 * 10 > MAX_WIDE_TABLES, "the last case must go past the table limit");
  for (const [k, n, length] of [[3, 5, 3 * 65536 + 13], [5, 9, 5 * 81920], [10, 20, 10 * 65536]]) {
    const seed = k * 1000 + n;
    const rng = prng(seed);
    const data = rng.bytes(length);
    const coder = new ErasureCoder(k, n);
    const fragments = coder.encode(data);
    const ctx = `seed=${seed} k=${k} n=${n}`;
    assert(fragmentLength(length, k) >= 65536, `${ctx}: fragments large enough`);
    assertEquals(fragments, referenceEncode(data, k, n), ctx);
    // Drop n − k fragments, data fragments first (the most decoding work): k or more stay.
    const present: (Uint8Array | undefined)[] = [...fragments];
    for (let i = 0; i < n - k; i++) present[i < k ? i : rng.int(0, n - 1)] = undefined;
    assertEquals(coder.decode(present, length), data, `${ctx}: decoded`);
  }
});
