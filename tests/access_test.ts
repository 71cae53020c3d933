/**
 * Access proofs: the retrieval token as an Ed25519 seed (RFC 8032 vector),
 * and proofs bound to operation, nonce, object and tag.
 */

import { accessKeys, proveAccess, verifyAccess } from "../core/access.ts";
import { fromHex, toHex } from "../core/bytes.ts";
import { assert, assertEquals } from "./assert.ts";

Deno.test("the token is an Ed25519 seed: RFC 8032 section 7.1, test 1", async () => {
  const keys = await accessKeys(
    fromHex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"),
  );
  assertEquals(
    toHex(keys.publicKey),
    "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
  );
  const signature = new Uint8Array(
    await crypto.subtle.sign("Ed25519", keys.privateKey, new Uint8Array(0)),
  );
  assertEquals(
    toHex(signature),
    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
  );
});

Deno.test("a proof verifies only for its operation, nonce, object, tag and key", async () => {
  const keys = await accessKeys(crypto.getRandomValues(new Uint8Array(32)));
  const other = await accessKeys(crypto.getRandomValues(new Uint8Array(32)));
  const nonce = crypto.getRandomValues(new Uint8Array(32));
  const objectId = crypto.getRandomValues(new Uint8Array(16));
  const proof = await proveAccess(keys, "get", nonce, objectId, "/t");
  assert(await verifyAccess(keys.publicKey, proof, "get", nonce, objectId, "/t"));
  const flipped = nonce.slice();
  flipped[0] ^= 1;
  const cases: [string, Promise<boolean>][] = [
    ["op", verifyAccess(keys.publicKey, proof, "rm", nonce, objectId, "/t")],
    ["nonce", verifyAccess(keys.publicKey, proof, "get", flipped, objectId, "/t")],
    ["object", verifyAccess(keys.publicKey, proof, "get", nonce, new Uint8Array(16), "/t")],
    ["tag", verifyAccess(keys.publicKey, proof, "get", nonce, objectId, "/u")],
    ["key", verifyAccess(other.publicKey, proof, "get", nonce, objectId, "/t")],
    ["short proof", verifyAccess(keys.publicKey, proof.subarray(1), "get", nonce, objectId, "/t")],
    ["bad key", verifyAccess(new Uint8Array(32), proof, "get", nonce, objectId, "/t")],
  ];
  for (const [what, verdict] of cases) assertEquals(await verdict, false, what);
});
