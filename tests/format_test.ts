/**
 * An independent reader of docs/FORMAT.md: it parses the recorded vectors by
 * the offsets and formulas of the document alone, with @noble primitives
 * (not the Web Crypto calls core/ uses) and a slow bytewise GF(2^8), and
 * must recover the plaintext and reproduce every parity fragment.
 */

import { hkdf } from "@noble/hashes/hkdf.js";
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { gcm } from "@noble/ciphers/aes.js";
import { chacha20poly1305 } from "@noble/ciphers/chacha.js";
import { combine } from "shamir-secret-sharing";
import { assert, assertEquals } from "./assert.ts";

const hex = (bytes: Uint8Array) =>
  Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
const unhex = (text: string) => Uint8Array.from(text.match(/../g) ?? [], (h) => parseInt(h, 16));
const text = (s: string) => new TextEncoder().encode(s);
const join = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) out.set(part, (offset += part.length) - part.length);
  return out;
};
const u64 = (value: number) => {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(value));
  return out;
};

/** Bytewise GF(2^8) multiply, polynomial 0x11d, by shift-and-add. */
function gfMul(a: number, b: number): number {
  let product = 0;
  for (let i = 0; i < 8; i++) {
    if (b & (1 << i)) product ^= a;
    a = a & 0x80 ? ((a << 1) ^ 0x11d) & 0xff : a << 1;
  }
  return product;
}
const gfInv = (a: number) => {
  for (let x = 1; x < 256; x++) if (gfMul(a, x) === 1) return x;
  throw new Error("no inverse");
};

interface Vector {
  name: string;
  password: string;
  tag: string;
  version: number;
  plaintext: string;
  master: string;
  header: string;
  manifest: string;
  shares: string[];
}

const { vectors } = JSON.parse(
  await Deno.readTextFile(new URL("./vectors/pipeline.json", import.meta.url)),
) as { vectors: Vector[] };

for (const vector of vectors) {
  Deno.test(`format: ${vector.name} decodes from the specification alone`, async () => {
    const header = unhex(vector.header);
    const view = new DataView(header.buffer);
    assertEquals(new TextDecoder().decode(header.subarray(0, 4)), "SSNH");
    assertEquals([header[4], header[5], header[7], header[8]], [2, 1, 8, 1]);
    assertEquals(view.getUint32(79), vector.version, "tag version");
    assertEquals(hex(header.subarray(83, 88)), "0000000000", "reserved");
    const objectId = header.subarray(41, 57);
    const [k, n] = [header[57], header[58]];
    const segmentSize = 2 ** header[59];
    const size = Number(view.getBigUint64(69));
    const tagLength = view.getUint16(77);
    assertEquals(header.length, 88 + tagLength);
    assertEquals(new TextDecoder().decode(header.subarray(88)), vector.tag);

    const master = unhex(vector.master);
    const info = (label: string) =>
      join(text(`secshrnet/1 ${label}`), new Uint8Array([0]), sha256(text(vector.tag)));
    const key = (label: string) => hkdf(sha256, master, objectId, info(label), 32);

    const manifest = unhex(vector.manifest);
    assertEquals(manifest.length, 102 + 32 * n);
    assertEquals(new TextDecoder().decode(manifest.subarray(0, 4)), "SSNM");
    assertEquals(hex(manifest.subarray(5, 37)), hex(sha256(header)));
    assertEquals(manifest[37], n);
    const body = manifest.subarray(0, 70 + 32 * n);
    assertEquals(hex(manifest.subarray(70 + 32 * n)), hex(hmac(sha256, key("manifest key"), body)));

    const streams = vector.shares.map(unhex);
    const keyShares = streams.map((s) => s.subarray(0, 33));
    keyShares.forEach((share, i) => {
      const committed = manifest.subarray(70 + 32 * i, 102 + 32 * i);
      assertEquals(hex(sha256(join(new Uint8Array([i + 1]), share))), hex(committed));
    });
    const shareKey = k === 1 ? keyShares[0].subarray(0, 32) : await combine(keyShares.slice(0, k));
    const check = hmac(sha256, key("manifest key"), join(text("secshrnet/1 share key"), shareKey));
    assertEquals(hex(manifest.subarray(38, 70)), hex(check));

    const segments = Math.max(1, Math.ceil(size / segmentSize));
    const offsets = streams.map(() => 33);
    const plaintext: Uint8Array[] = [];
    for (let j = 0; j < segments; j++) {
      const length = j < segments - 1 ? segmentSize : size - (segments - 1) * segmentSize;
      const last = j === segments - 1 ? 1 : 0;
      const fragmentLength = 4 * Math.ceil((length + 32) / (4 * k));
      const fragments = streams.map((stream, i) => {
        const frame = stream.subarray(offsets[i], offsets[i] + fragmentLength + 32);
        offsets[i] += frame.length;
        const fragment = frame.subarray(0, fragmentLength);
        const input = join(new Uint8Array([i + 1]), u64(j), new Uint8Array([last]), fragment);
        assertEquals(
          hex(frame.subarray(fragmentLength)),
          hex(hmac(sha256, key("fragment key"), input)),
        );
        return fragment;
      });
      for (let r = 0; r < n - k; r++) {
        const parity = new Uint8Array(fragmentLength);
        for (let c = 0; c < k; c++) {
          const coefficient = gfInv((k + r) ^ c);
          for (let b = 0; b < fragmentLength; b++) parity[b] ^= gfMul(coefficient, fragments[c][b]);
        }
        assertEquals(hex(fragments[k + r]), hex(parity), `parity ${r} of segment ${j}`);
      }
      const nonce = join(u64(0).subarray(5), u64(j), new Uint8Array([last]));
      assertEquals(nonce.length, 12);
      const layer2 = join(...fragments.slice(0, k)).subarray(0, length + 32);
      const layer1 = gcm(shareKey, nonce, objectId).decrypt(layer2);
      plaintext.push(chacha20poly1305(key("file key"), nonce).decrypt(layer1));
    }
    streams.forEach((stream, i) =>
      assertEquals(offsets[i], stream.length, `end of share ${i + 1}`)
    );
    assertEquals(hex(join(...plaintext)), vector.plaintext);
    assert(plaintext.length === segments);
  });
}
