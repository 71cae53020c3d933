/**
 * GF(2^8) arithmetic and the systematic Reed-Solomon (Cauchy) erasure code,
 * checked against slow reference implementations written here.
 */

import { inv, invertMatrix, mul, MUL_TABLE } from "../core/gf256.ts";
import { ErasureCoder, fragmentLength, MAX_FRAGMENTS } from "../core/erasure.ts";
import { assert, assertEquals, assertThrows } from "./assert.ts";
import { prng } from "./prng.ts";
import { slowInv, slowMul } from "./references.ts";

// ---- slow, obviously-correct references ------------------------------------

/** Product of two size×size row-major matrices with the reference multiply. */
function matMul(a: Uint8Array, b: Uint8Array, size: number): Uint8Array {
  const out = new Uint8Array(size * size);
  for (let i = 0; i < size; i++) {
    for (let j = 0; j < size; j++) {
      let sum = 0;
      for (let t = 0; t < size; t++) sum ^= slowMul(a[i * size + t], b[t * size + j]);
      out[i * size + j] = sum;
    }
  }
  return out;
}

function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function fromHex(hex: string): Uint8Array {
  return Uint8Array.from(hex.match(/../g) ?? [], (h) => parseInt(h, 16));
}

function identity(size: number): Uint8Array {
  const out = new Uint8Array(size * size);
  for (let i = 0; i < size; i++) out[i * size + i] = 1;
  return out;
}

/** Rank by plain elimination with the reference arithmetic. */
function rank(matrix: Uint8Array, size: number): number {
  const m = matrix.slice();
  let r = 0;
  for (let col = 0; col < size && r < size; col++) {
    let p = r;
    while (p < size && m[p * size + col] === 0) p++;
    if (p === size) continue;
    for (let j = 0; j < size; j++) {
      [m[r * size + j], m[p * size + j]] = [m[p * size + j], m[r * size + j]];
    }
    const s = slowInv(m[r * size + col]);
    for (let row = 0; row < size; row++) {
      if (row === r || m[row * size + col] === 0) continue;
      const f = slowMul(m[row * size + col], s);
      for (let j = 0; j < size; j++) m[row * size + j] ^= slowMul(f, m[r * size + j]);
    }
    r++;
  }
  return r;
}

/** Reference encoder straight from the module doc: identity over C[r][c] = 1/((k+r) XOR c). */
function referenceEncode(data: Uint8Array, k: number, n: number): Uint8Array[] {
  const size = 4 * Math.ceil(data.length / (4 * k));
  const padded = new Uint8Array(k * size);
  padded.set(data);
  const out: Uint8Array[] = [];
  for (let i = 0; i < k; i++) out.push(padded.slice(i * size, (i + 1) * size));
  for (let r = 0; r < n - k; r++) {
    const parity = new Uint8Array(size);
    for (let c = 0; c < k; c++) {
      const coefficient = slowInv((k + r) ^ c);
      for (let j = 0; j < size; j++) parity[j] ^= slowMul(coefficient, out[c][j]);
    }
    out.push(parity);
  }
  return out;
}

/** Every k-subset of 0..n-1, in lexicographic order. */
function* subsets(n: number, k: number): Generator<number[]> {
  const pick = Array.from({ length: k }, (_, i) => i);
  while (true) {
    yield pick.slice();
    let i = k - 1;
    while (i >= 0 && pick[i] === n - k + i) i--;
    if (i < 0) return;
    pick[i]++;
    for (let j = i + 1; j < k; j++) pick[j] = pick[j - 1] + 1;
  }
}

/** A copy of `bytes` at byte offset 1 of its buffer, to defeat 4-byte alignment. */
function misaligned(bytes: Uint8Array): Uint8Array {
  const buffer = new Uint8Array(bytes.length + 1);
  buffer.set(bytes, 1);
  return buffer.subarray(1);
}

function lengthsFor(k: number): number[] {
  return [...new Set([0, 1, 3, 4, 5, 4 * k - 1, 4 * k, 4 * k + 1, 1000])].filter((x) => x >= 0);
}

// ---- GF(2^8) ---------------------------------------------------------------

Deno.test("gf256: mul equals the bitwise reference and MUL_TABLE on all 256x256 pairs", () => {
  for (let a = 0; a < 256; a++) {
    for (let b = 0; b < 256; b++) {
      const expected = slowMul(a, b);
      const got = mul(a, b);
      if (got !== expected) assertEquals(got, expected, `mul(${a}, ${b})`);
      if (MUL_TABLE[a * 256 + b] !== expected) {
        assertEquals(MUL_TABLE[a * 256 + b], expected, `MUL_TABLE[${a}][${b}]`);
      }
      if (got !== mul(b, a)) assertEquals(got, mul(b, a), `commutativity ${a}, ${b}`);
    }
  }
  assertEquals(MUL_TABLE.length, 65536);
});

Deno.test("gf256: identity, zero, associativity and distributivity", () => {
  const seed = 0x9f1;
  const rng = prng(seed);
  for (let a = 0; a < 256; a++) {
    assertEquals(mul(a, 1), a);
    assertEquals(mul(a, 0), 0);
    for (let b = 0; b < 256; b++) {
      const c = rng.int(0, 255);
      const ctx = `a=${a} b=${b} c=${c} seed=${seed}`;
      assert(mul(mul(a, b), c) === mul(a, mul(b, c)), `associativity ${ctx}`);
      assert(mul(a, b ^ c) === (mul(a, b) ^ mul(a, c)), `distributivity ${ctx}`);
    }
  }
});

Deno.test("gf256: every non-zero element has exactly one inverse, and inv finds it", () => {
  for (let a = 1; a < 256; a++) {
    const b = inv(a);
    assertEquals(mul(a, b), 1, `a=${a}`);
    assertEquals(b, slowInv(a), `a=${a}`);
    let count = 0;
    for (let x = 0; x < 256; x++) if (mul(a, x) === 1) count++;
    assertEquals(count, 1, `inverses of ${a}`);
  }
  assertEquals(inv(1), 1);
  assertEquals(inv(2), 0x8e); // 2 · 0x8e = 0x11c, reduced by 0x11d: 1
  assertEquals(inv(3), 0xf4); // 3 · 0xf4 = 0xf4 ^ 0xf5 = 1
  assertThrows(() => inv(0), RangeError, "zero");
});

Deno.test("gf256: invertMatrix gives a two-sided inverse on random matrices", () => {
  const seed = 0x1234;
  const rng = prng(seed);
  let inverted = 0;
  for (let trial = 0; trial < 300; trial++) {
    const size = rng.int(1, 12);
    const matrix = rng.bytes(size * size);
    if (trial % 3 === 0) matrix[rng.int(0, size * size - 1)] = 0; // more zeros, more pivoting
    const before = matrix.slice();
    const ctx = `seed=${seed} trial=${trial} size=${size}`;
    if (rank(matrix, size) < size) {
      assertThrows(() => invertMatrix(matrix, size), RangeError, "singular");
      continue;
    }
    const inverse = invertMatrix(matrix, size);
    inverted++;
    assertEquals(before, matrix, `input not modified ${ctx}`);
    assertEquals(matMul(matrix, inverse, size), identity(size), `M·M⁻¹ ${ctx}`);
    assertEquals(matMul(inverse, matrix, size), identity(size), `M⁻¹·M ${ctx}`);
  }
  assert(inverted > 250, `too few invertible samples: ${inverted}`);
  // Permutation matrices force row swaps.
  const perm = new Uint8Array([0, 1, 0, 0, 0, 1, 1, 0, 0]);
  assertEquals(matMul(perm, invertMatrix(perm, 3), 3), identity(3));
});

Deno.test("gf256: invertMatrix throws on singular matrices", () => {
  const seed = 77;
  const rng = prng(seed);
  assertThrows(() => invertMatrix(new Uint8Array([0]), 1), RangeError, "singular");
  assertThrows(() => invertMatrix(new Uint8Array(16), 4), RangeError, "singular");
  for (let trial = 0; trial < 50; trial++) {
    const size = rng.int(2, 10);
    const m = rng.bytes(size * size);
    const a = rng.int(0, size - 1);
    let b = rng.int(0, size - 2);
    if (b >= a) b++;
    const kind = trial % 3;
    const ctx = `seed=${seed} trial=${trial} kind=${kind}`;
    if (kind === 0) {
      for (let j = 0; j < size; j++) m[b * size + j] = m[a * size + j]; // repeated row
    } else if (kind === 1) {
      const c = rng.int(1, 255); // a row that is a multiple of another
      for (let j = 0; j < size; j++) m[b * size + j] = slowMul(c, m[a * size + j]);
    } else {
      for (let i = 0; i < size; i++) m[i * size + a] = 0; // zero column
    }
    assertThrows(() => invertMatrix(m, size), RangeError, "singular");
    assert(rank(m, size) < size, ctx);
  }
});

// ---- Reed-Solomon ----------------------------------------------------------

Deno.test("erasure: fragmentLength pads to a multiple of 4k", () => {
  assertEquals(fragmentLength(0, 1), 0);
  assertEquals(fragmentLength(1, 1), 4);
  assertEquals(fragmentLength(4, 1), 4);
  assertEquals(fragmentLength(5, 1), 8);
  assertEquals(fragmentLength(12, 2), 8);
  assertEquals(fragmentLength(13, 3), 8);
  assertEquals(fragmentLength(1000, 255), 4);
  assertEquals(fragmentLength(1021, 255), 8);
});

Deno.test("erasure: exhaustive over every k-subset for n ≤ 8 and many data lengths", () => {
  const seed = 0xec;
  const rng = prng(seed);
  let decodes = 0;
  for (let n = 1; n <= 8; n++) {
    for (let k = 1; k <= n; k++) {
      const coder = new ErasureCoder(k, n);
      assertEquals([coder.k, coder.n], [k, n]);
      for (const length of lengthsFor(k)) {
        const data = rng.bytes(length);
        const ctx = `seed=${seed} k=${k} n=${n} length=${length}`;
        const fragments = coder.encode(data);
        const size = fragmentLength(length, k);
        assertEquals(fragments.length, n, ctx);
        for (const f of fragments) assertEquals(f.length, size, ctx);
        assertEquals(fragments, referenceEncode(data, k, n), `encode vs reference ${ctx}`);
        const saved = fragments.map((f) => f.slice());
        for (const chosen of subsets(n, k)) {
          const slots: (Uint8Array | undefined)[] = new Array(n).fill(undefined);
          for (const i of chosen) {
            slots[i] = decodes % 2 === 0 ? fragments[i] : misaligned(fragments[i]);
          }
          const out = coder.decode(slots, length);
          decodes++;
          if (out.length !== length || out.some((b, i) => b !== data[i])) {
            assertEquals(out, data, `decode from [${chosen}] ${ctx}`);
          }
        }
        assertEquals(fragments, saved, `decode must not modify fragments ${ctx}`);
        assertEquals(coder.decode(fragments, length), data, `all present ${ctx}`);
      }
    }
  }
  assert(decodes > 4000, `only ${decodes} decodes`);
});

Deno.test("erasure: data fragments of the systematic code are the zero-padded input", () => {
  const seed = 5;
  const rng = prng(seed);
  for (const [k, n, length] of [[1, 3, 7], [3, 5, 13], [4, 4, 16], [7, 12, 101], [10, 255, 999]]) {
    const data = rng.bytes(length);
    const fragments = new ErasureCoder(k, n).encode(data);
    const size = fragmentLength(length, k);
    const padded = new Uint8Array(k * size);
    padded.set(data);
    for (let i = 0; i < k; i++) {
      assertEquals(fragments[i], padded.subarray(i * size, (i + 1) * size), `k=${k} n=${n} i=${i}`);
    }
  }
});

Deno.test("erasure: known answer for k=2, n=4 on a fixed 12-byte input", () => {
  const data = fromHex("0102030410204080fffe53ca");
  const fragments = new ErasureCoder(2, 4).encode(data);
  // Fragment length is 4·ceil(12/8) = 8; the second data fragment carries 4 zero bytes of padding.
  const d0 = data.slice(0, 8);
  const d1 = new Uint8Array([0xff, 0xfe, 0x53, 0xca, 0, 0, 0, 0]);
  assertEquals(fragments[0], d0);
  assertEquals(fragments[1], d1);
  // Parity row r, column c: 1/((k + r) XOR c); for k = 2: [[1/2, 1/3], [1/3, 1/2]].
  const coefficient = (r: number, c: number) => slowInv((2 + r) ^ c);
  const table = [coefficient(0, 0), coefficient(0, 1), coefficient(1, 0), coefficient(1, 1)];
  assertEquals(toHex(new Uint8Array(table)), "8ef4f48e");
  for (let r = 0; r < 2; r++) {
    const expected = new Uint8Array(8);
    for (let j = 0; j < 8; j++) {
      expected[j] = slowMul(coefficient(r, 0), d0[j]) ^ slowMul(coefficient(r, 1), d1[j]);
    }
    assertEquals(fragments[2 + r], expected, `parity row ${r}`);
  }
  // The same parity written out (from an independent Python reference). Where d1 is padding,
  // row 0 is d0 / 2: 0x10 / 2 = 0x08, 0x20 / 2 = 0x10, ...
  assertEquals(toHex(fragments[2]), "dba0be4408102040");
  assertEquals(toHex(fragments[3]), "058aa692fbebcb8b");
  assertEquals(
    new ErasureCoder(2, 4).decode([undefined, undefined, fragments[2], fragments[3]], 12),
    data,
  );
});

Deno.test("erasure: sampled k-subsets for n in {16, 50, 255}", () => {
  const seed = 0x5eed;
  const rng = prng(seed);
  for (const n of [16, 50, 255]) {
    const ks = [...new Set([1, 2, 3, rng.int(2, n), Math.floor(n / 2), n - 1, n])];
    for (const k of ks) {
      const coder = new ErasureCoder(k, n);
      const trials = k > 100 ? 6 : 15;
      for (let trial = 0; trial < trials; trial++) {
        const length = [0, 1, 4 * k - 1, 4 * k + 1, rng.int(0, 3000)][trial % 5];
        const data = rng.bytes(length);
        const fragments = coder.encode(data);
        // Shuffle indices; trial 0 takes the last k (as many parity fragments as possible).
        const order = Array.from({ length: n }, (_, i) => i);
        if (trial === 0) order.reverse();
        else {
          for (let i = n - 1; i > 0; i--) {
            const j = rng.int(0, i);
            [order[i], order[j]] = [order[j], order[i]];
          }
        }
        const chosen = order.slice(0, k).sort((a, b) => a - b);
        const slots: (Uint8Array | undefined)[] = new Array(n).fill(undefined);
        for (const i of chosen) slots[i] = fragments[i];
        const ctx = `seed=${seed} n=${n} k=${k} trial=${trial} length=${length} chosen=[${chosen}]`;
        assertEquals(coder.decode(slots, length), data, ctx);
      }
    }
  }
});

Deno.test("erasure: fewer than k fragments, wrong lengths and wrong slot counts throw", () => {
  const coder = new ErasureCoder(3, 6);
  const data = prng(1).bytes(50);
  const fragments = coder.encode(data);
  for (const chosen of [[], [0], [2, 5], [0, 1]]) {
    const slots: (Uint8Array | undefined)[] = new Array(6).fill(undefined);
    for (const i of chosen) slots[i] = fragments[i];
    assertThrows(
      () => coder.decode(slots, 50),
      RangeError,
      `need 3 fragments, have ${chosen.length}`,
    );
  }
  const short = [...fragments];
  short[4] = fragments[4].subarray(0, fragments[4].length - 1);
  assertThrows(
    () => coder.decode([undefined, undefined, ...short.slice(2)], 50),
    RangeError,
    "fragment 4",
  );
  const long = [...fragments];
  long[0] = new Uint8Array(fragments[0].length + 4);
  assertThrows(() => coder.decode(long, 50), RangeError, "fragment 0");
  // The lengths are checked against the data length given to decode (50 → 20-byte fragments).
  assertEquals(fragmentLength(50, 3), 20);
  assertThrows(() => coder.decode(fragments, 61), RangeError, "expected 24");
  assertThrows(() => coder.decode(fragments.slice(0, 5), 50), RangeError, "6 fragment slots");
  assertThrows(
    () => coder.decode([...fragments, fragments[0]], 50),
    RangeError,
    "6 fragment slots",
  );
});

Deno.test("erasure: invalid (k, n) are refused", () => {
  const bad = [[0, 1], [0, 0], [-1, 3], [3, 2], [2, 1], [1, 256], [256, 256], [1.5, 3]];
  bad.push([2, 3.5], [NaN, 3], [2, NaN], [2, Infinity]);
  for (const [k, n] of bad) {
    assertThrows(() => new ErasureCoder(k, n), RangeError, "invalid erasure");
  }
  assertEquals(MAX_FRAGMENTS, 255);
  assertEquals(new ErasureCoder(255, 255).n, 255);
  assertEquals(new ErasureCoder(1, 255).encode(new Uint8Array([7])).length, 255);
});

Deno.test("erasure: one coder decodes many distinct index sets (decoder cache)", () => {
  const seed = 0xcace;
  const rng = prng(seed);
  const coder = new ErasureCoder(2, 255);
  const data = rng.bytes(41);
  const fragments = coder.encode(data);
  // Index sets whose digits run together alike ("1123"), then more than 64 sets, then repeats.
  const sets = [[1, 123], [11, 23], [112, 113], [1, 12], [11, 2].sort((a, b) => a - b)];
  for (let i = 0; i < 80; i++) sets.push([i, 254 - i].sort((a, b) => a - b));
  sets.push([1, 123], [11, 23], [0, 254]);
  for (const chosen of sets) {
    const slots: (Uint8Array | undefined)[] = new Array(255).fill(undefined);
    for (const i of chosen) slots[i] = fragments[i];
    assertEquals(coder.decode(slots, 41), data, `seed=${seed} chosen=[${chosen}]`);
  }
});
