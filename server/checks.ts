/**
 * What the store checks before it releases, replaces or deletes anything: an
 * access proof (core/access.ts) or a deletion record (core/deletion.ts),
 * always under the access key stored with the object; and the errors it
 * refuses with, whose `code` travels to the client.
 *
 * @module
 */

import { type AccessOp, verifyAccess } from "../core/access.ts";
import { type DeletionRecord, verifyDeletionRecord } from "../core/deletion.ts";
import type { StoredObject } from "./tag_dir.ts";

/** Why a store operation was refused; `code` travels to the client. */
export class StoreError extends Error {
  /** `exists`, `forbidden`, `not-found`, `full`, `conflict` or `bad-request`. */
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = "StoreError";
    this.code = code;
  }
}

/** A signed request for access (core/access.ts), its nonce already checked and spent. */
export interface AccessProof {
  readonly nonce: Uint8Array;
  readonly proof: Uint8Array;
}

/**
 * `error` as a client should see it when it is a file of an object that an
 * `rm`, `prune` or `withdraw` removed meanwhile (objects are read without the
 * tag's lock): `not-found`. Anything else unchanged.
 */
export function vanished(error: unknown): unknown {
  return error instanceof Deno.errors.NotFound
    ? new StoreError("not-found", "no such object (it was removed meanwhile)")
    : error;
}

/** Throws `forbidden` unless `access` is a valid proof of `op` under the object's access key. */
export async function checkAccess(
  object: StoredObject,
  op: AccessOp,
  access: AccessProof,
): Promise<void> {
  const accessKey = await Deno.readFile(`${object.dir}/access`).catch((error) => {
    throw vanished(error);
  });
  const { objectId, tag } = object.info;
  if (!await verifyAccess(accessKey, access.proof, op, access.nonce, objectId, tag)) {
    throw new StoreError("forbidden", "access proof does not verify: wrong password");
  }
}

/** Throws `forbidden` unless `record` is signed by `object`'s stored access key. */
export async function checkRecord(object: StoredObject, record: DeletionRecord): Promise<void> {
  if (!await verifyDeletionRecord(record, object.access)) {
    throw new StoreError(
      "forbidden",
      "deletion record signature does not verify under the object's access key",
    );
  }
}
