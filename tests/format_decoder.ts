/**
 * An independent decoder of docs/FORMAT.md, for tests/format_test.ts. It
 * imports nothing from core/ and not the Shamir library: it parses headers,
 * manifests and share streams by the offsets and formulas of the document,
 * takes both GF(2^8) polynomials from the document's text
 * ({@linkcode readSpec}), and does its own field arithmetic, Lagrange
 * interpolation and Reed-Solomon decoding. The primitives the document names
 * (scrypt, HKDF, HMAC, SHA-256, ChaCha20-Poly1305, AES-GCM) come from @noble,
 * not from the Web Crypto calls core/ uses.
 *
 * @module
 */

import { hkdf } from "@noble/hashes/hkdf.js";
import { hmac } from "@noble/hashes/hmac.js";
import { scrypt } from "@noble/hashes/scrypt.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { gcm } from "@noble/ciphers/aes.js";
import { chacha20poly1305 } from "@noble/ciphers/chacha.js";

/** The parts of the document the decoder reads from its text. */
export interface FormatSpec {
  /** Reducing polynomial of the key shares' field (section "Key share"). */
  readonly shamirPolynomial: number;
  /** Reducing polynomial of the fragments' field (section "Fragments"). */
  readonly fragmentPolynomial: number;
}

/** A failure to decode, naming the step of the document that failed. */
export class DecodeError extends Error {
  /** The step: "header", "manifest", "key share", "key check", "frame", "layer 2", "layer 1". */
  readonly step: string;
  constructor(step: string, message: string) {
    super(`${step}: ${message}`);
    this.name = "DecodeError";
    this.step = step;
  }
}

/** The text of the section whose heading line starts with `heading`, up to the next heading. */
export function section(markdown: string, heading: string): string {
  const lines = markdown.split("\n");
  const start = lines.findIndex((line) => line.startsWith(heading));
  if (start < 0) throw new Error(`the document has no section "${heading}"`);
  const end = lines.findIndex((line, i) => i > start && /^#{1,3} /.test(line));
  return lines.slice(start + 1, end < 0 ? undefined : end).join("\n");
}

/** A field polynomial as the document writes it: `x^8 + ... + 1 (0x1..)`, maybe wrapped. */
export const FIELD_PATTERN = /(x\^8(?: \+ x(?:\^\d)?)* \+ 1) \((0x[0-9a-fA-F]{3})\)/;

/** The value of a polynomial written `x^8 + x^4 + x^3 + x + 1`. */
export function polynomialValue(expression: string): number {
  let value = 0;
  for (const term of expression.split(" + ")) {
    const power = term === "1" ? 0 : term === "x" ? 1 : Number(term.match(/^x\^(\d)$/)?.[1]);
    if (!Number.isInteger(power) || value & (1 << power)) throw new Error(`bad term "${term}"`);
    value |= 1 << power;
  }
  return value;
}

/** The field polynomial named in section `heading`; its expression and its hex must agree. */
function fieldOf(markdown: string, heading: string): number {
  const match = section(markdown, heading).replace(/\s+/g, " ").match(FIELD_PATTERN);
  if (match === null) throw new Error(`section "${heading}" names no GF(2^8) polynomial`);
  const value = parseInt(match[2], 16);
  if (polynomialValue(match[1]) !== value) {
    throw new Error(`section "${heading}": ${match[1]} is not ${match[2]}`);
  }
  return value;
}

/** Reads the two field polynomials from the text of FORMAT.md. */
export function readSpec(markdown: string): FormatSpec {
  return {
    shamirPolynomial: fieldOf(markdown, "### Key share"),
    fragmentPolynomial: fieldOf(markdown, "### Fragments"),
  };
}

/** GF(2^8) modulo `polynomial`, by shift-and-add into a full multiplication table. */
export class Field {
  readonly #mul = new Uint8Array(256 * 256);
  readonly #inv = new Uint8Array(256);
  constructor(polynomial: number) {
    if (polynomial < 0x100 || polynomial > 0x1ff) throw new Error("not a degree-8 polynomial");
    for (let a = 0; a < 256; a++) {
      for (let b = 0; b < 256; b++) {
        let [x, product] = [a, 0];
        for (let bit = 0; bit < 8; bit++) {
          if (b & (1 << bit)) product ^= x;
          x = x & 0x80 ? ((x << 1) ^ polynomial) & 0xff : x << 1;
        }
        this.#mul[a * 256 + b] = product;
        if (product === 1) this.#inv[a] = b;
      }
    }
    for (let a = 1; a < 256; a++) {
      if (this.#inv[a] === 0) throw new Error(`0x${polynomial.toString(16)} is reducible`);
    }
  }
  /** `a · b`. */
  mul(a: number, b: number): number {
    return this.#mul[a * 256 + b];
  }
  /** `a / b`, b non-zero. */
  div(a: number, b: number): number {
    if (b === 0) throw new RangeError("division by zero");
    return this.#mul[a * 256 + this.#inv[b]];
  }
}

/** Lagrange interpolation at x = 0, byte by byte, of key shares `y[0..31] || x`. */
export function interpolateAtZero(field: Field, shares: readonly Uint8Array[]): Uint8Array {
  const xs = shares.map((share) => share[32]);
  const secret = new Uint8Array(32);
  shares.forEach((share, i) => {
    let basis = 1;
    xs.forEach((x, j) => {
      if (j !== i) basis = field.mul(basis, field.div(x, xs[i] ^ x));
    });
    for (let b = 0; b < 32; b++) secret[b] ^= field.mul(share[b], basis);
  });
  return secret;
}

/** Row `index − 1` of the stacked encoding matrix: identity, then `1 / ((k + r) ⊕ c)`. */
export function encodingRow(field: Field, k: number, index: number): number[] {
  return Array.from(
    { length: k },
    (_, c) => index <= k ? (c === index - 1 ? 1 : 0) : field.div(1, (index - 1) ^ c),
  );
}

/** `Σ coefficients[c] · sources[c]`, bytewise. */
export function combineRows(
  field: Field,
  coefficients: readonly number[],
  sources: readonly Uint8Array[],
): Uint8Array {
  const out = new Uint8Array(sources[0].length);
  coefficients.forEach((coefficient, c) => {
    for (let b = 0; b < out.length; b++) out[b] ^= field.mul(coefficient, sources[c][b]);
  });
  return out;
}

/** Inverts a square matrix by Gauss-Jordan elimination. */
function invert(field: Field, matrix: number[][]): number[][] {
  const size = matrix.length;
  const work = matrix.map((row, i) => [...row, ...row.map((_, j) => (i === j ? 1 : 0))]);
  for (let col = 0; col < size; col++) {
    const pivot = work.findIndex((row, i) => i >= col && row[col] !== 0);
    if (pivot < 0) throw new Error("singular matrix");
    [work[col], work[pivot]] = [work[pivot], work[col]];
    const scale = work[col][col];
    work[col] = work[col].map((v) => field.div(v, scale));
    for (let row = 0; row < size; row++) {
      const factor = work[row][col];
      if (row !== col && factor !== 0) {
        work[row] = work[row].map((v, j) => v ^ field.mul(factor, work[col][j]));
      }
    }
  }
  return work.map((row) => row.slice(size));
}

/** Rebuilds the k data fragments from the fragments of k distinct `indices`. */
export function rebuildData(
  field: Field,
  k: number,
  indices: readonly number[],
  fragments: readonly Uint8Array[],
): Uint8Array[] {
  const inverse = invert(field, indices.map((index) => encodingRow(field, k, index)));
  return inverse.map((row) => combineRows(field, row, fragments));
}

/** The header fields the decoder uses. */
export interface Header {
  format: number;
  logN: number;
  salt: Uint8Array;
  objectId: Uint8Array;
  k: number;
  n: number;
  segmentSize: number;
  created: number;
  size: number;
  tagVersion: number;
  tag: string;
}

/** Parses a header by the table of "Header". */
export function parseHeader(bytes: Uint8Array): Header {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const fail = (what: string) => new DecodeError("header", what);
  if (bytes.length < 88 || new TextDecoder().decode(bytes.subarray(0, 4)) !== "SSNH") {
    throw fail("no magic");
  }
  const format = bytes[4];
  if ((format !== 1 && format !== 2) || bytes[5] !== 1 || bytes[7] !== 8 || bytes[8] !== 1) {
    throw fail("version, kdf, r or p");
  }
  const reserved = bytes.subarray(format === 1 ? 79 : 83, 88);
  if (bytes[60] !== 0 || reserved.some((b) => b !== 0)) throw fail("reserved");
  if (bytes.length !== 88 + view.getUint16(77)) throw fail("tag length");
  const header = {
    format,
    logN: bytes[6],
    salt: bytes.subarray(9, 41),
    objectId: bytes.subarray(41, 57),
    k: bytes[57],
    n: bytes[58],
    segmentSize: 2 ** bytes[59],
    created: Number(view.getBigUint64(61)),
    size: Number(view.getBigUint64(69)),
    tagVersion: format === 1 ? 0 : view.getUint32(79),
    tag: new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(88)),
  };
  if (header.k < 1 || header.n < header.k || bytes[59] < 16 || bytes[59] > 20) throw fail("range");
  return header;
}

/** Segment lengths and frame offsets ("Segments", "Frame offsets"). */
export function layout(header: Header) {
  const m = Math.max(1, Math.ceil(header.size / header.segmentSize));
  const plain = (
    j: number,
  ) => (j < m - 1 ? header.segmentSize : header.size - (m - 1) * header.segmentSize);
  const frame = (length: number) => 4 * Math.ceil((length + 32) / (4 * header.k)) + 32;
  const offset = (j: number) => 33 + j * frame(header.segmentSize);
  return { m, plain, frame, offset, length: offset(m - 1) + frame(plain(m - 1)) };
}

const utf8 = (s: string) => new TextEncoder().encode(s);
const join = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  parts.reduce((at, part) => (out.set(part, at), at + part.length), 0);
  return out;
};
const same = (a: Uint8Array, b: Uint8Array) =>
  a.length === b.length && a.every((v, i) => v === b[i]);
/** `u(bytes, value)`: `value` as a big-endian integer of `bytes` bytes. */
const u = (bytes: number, value: number) => {
  const out = new Uint8Array(bytes);
  for (let i = bytes - 1, v = value; i >= 0; i--, v = Math.floor(v / 256)) out[i] = v % 256;
  return out;
};

/** The keys of "Key schedule". */
export function deriveKeys(password: string, header: Header) {
  const master = scrypt(utf8(password.normalize("NFC")), header.salt, {
    N: 2 ** header.logN,
    r: 8,
    p: 1,
    dkLen: 32,
  });
  const tagHash = sha256(utf8(header.tag));
  const key = (label: string) =>
    hkdf(sha256, master, header.objectId, join(utf8(`secshrnet/1 ${label}`), u(1, 0), tagHash), 32);
  return {
    master,
    fileKey: key("file key"),
    manifestKey: key("manifest key"),
    fragmentKey: key("fragment key"),
    retrievalToken: key("retrieval token"),
  };
}

/** What {@linkcode decode} reads: one object's header and manifest, and share streams by index. */
export interface DecodeInput {
  password: string;
  headerBytes: Uint8Array;
  manifest: Uint8Array;
  /** Share streams by index; the decoder uses every one given and needs `k`. */
  streams: ReadonlyMap<number, Uint8Array>;
}

/** Opens an object as "Opening" says, from the given streams only; throws a DecodeError. */
export function decode(spec: FormatSpec, input: DecodeInput) {
  const header = parseHeader(input.headerBytes);
  const { k, n } = header;
  const keys = deriveKeys(input.password, header);
  const { manifest } = input;
  const fail = (step: string, what: string) => new DecodeError(step, what);
  if (
    manifest.length !== 102 + 32 * n || new TextDecoder().decode(manifest.subarray(0, 4)) !== "SSNM"
  ) {
    throw fail("manifest", "length or magic");
  }
  const mac = hmac(sha256, keys.manifestKey, manifest.subarray(0, 70 + 32 * n));
  if (!same(mac, manifest.subarray(70 + 32 * n))) throw fail("manifest", "mac (wrong password?)");
  if (manifest[4] !== header.format || !same(manifest.subarray(5, 37), sha256(input.headerBytes))) {
    throw fail("manifest", "version or header hash");
  }
  const indices = [...input.streams.keys()].sort((a, b) => a - b);
  if (indices.length < k) throw fail("key share", `${indices.length} shares, need ${k}`);
  const shares = indices.map((i) => {
    const keyShare = input.streams.get(i)!.subarray(0, 33);
    if (!same(sha256(join(u(1, i), keyShare)), manifest.subarray(38 + 32 * i, 70 + 32 * i))) {
      throw fail("key share", `index ${i} does not match its share hash`);
    }
    return keyShare;
  });
  const xs = new Set(shares.map((share) => share[32]));
  if (xs.has(0) || xs.size !== shares.length) throw fail("key share", "repeated or zero x");
  const shareKey = interpolateAtZero(new Field(spec.shamirPolynomial), shares.slice(0, k));
  const check = hmac(sha256, keys.manifestKey, join(utf8("secshrnet/1 share key"), shareKey));
  if (!same(check, manifest.subarray(38, 70))) throw fail("key check", "wrong share key");

  const { m, plain, frame, offset, length } = layout(header);
  for (const i of indices) {
    if (input.streams.get(i)!.length !== length) throw fail("frame", `index ${i}: stream length`);
  }
  const field = new Field(spec.fragmentPolynomial);
  const chosen = indices.slice(0, k);
  const segments: Uint8Array[] = [];
  for (let j = 0; j < m; j++) {
    const last = j === m - 1 ? 1 : 0;
    const fragments = chosen.map((i) => {
      const bytes = input.streams.get(i)!.subarray(offset(j), offset(j) + frame(plain(j)));
      const fragment = bytes.subarray(0, bytes.length - 32);
      const tag = hmac(sha256, keys.fragmentKey, join(u(1, i), u(8, j), u(1, last), fragment));
      if (!same(tag, bytes.subarray(bytes.length - 32))) {
        throw fail("frame", `index ${i}, segment ${j}`);
      }
      return fragment;
    });
    const layer2 = join(...rebuildData(field, k, chosen, fragments)).subarray(0, plain(j) + 32);
    const nonce = join(u(11, j), u(1, last));
    let layer1: Uint8Array;
    try {
      layer1 = gcm(shareKey, nonce, header.objectId).decrypt(layer2);
    } catch {
      throw fail("layer 2", `segment ${j}`);
    }
    try {
      segments.push(chacha20poly1305(keys.fileKey, nonce).decrypt(layer1));
    } catch {
      throw fail("layer 1", `segment ${j}`);
    }
  }
  return { header, keys, shareKey, plaintext: join(...segments) };
}
