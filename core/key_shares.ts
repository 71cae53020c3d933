/**
 * Splitting the 32-byte share key into n key shares with threshold k
 * (shamir-secret-sharing), and combining k of them with the checks the
 * library leaves to its caller.
 *
 * A key share is 33 bytes: the polynomial's 32 values followed by its x
 * coordinate. With k = 1 every share is the key itself with x = its index:
 * a degree-0 polynomial, so any single share opens layer 2.
 *
 * @module
 */

import { combine, split } from "shamir-secret-sharing";

/** Length of the secret that is split. */
export const SHARE_KEY_LENGTH = 32;
/** Length of one key share. */
export const KEY_SHARE_LENGTH = SHARE_KEY_LENGTH + 1;

/** Splits `shareKey` into `n` shares, any `k` of which rebuild it. */
export async function splitShareKey(
  shareKey: Uint8Array,
  k: number,
  n: number,
): Promise<Uint8Array[]> {
  if (shareKey.length !== SHARE_KEY_LENGTH) throw new RangeError("share key must be 32 bytes");
  if (!Number.isInteger(k) || !Number.isInteger(n) || k < 1 || n < k || n > 255) {
    throw new RangeError(`invalid threshold k=${k} of n=${n}`);
  }
  if (k === 1) {
    return Array.from({ length: n }, (_, i) => {
      const share = new Uint8Array(KEY_SHARE_LENGTH);
      share.set(shareKey);
      share[SHARE_KEY_LENGTH] = i + 1;
      return share;
    });
  }
  return await split(shareKey, n, k);
}

/**
 * Rebuilds the share key from exactly `k` shares. Throws a RangeError unless
 * there are k shares of the right length with distinct x in 1..255. The
 * result is only right when the shares are; callers check it against the
 * manifest's key check.
 */
export async function combineKeyShares(
  shares: readonly Uint8Array[],
  k: number,
): Promise<Uint8Array> {
  if (shares.length !== k) throw new RangeError(`need exactly ${k} key shares`);
  const seen = new Set<number>();
  for (const share of shares) {
    if (share.length !== KEY_SHARE_LENGTH) throw new RangeError("key share has the wrong length");
    const x = share[SHARE_KEY_LENGTH];
    if (x < 1 || x > 255 || seen.has(x)) {
      throw new RangeError(`invalid or repeated x coordinate ${x}`);
    }
    seen.add(x);
  }
  if (k === 1) return shares[0].slice(0, SHARE_KEY_LENGTH);
  // The library insists on plain Uint8Arrays (not subclasses such as Buffer).
  return await combine(shares.map((share) => new Uint8Array(share)));
}

/**
 * The key share with x coordinate `x` of the polynomial that `shares` (exactly
 * k of them, verified) lie on: what the lost share of that x held. Shamir's
 * field has characteristic 2, so f(x + t) is a polynomial of the same degree
 * whose value at 0 is f(t); the library's own interpolation at 0, fed the
 * shares with their x moved by t (x XOR t), evaluates f at t. No field
 * arithmetic is written here.
 */
export async function keyShareAt(
  shares: readonly Uint8Array[],
  k: number,
  x: number,
): Promise<Uint8Array> {
  if (!Number.isInteger(x) || x < 1 || x > 255) throw new RangeError(`invalid x coordinate ${x}`);
  if (shares.some((share) => share[SHARE_KEY_LENGTH] === x)) {
    throw new RangeError(`x coordinate ${x} is one of the shares given`);
  }
  const value = k === 1 ? (await combineKeyShares(shares, 1)) : await combineKeyShares(
    shares.map((share) => {
      const moved = new Uint8Array(share);
      moved[SHARE_KEY_LENGTH] ^= x;
      return moved;
    }),
    k,
  );
  const result = new Uint8Array(KEY_SHARE_LENGTH);
  result.set(value);
  result[SHARE_KEY_LENGTH] = x;
  return result;
}
