/**
 * The key schedule against independent references: scrypt against RFC 7914,
 * and the HKDF labels of docs/FORMAT.md recomputed with @noble/hashes (a
 * second HKDF implementation) from a recorded vector's master key.
 */

import { hkdf } from "@noble/hashes/hkdf.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { hmac } from "@noble/hashes/hmac.js";
import { concat, fromHex, toHex, utf8 } from "../core/bytes.ts";
import { deriveMasterKey, deriveObjectKeys, scryptMemory } from "../core/keys.ts";
import { KdfMemoryError } from "../core/errors.ts";
import { decodeHeader } from "../core/header.ts";
import { assert, assertEquals, assertRejects } from "./assert.ts";

Deno.test("scrypt matches RFC 7914 section 12 (N=1024, r=8, p=16), first 32 bytes", async () => {
  const master = await deriveMasterKey(utf8("password"), {
    logN: 10,
    r: 8,
    p: 16,
    salt: utf8("NaCl"),
  });
  assertEquals(toHex(master), "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b373162");
});

Deno.test("the password is NFC-normalised before scrypt", async () => {
  const params = { logN: 10, r: 8, p: 1, salt: new Uint8Array(32) };
  const composed = await deriveMasterKey("caf\u00e9", params);
  const decomposed = await deriveMasterKey("cafe\u0301", params);
  assertEquals(toHex(composed), toHex(decomposed));
});

Deno.test("HKDF labels as specified, recomputed with an independent HKDF", async () => {
  const vectors = JSON.parse(
    await Deno.readTextFile(new URL("./vectors/pipeline.json", import.meta.url)),
  ).vectors as { tag: string; master: string; header: string; fileKey: string }[];
  for (const vector of vectors) {
    const master = fromHex(vector.master);
    const header = decodeHeader(fromHex(vector.header));
    const info = (label: string) =>
      concat(utf8(`secshrnet/1 ${label}`), new Uint8Array([0]), sha256(utf8(vector.tag)));
    const expand = (label: string) => hkdf(sha256, master, header.objectId, info(label), 32);
    const keys = await deriveObjectKeys(master, utf8(vector.tag), header.objectId);
    assertEquals(toHex(keys.fileKey), toHex(expand("file key")));
    assertEquals(toHex(keys.retrievalToken), toHex(expand("retrieval token")));
    // The HMAC keys are not extractable: compare what they compute instead.
    const message = new TextEncoder().encode("probe");
    const manifestMac = new Uint8Array(await crypto.subtle.sign("HMAC", keys.manifestKey, message));
    assertEquals(toHex(manifestMac), toHex(hmac(sha256, expand("manifest key"), message)));
    const fragmentMac = new Uint8Array(await crypto.subtle.sign("HMAC", keys.fragmentKey, message));
    assertEquals(toHex(fragmentMac), toHex(hmac(sha256, expand("fragment key"), message)));
  }
});

Deno.test("scrypt beyond the memory available is refused before allocating, saying what it needs", async () => {
  assertEquals(scryptMemory({ logN: 20, r: 8, p: 1 }), 2 ** 30);
  assert(Deno.systemMemoryInfo().available < 2 ** 40, "needs a machine with under 1 TiB free");
  const error = await assertRejects(
    () => deriveMasterKey("pw", { logN: 30, r: 8, p: 1, salt: new Uint8Array(32) }),
    KdfMemoryError,
  );
  assert(error.message.includes("needs 1 TiB"), error.message);
});
