/**
 * Arithmetic in GF(2^8) with the reducing polynomial x^8 + x^4 + x^3 + x^2 + 1
 * (0x11d) and generator 2, the field of most Reed-Solomon codes.
 *
 * @module
 */

const EXP = new Uint8Array(512);
const LOG = new Uint8Array(256);
{
  let value = 1;
  for (let power = 0; power < 255; power++) {
    EXP[power] = value;
    LOG[value] = power;
    value <<= 1;
    if (value & 0x100) value ^= 0x11d;
  }
  for (let power = 255; power < 512; power++) EXP[power] = EXP[power - 255];
}

/** Product of two field elements. */
export function mul(a: number, b: number): number {
  if (a === 0 || b === 0) return 0;
  return EXP[LOG[a] + LOG[b]];
}

/** Multiplicative inverse of a non-zero field element. */
export function inv(a: number): number {
  if (a === 0) throw new RangeError("zero has no inverse in GF(2^8)");
  return EXP[255 - LOG[a]];
}

/**
 * `MUL_TABLE[c * 256 + x]` is `c * x`: one 256-byte row per constant, so a
 * coder multiplies a whole buffer by `c` with one lookup per byte.
 */
export const MUL_TABLE: Uint8Array = (() => {
  const table = new Uint8Array(256 * 256);
  for (let c = 0; c < 256; c++) {
    for (let x = 0; x < 256; x++) table[c * 256 + x] = mul(c, x);
  }
  return table;
})();

/**
 * Inverts the square `size`×`size` matrix `matrix` (row-major) by
 * Gauss-Jordan elimination; throws when it is singular.
 */
export function invertMatrix(matrix: Uint8Array, size: number): Uint8Array {
  const work = matrix.slice();
  const result = new Uint8Array(size * size);
  for (let i = 0; i < size; i++) result[i * size + i] = 1;
  for (let col = 0; col < size; col++) {
    let pivot = col;
    while (pivot < size && work[pivot * size + col] === 0) pivot++;
    if (pivot === size) throw new RangeError("matrix is singular");
    if (pivot !== col) {
      swapRows(work, size, pivot, col);
      swapRows(result, size, pivot, col);
    }
    const scale = inv(work[col * size + col]);
    for (let j = 0; j < size; j++) {
      work[col * size + j] = mul(work[col * size + j], scale);
      result[col * size + j] = mul(result[col * size + j], scale);
    }
    for (let row = 0; row < size; row++) {
      const factor = work[row * size + col];
      if (row === col || factor === 0) continue;
      for (let j = 0; j < size; j++) {
        work[row * size + j] ^= mul(factor, work[col * size + j]);
        result[row * size + j] ^= mul(factor, result[col * size + j]);
      }
    }
  }
  return result;
}

function swapRows(matrix: Uint8Array, size: number, a: number, b: number): void {
  for (let j = 0; j < size; j++) {
    const t = matrix[a * size + j];
    matrix[a * size + j] = matrix[b * size + j];
    matrix[b * size + j] = t;
  }
}
