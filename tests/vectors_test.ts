/**
 * Known-answer tests: tests/vectors/pipeline.json (see docs/FORMAT.md,
 * "Test vectors") must open, derive the recorded keys, and be reproduced
 * byte for byte by sealing again with the recorded random inputs.
 */

import {
  decodeHeader,
  NotEnoughSharesError,
  open,
  WrongPasswordError,
  WrongTagError,
} from "../mod.ts";
import { fromHex, toHex, utf8 } from "../core/bytes.ts";
import { deriveMasterKey, deriveObjectKeys } from "../core/keys.ts";
import { KEY_SHARE_LENGTH } from "../core/key_shares.ts";
import { sealVector, VECTOR_PARAMS, type VectorParams } from "./vectors/generate.ts";
import { assert, assertEquals, assertRejects } from "./assert.ts";

interface Vector extends VectorParams {
  plaintext: string;
  master: string;
  fileKey: string;
  retrievalToken: string;
  header: string;
  manifest: string;
  shares: string[];
}

const file = JSON.parse(
  await Deno.readTextFile(new URL("./vectors/pipeline.json", import.meta.url)),
) as { version: number; vectors: Vector[] };

/** All subsets of 1..n of size `size`. */
function subsets(n: number, size: number): number[][] {
  if (size === 0) return [[]];
  if (n < size) return [];
  return [...subsets(n - 1, size - 1).map((s) => [...s, n]), ...subsets(n - 1, size)];
}

function sources(vector: Vector, indices: number[]) {
  return indices.map((index) => ({
    index,
    header: fromHex(vector.header),
    manifest: fromHex(vector.manifest),
    shares: ReadableStream.from([fromHex(vector.shares[index - 1])]),
  }));
}

Deno.test("the vector file covers every generated vector", () => {
  assertEquals(file.version, 2);
  assertEquals(file.vectors.map((v) => v.name), VECTOR_PARAMS.map((v) => v.name));
});

for (const vector of file.vectors) {
  const options = { tag: vector.tag, password: vector.password };

  Deno.test(`vector ${vector.name}: header fields and key schedule`, async () => {
    const header = decodeHeader(fromHex(vector.header));
    assertEquals(
      [header.k, header.n, header.size, header.segmentSize, header.tag, header.created],
      [vector.k, vector.n, vector.size, vector.segmentSize, vector.tag, vector.created],
    );
    assertEquals(header.version, vector.version);
    const master = await deriveMasterKey(vector.password, header.kdf);
    assertEquals(toHex(master), vector.master);
    const keys = await deriveObjectKeys(master, utf8(vector.tag), header.objectId);
    assertEquals(toHex(keys.fileKey), vector.fileKey);
    assertEquals(toHex(keys.retrievalToken), vector.retrievalToken);
  });

  Deno.test(`vector ${vector.name}: every k-subset opens to the recorded plaintext`, async () => {
    for (const indices of subsets(vector.n, vector.k)) {
      const opened = await open(sources(vector, indices), options);
      const plaintext = await new Response(opened.plaintext).bytes();
      assertEquals(toHex(plaintext), vector.plaintext, `indices ${indices}`);
      assertEquals(opened.rejections, []);
    }
  });

  Deno.test(`vector ${vector.name}: k − 1 shares, wrong password, wrong tag fail`, async () => {
    if (vector.k > 1) {
      await assertRejects(
        () => open(sources(vector, subsets(vector.n, vector.k - 1)[0]), options),
        NotEnoughSharesError,
      );
    }
    const all = Array.from({ length: vector.n }, (_, i) => i + 1);
    await assertRejects(
      () => open(sources(vector, all), { ...options, password: vector.password + "!" }),
      WrongPasswordError,
    );
    await assertRejects(
      () => open(sources(vector, all), { ...options, tag: vector.tag + "x" }),
      WrongTagError,
    );
  });

  // On the calling thread, and on pools of 1 and 3 segment workers: the same bytes.
  for (const workers of [0, 1, 3]) {
    Deno.test(`vector ${vector.name}: sealing again with ${workers} workers reproduces header and fragments`, async () => {
      const params = VECTOR_PARAMS.find((p) => p.name === vector.name)!;
      const again = await sealVector(params, workers);
      assertEquals(toHex(again.headerBytes), vector.header);
      assertEquals(toHex(again.retrievalToken), vector.retrievalToken);
      assertEquals(toHex(again.plaintext), vector.plaintext);
      again.shares.forEach((share, i) => {
        const recorded = fromHex(vector.shares[i]);
        assertEquals(share.length, recorded.length);
        assertEquals(
          toHex(share.subarray(KEY_SHARE_LENGTH)),
          toHex(recorded.subarray(KEY_SHARE_LENGTH)),
          `fragments of index ${i + 1}`,
        );
      });
      assert(again.manifest.length === fromHex(vector.manifest).length);
    });
  }
}
