/**
 * Slow, obviously correct references written from the specs (docs/FORMAT.md),
 * for tests to check the implementation against. They share no table or
 * helper with it: GF(2^8) products bit by bit, and a fragment's tag from its
 * definition with Web Crypto's HMAC.
 *
 * @module
 */

/** Carry-less multiplication reduced by x^8 + x^4 + x^3 + x^2 + 1 (0x11d), bit by bit. */
export function slowMul(a: number, b: number): number {
  let product = 0;
  while (b !== 0) {
    if (b & 1) product ^= a;
    a <<= 1;
    if (a & 0x100) a ^= 0x11d;
    b >>>= 1;
  }
  return product;
}

/** The inverse by exhaustive search. */
export function slowInv(a: number): number {
  for (let b = 1; b < 256; b++) if (slowMul(a, b) === 1) return b;
  throw new Error(`no inverse of ${a}`);
}

/** A fragment's tag by its definition: HMAC-SHA-256(key, index u8 ‖ segment u64 ‖ last u8 ‖ fragment). */
export async function referenceFrameTag(
  key: CryptoKey,
  index: number,
  segment: number,
  last: boolean,
  fragment: Uint8Array,
): Promise<Uint8Array> {
  const signed = new Uint8Array(10 + fragment.length);
  signed[0] = index;
  new DataView(signed.buffer).setBigUint64(1, BigInt(segment));
  signed[9] = last ? 1 : 0;
  signed.set(fragment, 10);
  return new Uint8Array(await crypto.subtle.sign("HMAC", key, signed));
}
