/**
 * A count per key that forgets keys at zero, for limits such as "requests in
 * progress per sender" that must not grow with every sender ever seen.
 *
 * @module
 */

/** Counts per key; a key whose count drops to zero is removed. */
export class Counts<K> {
  readonly #counts = new Map<K, number>();

  /** The count of `key` (0 when absent). */
  get(key: K): number {
    return this.#counts.get(key) ?? 0;
  }

  /** Adds one to `key`. */
  add(key: K): void {
    this.#counts.set(key, this.get(key) + 1);
  }

  /** Takes one from `key`, forgetting it at zero. */
  remove(key: K): void {
    const left = this.get(key) - 1;
    if (left > 0) this.#counts.set(key, left);
    else this.#counts.delete(key);
  }
}
