/**
 * A small deterministic PRNG (mulberry32) for reproducible randomized tests.
 * Tests print the seed in their failure messages so a failure can be re-run.
 *
 * @module
 */

/** A seeded generator of 32-bit values, integers in a range and byte arrays. */
export interface Prng {
  /** The next unsigned 32-bit value. */
  next(): number;
  /** A uniformly chosen integer in `lo..hi`, both inclusive. */
  int(lo: number, hi: number): number;
  /** `n` pseudo-random bytes. */
  bytes(n: number): Uint8Array;
}

/** A mulberry32 generator started from `seed` (any number; truncated to 32 bits). */
export function prng(seed: number): Prng {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
  return {
    next,
    int(lo: number, hi: number): number {
      if (!Number.isInteger(lo) || !Number.isInteger(hi) || hi < lo) {
        throw new RangeError(`bad range ${lo}..${hi}`);
      }
      const span = hi - lo + 1;
      if (span > 2 ** 32) throw new RangeError("range wider than 2^32");
      return lo + Math.floor((next() / 2 ** 32) * span);
    },
    bytes(n: number): Uint8Array {
      const out = new Uint8Array(n);
      let i = 0;
      for (; i + 4 <= n; i += 4) {
        const v = next();
        out[i] = v;
        out[i + 1] = v >>> 8;
        out[i + 2] = v >>> 16;
        out[i + 3] = v >>> 24;
      }
      if (i < n) {
        let v = next();
        for (; i < n; i++, v >>>= 8) out[i] = v;
      }
      return out;
    },
  };
}
