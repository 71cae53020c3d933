/**
 * Which deletion records a client believes (core/client/deletions.ts): a
 * record deletes from a client's view only when it verifies under the access
 * key k holders report, or k servers report it byte for byte. A single lying
 * server, with a key pair of its own, deletes nothing.
 */

import { accessKeys } from "../core/access.ts";
import { randomBytes } from "../core/bytes.ts";
import { decodeDeletionRecord, makeDeletionRecord } from "../core/deletion.ts";
import { encodeHeader, type ObjectHeader } from "../core/header.ts";
import { isDeleted, judgeDeletions, type RecordTarget } from "../core/client/deletions.ts";
import type { Address } from "../core/net/envelope.ts";
import { assert, assertEquals } from "./assert.ts";

const A = "server:" + "a".repeat(64) as Address;
const B = "server:" + "b".repeat(64) as Address;
const C = "server:" + "c".repeat(64) as Address;

function header(version: number, tag = "/deleted/tag"): Uint8Array {
  const fields: ObjectHeader = {
    kdf: { logN: 16, r: 8, p: 1, salt: randomBytes(32) },
    objectId: randomBytes(16),
    k: 2,
    n: 3,
    segmentSize: 65536,
    created: 1_700_000_000_000,
    size: 10,
    version,
    tag,
  };
  return encodeHeader(fields);
}

function target(headerBytes: Uint8Array, access: Uint8Array[], servers = [A, B, C]): RecordTarget {
  return {
    headerBytes,
    header: { k: 2, version: new DataView(headerBytes.buffer).getUint32(79) },
    holders: access.map((key, i) => ({ server: servers[i], access: key })),
  };
}

Deno.test("a record signed with the object's key is believed when k holders report that key", async () => {
  const bytes = header(3);
  const owner = await accessKeys(randomBytes(32));
  const record = await makeDeletionRecord(bytes, owner);
  const objects = [target(bytes, [owner.publicKey, owner.publicKey])];
  const verdict = await judgeDeletions("/deleted/tag", [{ server: C, bytes: record }], objects);
  assertEquals(verdict.accepted.length, 1);
  assertEquals(verdict.version, 3);
  assert(isDeleted(verdict, 3) && isDeleted(verdict, 2) && !isDeleted(verdict, 4));
});

Deno.test("a single server's record under a key of its own deletes nothing", async () => {
  const bytes = header(3);
  const owner = await accessKeys(randomBytes(32));
  const liar = await accessKeys(randomBytes(32));
  const forged = await makeDeletionRecord(bytes, liar);
  const objects = [target(bytes, [owner.publicKey, owner.publicKey])];
  const verdict = await judgeDeletions("/deleted/tag", [{ server: C, bytes: forged }], objects);
  assertEquals(verdict.accepted.length, 0);
  assertEquals(verdict.version, 0);
  assertEquals(verdict.reportedVersion, 3, "still counted for the next put's version");
  // One lying holder reporting the liar's key is not enough either (k = 2).
  const lying = [target(bytes, [owner.publicKey, liar.publicKey])];
  const again = await judgeDeletions("/deleted/tag", [{ server: B, bytes: forged }], lying);
  assertEquals(again.accepted.length, 0);
});

Deno.test("a record reported byte for byte by k servers is believed when its own key verifies it", async () => {
  const bytes = header(5);
  const owner = await accessKeys(randomBytes(32));
  const record = await makeDeletionRecord(bytes, owner);
  const one = await judgeDeletions("/deleted/tag", [{ server: A, bytes: record }], []);
  assertEquals(one.accepted.length, 0, "one server alone, and no holder to check against");
  const two = await judgeDeletions("/deleted/tag", [
    { server: A, bytes: record },
    { server: B, bytes: record },
  ], []);
  assertEquals(two.version, 5);
  // Tampered: the signature no longer verifies under the key it carries.
  const tampered = record.slice();
  tampered[tampered.length - 1] ^= 1;
  const bad = await judgeDeletions("/deleted/tag", [
    { server: A, bytes: tampered },
    { server: B, bytes: tampered },
  ], []);
  assertEquals(bad.accepted.length, 0);
});

Deno.test("records of another tag and malformed records are ignored", async () => {
  const owner = await accessKeys(randomBytes(32));
  const other = await makeDeletionRecord(header(2, "/another/tag"), owner);
  const verdict = await judgeDeletions("/deleted/tag", [
    { server: A, bytes: other },
    { server: B, bytes: other },
    { server: C, bytes: randomBytes(200) },
  ], []);
  assertEquals([verdict.accepted.length, verdict.reportedVersion], [0, 0]);
  assertEquals(decodeDeletionRecord(other).header.tag, "/another/tag");
});
