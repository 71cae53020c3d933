/**
 * Objects sealed in memory and committed straight into a server store
 * (server/store.ts), for the store, scrub and records tests: no network, the
 * store's own upload path (so each commit also writes its checksums).
 *
 * @module
 */

import { seal } from "../../mod.ts";
import { type AccessKeys, accessKeys, type AccessOp, proveAccess } from "../../core/access.ts";
import { toHex } from "../../core/bytes.ts";
import {
  decodeDeletionRecord,
  type DeletionRecord,
  makeDeletionRecord,
} from "../../core/deletion.ts";
import type { AccessProof, Store } from "../../server/store.ts";

/** A sealed object kept in memory. */
export interface Sealed {
  /** Its tag. */
  tag: string;
  /** Object id, hex. */
  id: string;
  objectId: Uint8Array;
  keys: AccessKeys;
  /** `shares[i]` is the share stream of index i + 1. */
  shares: Uint8Array[];
  header: Uint8Array;
  manifest: Uint8Array;
}

/** Seals `data` as version `version` of `tag` (k of n, default 1 of 1; cheap scrypt). */
export async function sealObject(
  tag: string,
  data: Uint8Array,
  version: number,
  options: { k?: number; n?: number; password?: string } = {},
): Promise<Sealed> {
  const sealed = await seal(ReadableStream.from([data]), {
    tag,
    version,
    password: options.password ?? "stored test",
    k: options.k ?? 1,
    n: options.n ?? 1,
    logN: 10,
    segmentSize: 65536,
    allowSingleShare: true,
  });
  const shares = await Promise.all(sealed.shares.map((s) => new Response(s).bytes()));
  const { headerBytes, manifest } = await sealed.done;
  return {
    tag,
    id: toHex(sealed.objectId),
    objectId: sealed.objectId,
    keys: await accessKeys(sealed.retrievalToken),
    shares,
    header: headerBytes,
    manifest,
  };
}

/** A proof of `op` on `object`, as a client would send it. */
export async function proof(object: Sealed, op: AccessOp): Promise<AccessProof> {
  const nonce = crypto.getRandomValues(new Uint8Array(32));
  return { nonce, proof: await proveAccess(object.keys, op, nonce, object.objectId, object.tag) };
}

/** The deletion record of `object` (signed with `keys`, by default its own). */
export async function record(object: Sealed, keys = object.keys): Promise<DeletionRecord> {
  return decodeDeletionRecord(await makeDeletionRecord(object.header, keys));
}

/**
 * Commits share `index` (default 1) of `object` into `store`, the upload
 * written in chunks of `chunk` bytes; `replacing` is the tag's newest object
 * (a replace proof is made on it), if it has one.
 */
export async function commit(
  store: Store,
  object: Sealed,
  options: { replacing?: Sealed; index?: number; share?: Uint8Array; chunk?: number } = {},
): Promise<void> {
  const index = options.index ?? 1;
  const upload = await store.beginUpload({
    tag: object.tag,
    objectId: object.objectId,
    index,
    accessKey: object.keys.publicKey,
    replace: options.replacing === undefined
      ? undefined
      : await proof(options.replacing, "replace"),
  });
  const share = options.share ?? object.shares[index - 1];
  const chunk = options.chunk ?? 100_000;
  try {
    for (let offset = 0; offset < share.length; offset += chunk) {
      await upload.write(share.subarray(offset, offset + chunk));
    }
    await upload.commit(object.header, object.manifest);
  } catch (error) {
    await upload.abort(); // as the server's put-commit handler does
    throw error;
  }
}

/** Flips one bit of the byte at `offset` of the file `path`, in place. */
export async function flipByte(path: string, offset: number): Promise<void> {
  const file = await Deno.open(path, { read: true, write: true });
  try {
    const byte = new Uint8Array(1);
    await file.seek(offset, Deno.SeekMode.Start);
    if (await file.read(byte) !== 1) throw new Error(`${path} has no byte ${offset}`);
    byte[0] ^= 0x01;
    await file.seek(offset, Deno.SeekMode.Start);
    await file.write(byte);
  } finally {
    file.close();
  }
}
