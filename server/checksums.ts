/**
 * Checksums of stored shares: the SHA-256 (Web Crypto) of each 256 KiB block
 * of an object's `share` file, the last block shorter, concatenated 32 bytes
 * per block into its `checksums` file. An upload hashes its share as it is
 * written (buffering at most one block) and writes them at commit; the
 * scrubber (server/scrub.ts) re-reads shares against them.
 *
 * @module
 */

import { concat, webBytes } from "../core/bytes.ts";

/** Bytes of share covered by one checksum. */
export const CHECKSUM_BLOCK = 256 * 1024;
/** Bytes of one checksum (SHA-256). */
export const CHECKSUM_LENGTH = 32;

/** The SHA-256 of `block`. */
export async function blockChecksum(block: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", webBytes(block)));
}

/** Bytes of the `checksums` file of a share of `shareBytes` bytes. */
export function checksumsLength(shareBytes: number): number {
  return Math.ceil(shareBytes / CHECKSUM_BLOCK) * CHECKSUM_LENGTH;
}

/**
 * Hashes a byte stream block by block as it is fed, in order, in chunks of
 * any size; holds at most one partial block.
 */
export class BlockHasher {
  readonly #sums: Uint8Array[] = [];
  #block: Uint8Array | undefined;
  #fill = 0;

  /** Feeds the next `chunk` of the stream. */
  async update(chunk: Uint8Array): Promise<void> {
    let offset = 0;
    while (offset < chunk.length) {
      const rest = chunk.length - offset;
      if (this.#fill === 0 && rest >= CHECKSUM_BLOCK) {
        // A whole block in place: hashed without a copy.
        this.#sums.push(await blockChecksum(chunk.subarray(offset, offset + CHECKSUM_BLOCK)));
        offset += CHECKSUM_BLOCK;
        continue;
      }
      this.#block ??= new Uint8Array(CHECKSUM_BLOCK);
      const take = Math.min(rest, CHECKSUM_BLOCK - this.#fill);
      this.#block.set(chunk.subarray(offset, offset + take), this.#fill);
      this.#fill += take;
      offset += take;
      if (this.#fill === CHECKSUM_BLOCK) {
        this.#sums.push(await blockChecksum(this.#block));
        this.#fill = 0;
      }
    }
  }

  /** The checksums of everything fed (the last block may be short); the hasher is done after. */
  async digest(): Promise<Uint8Array<ArrayBuffer>> {
    if (this.#fill > 0) this.#sums.push(await blockChecksum(this.#block!.subarray(0, this.#fill)));
    this.#fill = 0;
    this.#block = undefined;
    return concat(...this.#sums);
  }
}
