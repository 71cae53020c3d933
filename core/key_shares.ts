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
