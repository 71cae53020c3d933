/**
 * Writes tests/vectors/pipeline.json: known-answer vectors for the object
 * format. Every random input (salt, object id, share key) comes from a
 * SHA-256 counter stream seeded by the vector's name, so the header and every
 * fragment frame are reproducible. The Shamir polynomial comes from the
 * shamir-secret-sharing library's own CSPRNG and cannot be injected: the key
 * shares, and so the manifest, differ on each run and are recorded as
 * generated.
 *
 * Run: deno run --allow-read --allow-write tests/vectors/generate.ts
 *
 * @module
 */

import { seal } from "../../mod.ts";
import { concat, toHex, utf8 } from "../../core/bytes.ts";
import { deriveMasterKey, deriveObjectKeys } from "../../core/keys.ts";
import { decodeHeader } from "../../core/header.ts";

/** Parameters of one vector. */
export interface VectorParams {
  name: string;
  tag: string;
  password: string;
  k: number;
  n: number;
  logN: number;
  segmentSize: number;
  created: number;
  size: number;
  /** The tag version (header format 2). */
  version: number;
}

/** The vectors this file generates. */
export const VECTOR_PARAMS: VectorParams[] = [
  { name: "empty", size: 0, k: 2, n: 3, version: 1 },
  { name: "one-byte-single-share", size: 1, k: 1, n: 2, version: 2 },
  { name: "two-segments", size: 65536 + 100, k: 2, n: 4, version: 3 },
  { name: "unicode-tag", size: 1000, k: 3, n: 5, version: 0x01020304 },
].map((v) => ({
  tag: v.name === "unicode-tag" ? "/keys/ключ 🔑/../wallet.dat" : `/vectors/${v.name}`,
  password: "secshrnet test vector",
  logN: 10,
  segmentSize: 65536,
  created: Date.UTC(2026, 0, 1),
  ...v,
}));

/** A deterministic byte stream: SHA-256(seed || counter) blocks. */
export async function deterministicBytes(seed: string, length: number): Promise<Uint8Array> {
  const out = new Uint8Array(length);
  for (let counter = 0, offset = 0; offset < length; counter++, offset += 32) {
    const block = new Uint8Array(
      await crypto.subtle.digest("SHA-256", concat(utf8(seed), utf8(`:${counter}`))),
    );
    out.set(block.subarray(0, Math.min(32, length - offset)), offset);
  }
  return out;
}

/** The salt, object id and share key of a vector, in the order seal() asks for them. */
export async function vectorRandom(name: string): Promise<Uint8Array[]> {
  return [
    await deterministicBytes(`${name}/salt`, 32),
    await deterministicBytes(`${name}/object-id`, 16),
    await deterministicBytes(`${name}/share-key`, 32),
  ];
}

/** Seals `params` with its deterministic inputs; returns the outputs as stored. */
export async function sealVector(params: VectorParams, workers?: number) {
  const plaintext = await deterministicBytes(`${params.name}/plaintext`, params.size);
  const queue = await vectorRandom(params.name);
  const sealed = await seal(ReadableStream.from([plaintext]), {
    ...params,
    allowSingleShare: params.k === 1,
    workers,
    random: (length) => {
      const next = queue.shift();
      if (next === undefined || next.length !== length) throw new Error("unexpected random draw");
      return next;
    },
  });
  const shares = await Promise.all(sealed.shares.map((s) => new Response(s).bytes()));
  const { headerBytes, manifest } = await sealed.done;
  return { plaintext, headerBytes, manifest, shares, retrievalToken: sealed.retrievalToken };
}

if (import.meta.main) {
  const vectors = [];
  for (const params of VECTOR_PARAMS) {
    const out = await sealVector(params);
    const header = decodeHeader(out.headerBytes);
    const master = await deriveMasterKey(params.password, header.kdf);
    const keys = await deriveObjectKeys(master, utf8(params.tag), header.objectId);
    vectors.push({
      ...params,
      plaintext: toHex(out.plaintext),
      master: toHex(master),
      fileKey: toHex(keys.fileKey),
      retrievalToken: toHex(keys.retrievalToken),
      header: toHex(out.headerBytes),
      manifest: toHex(out.manifest),
      shares: out.shares.map(toHex),
    });
  }
  const path = new URL("./pipeline.json", import.meta.url);
  await Deno.writeTextFile(path, JSON.stringify({ version: 2, vectors }, null, 1) + "\n");
  console.log(`wrote ${vectors.length} vectors to ${path.pathname}`);
}
