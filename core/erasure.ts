/**
 * Systematic Reed-Solomon erasure code over GF(2^8): data of any length is cut
 * into k data fragments, n − k parity fragments are added, and any k of the n
 * fragments rebuild the data (1 ≤ k ≤ n ≤ 255).
 *
 * The encoding matrix is the k×k identity stacked on a Cauchy matrix
 * `C[r][c] = 1 / (x_r + y_c)` with `x_r = k + r` and `y_c = c`; every square
 * submatrix of a Cauchy matrix is invertible, so every choice of k rows is.
 *
 * @module
 */

import { inv, invertMatrix, MUL_TABLE } from "./gf256.ts";

/** Largest number of fragments (the field has 255 non-zero x values). */
export const MAX_FRAGMENTS = 255;

/**
 * Length of each fragment for `dataLength` bytes split k ways: the data is
 * padded with zeros to a multiple of 4k so the coder can work on 32-bit words.
 */
export function fragmentLength(dataLength: number, k: number): number {
  return 4 * Math.ceil(dataLength / (4 * k));
}

/** An erasure coder for one (k, n). Stateless apart from a cache of decoding matrices. */
export class ErasureCoder {
  /** Fragments needed to rebuild. */
  readonly k: number;
  /** Fragments produced. */
  readonly n: number;
  readonly #parity: Uint8Array; // (n − k) × k coefficients
  readonly #decoders = new Map<string, Uint8Array>();
  readonly #wideTables = new Map<number, Uint16Array>();
  readonly #wide = (c: number): Uint16Array | undefined => {
    let table = this.#wideTables.get(c);
    if (table === undefined && this.#wideTables.size < MAX_WIDE_TABLES) {
      table = wideTable(c);
      this.#wideTables.set(c, table);
    }
    return table;
  };

  constructor(k: number, n: number) {
    if (!Number.isInteger(k) || !Number.isInteger(n) || k < 1 || n < k || n > MAX_FRAGMENTS) {
      throw new RangeError(`invalid erasure code parameters k=${k} n=${n}`);
    }
    this.k = k;
    this.n = n;
    this.#parity = new Uint8Array((n - k) * k);
    for (let r = 0; r < n - k; r++) {
      for (let c = 0; c < k; c++) this.#parity[r * k + c] = inv((k + r) ^ c);
    }
  }

  /** Row `index` (0-based) of the n×k encoding matrix. */
  #row(index: number): Uint8Array {
    const row = new Uint8Array(this.k);
    if (index < this.k) row[index] = 1;
    else row.set(this.#parity.subarray((index - this.k) * this.k, (index - this.k + 1) * this.k));
    return row;
  }

  /** Splits `data` into n fragments of {@linkcode fragmentLength} bytes each; fragment i is index i. */
  encode(data: Uint8Array): Uint8Array[] {
    const { k, n } = this;
    const size = fragmentLength(data.length, k);
    const buffer = new Uint8Array(n * size);
    const fragments: Uint8Array[] = [];
    for (let i = 0; i < n; i++) fragments.push(buffer.subarray(i * size, (i + 1) * size));
    this.encodeInto(data, fragments);
    return fragments;
  }

  /**
   * Writes the n fragments of `data` into `fragments`, n views of
   * {@linkcode fragmentLength} bytes each (anywhere: e.g. inside the frames
   * they will be sent in), so no fragment is allocated or copied again.
   */
  encodeInto(data: Uint8Array, fragments: readonly Uint8Array[]): void {
    const { k, n } = this;
    const size = fragmentLength(data.length, k);
    if (fragments.length !== n || fragments.some((fragment) => fragment.length !== size)) {
      throw new RangeError(`expected ${n} fragments of ${size} bytes`);
    }
    for (let i = 0; i < k; i++) {
      const part = data.subarray(i * size, (i + 1) * size);
      fragments[i].set(part);
      fragments[i].fill(0, part.length);
    }
    for (let r = 0; r < n - k; r++) {
      const coefficients = this.#parity.subarray(r * k, (r + 1) * k);
      combine(fragments[k + r], fragments.slice(0, k), coefficients, this.#wide);
    }
  }

  /**
   * Rebuilds the `dataLength` bytes from `fragments`, an array of n entries in
   * which at least k are present (the others `undefined`). Throws a RangeError
   * when fewer than k are present or a fragment has the wrong length.
   */
  decode(fragments: readonly (Uint8Array | undefined)[], dataLength: number): Uint8Array {
    const { k, n } = this;
    const size = fragmentLength(dataLength, k);
    if (fragments.length !== n) throw new RangeError(`expected ${n} fragment slots`);
    const chosen: number[] = [];
    for (let i = 0; i < n && chosen.length < k; i++) {
      const fragment = fragments[i];
      if (fragment === undefined) continue;
      if (fragment.length !== size) {
        throw new RangeError(`fragment ${i} has ${fragment.length} bytes, expected ${size}`);
      }
      chosen.push(i);
    }
    if (chosen.length < k) throw new RangeError(`need ${k} fragments, have ${chosen.length}`);
    const out = new Uint8Array(k * size);
    const sources = chosen.map((i) => aligned(fragments[i]!));
    const decoder = this.#decoder(chosen);
    for (let c = 0; c < k; c++) {
      const target = out.subarray(c * size, (c + 1) * size);
      if (chosen[c] === c) target.set(sources[c]);
      else combine(target, sources, decoder.subarray(c * k, (c + 1) * k), this.#wide);
    }
    return out.subarray(0, dataLength);
  }

  /** Inverse of the rows `chosen` of the encoding matrix, cached per choice. */
  #decoder(chosen: number[]): Uint8Array {
    const key = chosen.join(",");
    let decoder = this.#decoders.get(key);
    if (decoder === undefined) {
      const matrix = new Uint8Array(this.k * this.k);
      chosen.forEach((index, row) => matrix.set(this.#row(index), row * this.k));
      decoder = invertMatrix(matrix, this.k);
      if (this.#decoders.size >= 64) this.#decoders.clear();
      this.#decoders.set(key, decoder);
    }
    return decoder;
  }
}

/** A view of `bytes` whose offset is a multiple of 4 (a copy when it is not). */
function aligned(bytes: Uint8Array): Uint8Array {
  return bytes.byteOffset % 4 === 0 ? bytes : bytes.slice();
}

/**
 * `target = Σ coefficients[j] · sources[j]`, 32 bits at a time: two lookups
 * per word in a coefficient's 16-bit product table when `wide` gives one,
 * else four in its row of MUL_TABLE.
 */
function combine(
  target: Uint8Array,
  sources: Uint8Array[],
  coefficients: Uint8Array,
  wide: (c: number) => Uint16Array | undefined = () => undefined,
): void {
  const words = target.length >>> 2;
  const out = new Uint32Array(target.buffer, target.byteOffset, words);
  out.fill(0);
  for (let j = 0; j < sources.length; j++) {
    const c = coefficients[j];
    if (c === 0) continue;
    const input = new Uint32Array(sources[j].buffer, sources[j].byteOffset, words);
    if (c === 1) {
      for (let i = 0; i < words; i++) out[i] ^= input[i];
      continue;
    }
    const pairs = words >= WIDE_MIN_WORDS ? wide(c) : undefined;
    if (pairs !== undefined) {
      for (let i = 0; i < words; i++) {
        const w = input[i];
        out[i] ^= pairs[w & 0xffff] | (pairs[w >>> 16] << 16);
      }
      continue;
    }
    const t = MUL_TABLE.subarray(c * 256, c * 256 + 256);
    for (let i = 0; i < words; i++) {
      const w = input[i];
      out[i] ^= t[w & 255] | (t[(w >>> 8) & 255] << 8) | (t[(w >>> 16) & 255] << 16) |
        (t[w >>> 24] << 24);
    }
  }
}

/**
 * Fragments of fewer 32-bit words than this are coded with MUL_TABLE alone: for
 * them, building a 16-bit table would cost more than it saves.
 */
const WIDE_MIN_WORDS = 16 * 1024;

/**
 * Most 16-bit product tables one coder builds (128 KiB each): enough for
 * every coefficient of a k = 3, n = 5 code and of a decoder; past it, the
 * rest use MUL_TABLE.
 */
export const MAX_WIDE_TABLES = 16;

/** `table[x] = c·(x & 255) | c·(x >> 8) << 8`: the products of both bytes of x at once. */
function wideTable(c: number): Uint16Array {
  const row = MUL_TABLE.subarray(c * 256, c * 256 + 256);
  const table = new Uint16Array(65536);
  for (let x = 0; x < 65536; x++) table[x] = row[x & 255] | (row[x >>> 8] << 8);
  return table;
}
