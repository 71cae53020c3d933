/**
 * docs/FORMAT.md against the recorded vectors, read by the independent
 * decoder of tests/format_decoder.ts: written from the document alone, with
 * both GF(2^8) polynomials taken from the document's text, its own field
 * arithmetic, Lagrange interpolation and Reed-Solomon decoding, and @noble
 * primitives. Every k-subset of every vector must open to the plaintext and
 * the parity fragments must be reproduced. Then the same decoder, given a
 * text that names the wrong field (or none), must fail: so this test would
 * have caught a FORMAT.md that does not say which field the key shares use.
 */

import { sha256 } from "@noble/hashes/sha2.js";
import { accessKeys } from "../core/access.ts";
import { makeDeletionRecord } from "../core/deletion.ts";
import { assert, assertEquals, assertThrows } from "./assert.ts";
import {
  combineRows,
  decode,
  DecodeError,
  type DecodeInput,
  encodingRow,
  Field,
  FIELD_PATTERN,
  type FormatSpec,
  layout,
  parseHeader,
  readSpec,
  section,
} from "./format_decoder.ts";

interface Vector {
  name: string;
  tag: string;
  password: string;
  k: number;
  n: number;
  logN: number;
  segmentSize: number;
  created: number;
  size: number;
  version: number;
  plaintext: string;
  master: string;
  fileKey: string;
  retrievalToken: string;
  header: string;
  manifest: string;
  shares: string[];
}

const FORMAT = await Deno.readTextFile(new URL("../docs/FORMAT.md", import.meta.url));
const { vectors } = JSON.parse(
  await Deno.readTextFile(new URL("./vectors/pipeline.json", import.meta.url)),
) as { vectors: Vector[] };

const hex = (bytes: Uint8Array) =>
  Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
const unhex = (text: string) => Uint8Array.from(text.match(/../g) ?? [], (h) => parseInt(h, 16));
const utf8 = (s: string) => new TextEncoder().encode(s);

/** Every `size`-element subset of 1..n, in order. */
function subsets(n: number, size: number): number[][] {
  if (size === 0) return [[]];
  if (n < size) return [];
  return [...subsets(n - 1, size), ...subsets(n - 1, size - 1).map((s) => [...s, n])];
}

/** The vector's object with the share streams of `indices` only. */
function input(vector: Vector, indices: number[]): DecodeInput {
  return {
    password: vector.password,
    headerBytes: unhex(vector.header),
    manifest: unhex(vector.manifest),
    streams: new Map(indices.map((i) => [i, unhex(vector.shares[i - 1])])),
  };
}

/** The step at which `decode` fails. */
function failure(spec: FormatSpec, given: DecodeInput): string {
  return assertThrows(() => decode(spec, given), DecodeError).step;
}

/** `R(label)` of "Test vectors", cut to `length` bytes. */
function vectorRandom(name: string, label: string, length: number): Uint8Array {
  const out = new Uint8Array(Math.ceil(length / 32) * 32);
  for (let c = 0; c * 32 < length; c++) out.set(sha256(utf8(`${name}/${label}:${c}`)), c * 32);
  return out.subarray(0, length);
}

/** FORMAT.md with the key-share field of section "Key share" written as `replacement`. */
function withKeyShareField(replacement: string): string {
  const keyShare = section(FORMAT, "### Key share");
  const named = keyShare.match(new RegExp(FIELD_PATTERN.source.replaceAll(" ", "\\s+")));
  assert(named !== null, "the Key share section names its field");
  return FORMAT.replace(keyShare, keyShare.replace(named[0], replacement));
}

const SPEC = readSpec(FORMAT);

Deno.test("format: the text names both fields, each a field, and they differ", () => {
  new Field(SPEC.shamirPolynomial);
  new Field(SPEC.fragmentPolynomial);
  assert(SPEC.shamirPolynomial !== SPEC.fragmentPolynomial, "two different fields");
});

for (const vector of vectors) {
  Deno.test(`format: ${vector.name} decodes from the specification alone`, () => {
    const header = parseHeader(unhex(vector.header));
    assertEquals(
      [header.k, header.n, header.logN, header.segmentSize, header.created, header.size],
      [vector.k, vector.n, vector.logN, vector.segmentSize, vector.created, vector.size],
    );
    assertEquals([header.tag, header.tagVersion], [vector.tag, vector.version]);
    assertEquals(hex(header.salt), hex(vectorRandom(vector.name, "salt", 32)));
    assertEquals(hex(header.objectId), hex(vectorRandom(vector.name, "object-id", 16)));
    assertEquals(vector.plaintext, hex(vectorRandom(vector.name, "plaintext", vector.size)));

    for (const indices of subsets(vector.n, vector.k)) {
      const opened = decode(SPEC, input(vector, indices));
      assertEquals(hex(opened.plaintext), vector.plaintext, `indices ${indices}`);
      assertEquals(hex(opened.keys.master), vector.master);
      assertEquals(hex(opened.keys.fileKey), vector.fileKey);
      assertEquals(hex(opened.keys.retrievalToken), vector.retrievalToken);
      assertEquals(hex(opened.shareKey), hex(vectorRandom(vector.name, "share-key", 32)));
    }
    assertEquals(failure(SPEC, input(vector, subsets(vector.n, vector.k - 1)[0])), "key share");
    assertEquals(failure(SPEC, { ...input(vector, [1]), password: "wrong" }), "manifest");
  });

  Deno.test(`format: ${vector.name} frames sit at the offsets of the text, parity reproduced`, () => {
    const header = parseHeader(unhex(vector.header));
    const { m, plain, frame, offset, length } = layout(header);
    const field = new Field(SPEC.fragmentPolynomial);
    const streams = vector.shares.map(unhex);
    for (const stream of streams) assertEquals(stream.length, length, "share stream length");
    for (let j = 0; j < m; j++) {
      const fragments = streams.map((s) => s.subarray(offset(j), offset(j) + frame(plain(j)) - 32));
      const data = fragments.slice(0, vector.k);
      for (let index = vector.k + 1; index <= vector.n; index++) {
        const parity = combineRows(field, encodingRow(field, vector.k, index), data);
        assertEquals(hex(fragments[index - 1]), hex(parity), `parity ${index}, segment ${j}`);
      }
    }
  });
}

Deno.test("format: a text that names no field for the key shares is refused", () => {
  assertThrows(() => readSpec(withKeyShareField("AES's field")), Error, "names no GF(2^8)");
  assertThrows(
    () => readSpec(withKeyShareField("x^8 + x^4 + x^3 + x + 1 (0x11d)")),
    Error,
    "is not 0x11d",
  );
});

Deno.test("format: with the key shares in the 0x11d field, no object with k ≥ 2 opens", () => {
  const wrong = { ...SPEC, shamirPolynomial: 0x11d };
  const sameAsFragments = readSpec(withKeyShareField("x^8 + x^4 + x^3 + x^2 + 1 (0x11d)"));
  assertEquals(sameAsFragments, wrong, "the altered text reads as 0x11d");
  for (const vector of vectors) {
    const all = input(vector, subsets(vector.n, vector.n)[0]);
    if (vector.k === 1) {
      // A degree-0 polynomial is its constant in any field: nothing to catch.
      assertEquals(hex(decode(wrong, all).plaintext), vector.plaintext);
    } else {
      assertEquals(failure(wrong, all), "key check", vector.name);
    }
  }
  assert(vectors.some((v) => v.k >= 2));
});

Deno.test("format: with the fragments in the 0x11b field, parity fragments decode wrong", () => {
  const wrong = { ...SPEC, fragmentPolynomial: 0x11b };
  // With k = 1 every coefficient is 1 / (1 ⊕ 0) = 1 in any field (replication): nothing to catch.
  const coded = vectors.filter((v) => v.n > v.k && v.k > 1);
  assert(coded.length > 0);
  for (const vector of coded) {
    const last = Array.from({ length: vector.k }, (_, c) => vector.n - vector.k + 1 + c);
    assertEquals(failure(wrong, input(vector, last)), "layer 2", vector.name);
    // The data fragments are the ciphertext itself, in any field.
    const first = Array.from({ length: vector.k }, (_, c) => c + 1);
    assertEquals(hex(decode(wrong, input(vector, first)).plaintext), vector.plaintext);
  }
});

Deno.test("format: a deletion record has the layout and signature of the text", async () => {
  const vector = vectors[0];
  const headerBytes = unhex(vector.header);
  const keys = await accessKeys(unhex(vector.retrievalToken));
  const record = await makeDeletionRecord(headerBytes, keys);
  const length = headerBytes.length;
  assertEquals(record.length, 103 + length);
  assertEquals(new TextDecoder().decode(record.subarray(0, 4)), "SSND");
  assertEquals([record[4], (record[5] << 8) | record[6]], [1, length]);
  assertEquals(hex(record.subarray(7, 7 + length)), vector.header);
  const accessKey = record.slice(7 + length, 39 + length);
  assertEquals(hex(accessKey), hex(keys.publicKey));
  const label = utf8("secshrnet/1 deletion record");
  const message = new Uint8Array([...label, 0, ...sha256(headerBytes)]);
  const key = await crypto.subtle.importKey("raw", accessKey, "Ed25519", false, ["verify"]);
  assert(await crypto.subtle.verify("Ed25519", key, record.slice(39 + length), message));
  assertEquals(hex(await makeDeletionRecord(headerBytes, keys)), hex(record), "deterministic");
});
