/**
 * core/segment_workers.ts: sealing and opening on a pool of Web Workers give
 * exactly the bytes of the calling thread, for random k, n, sizes and pool
 * sizes; a tampered, reordered or truncated share is rejected the same way
 * with workers as without; and a closed pool does no more work.
 */

import { assert, assertEquals, assertRejects } from "./assert.ts";
import { prng } from "./prng.ts";
import {
  cloneObject,
  type MemoryObject,
  openAll,
  sameBytes,
  sealToMemory,
  shareBody,
  source,
} from "./objects.ts";
import { SegmentWorkers } from "../core/segment_workers.ts";
import { concat } from "../core/bytes.ts";

const S = 65536;

/** A random source of the given seed, for sealing the same object twice. */
function randomSource(seed: number): (length: number) => Uint8Array {
  const random = prng(seed);
  return (length) => random.bytes(length);
}

/**
 * Every fragment frame of `object`, concatenated, for comparing two sealings
 * (the key shares and so the manifest differ: Shamir draws its own randomness).
 */
function allFrames(object: MemoryObject): Uint8Array {
  return concat(...object.frames.flat());
}

Deno.test("segment workers: sealing on 1 to 4 workers gives the calling thread's bytes (random k, n, sizes)", async () => {
  const random = prng(4401);
  for (let round = 0; round < 8; round++) {
    const n = random.int(1, 7);
    const k = random.int(1, n);
    const size = random.int(0, 9) * S + random.int(0, 2) * random.int(1, S);
    const data = random.bytes(size);
    const seed = random.next();
    const what = `round ${round}: k=${k} n=${n} size=${size}`;
    const options = { k, n, created: 1, random: randomSource(seed) };
    const inline = await sealToMemory(data, { ...options, workers: 0 }, 30_000);
    const workers = random.int(1, 4);
    const pooled = await sealToMemory(
      data,
      { ...options, random: randomSource(seed), workers },
      30_000,
    );
    assert(sameBytes(allFrames(pooled), allFrames(inline)), `${what}, ${workers} workers`);
    assert(sameBytes(pooled.header, inline.header), what);
  }
});

Deno.test("segment workers: opening on workers gives the plaintext from any k shares, in order", async () => {
  const random = prng(4402);
  for (let round = 0; round < 6; round++) {
    const n = random.int(2, 6);
    const k = random.int(1, n);
    const data = random.bytes(random.int(1, 12) * S - random.int(0, 100));
    const object = await sealToMemory(data, { k, n, workers: 0 });
    const indices = Array.from({ length: n }, (_, i) => i + 1)
      .sort(() => random.next() - 2 ** 31).slice(0, k);
    for (const workers of [0, 1, 3]) {
      const { plaintext, rejections } = await openAll(
        indices.map((i) => source(object, i, { chunk: random.int(1000, 70_000) })),
        { workers },
      );
      const what = `round ${round}: k=${k} n=${n} shares ${indices} workers ${workers}`;
      assert(sameBytes(plaintext, data), what);
      assertEquals(rejections, [], what);
    }
  }
});

Deno.test("segment workers: a tampered, reordered or truncated share is rejected alike with and without workers", async () => {
  const data = prng(4403).bytes(10 * S + 17);
  const object = await sealToMemory(data, { k: 2, n: 5, workers: 0 });
  const tampered = cloneObject(object);
  tampered.frames[1][6][100] ^= 1; // index 2, segment 6
  const swapped = cloneObject(object);
  [swapped.frames[3][2], swapped.frames[3][3]] = [swapped.frames[3][3], swapped.frames[3][2]];
  const truncated = shareBody(object, 5).subarray(0, shareBody(object, 5).length - 5000);
  const outcomes = [];
  for (const workers of [0, 2]) {
    const sources = [
      source(object, 1),
      source(tampered, 2),
      source(object, 3),
      source(swapped, 4),
      source(object, 5, { body: truncated }),
    ];
    const { plaintext, rejections } = await openAll(sources, { workers });
    assert(sameBytes(plaintext, data), `workers ${workers}`);
    outcomes.push(rejections.map((r) => [r.index, r.reason, r.segment]));
  }
  assertEquals(outcomes[0], [
    [4, "fragment-out-of-order", 2],
    [2, "fragment-invalid", 6],
    [5, "truncated", 9],
  ]);
  assertEquals(outcomes[1], outcomes[0], "the same rejections with 2 workers");
});

Deno.test("segment workers: a closed pool does no more work, and its workers' replies come back by id", async () => {
  const key = await crypto.subtle.importKey("raw", new Uint8Array(32), "AES-GCM", false, [
    "encrypt",
    "decrypt",
  ]);
  const hmac = await crypto.subtle.importKey(
    "raw",
    new Uint8Array(32),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign", "verify"],
  );
  const keys = {
    fileKey: new Uint8Array(32),
    shareKey: key,
    fragmentKey: hmac,
    objectId: new Uint8Array(16),
  };
  const pool = new SegmentWorkers(keys, 2, 3, 2);
  const inline = new SegmentWorkers(keys, 2, 3, 0);
  try {
    // Many segments at once, answered out of order by two workers, each matched by id.
    const plaintexts = Array.from({ length: 12 }, (_, i) => prng(i).bytes(1000 + i));
    const pooled = await Promise.all(plaintexts.map((p, i) => pool.seal(i, i === 11, p.slice())));
    const expected = await Promise.all(
      plaintexts.map((p, i) => inline.seal(i, i === 11, p.slice())),
    );
    assertEquals(
      pooled.map((frames) => frames.map((f) => f.length)),
      expected.map((frames) => frames.map((f) => f.length)),
    );
    pooled.forEach((frames, i) =>
      frames.forEach((frame, j) =>
        assert(sameBytes(frame, expected[i][j]), `segment ${i} frame ${j}`)
      )
    );
  } finally {
    pool.close();
    inline.close();
  }
  await assertRejects(() => pool.seal(0, true, new Uint8Array(1)), Error, "closed");
});

Deno.test("segment workers: a program bundled into one file, without the worker module, seals on one thread and prints nothing", async () => {
  const dir = await Deno.makeTempDir({ prefix: "secshrnet-bundle-" });
  try {
    const entry = `${dir}/entry.ts`;
    await Deno.writeTextFile(
      entry,
      `import { seal } from ${JSON.stringify(new URL("../mod.ts", import.meta.url).href)};\n` +
        "const data = new Uint8Array(5 * 65536 + 3).map((_, i) => i % 251);\n" +
        "const sealed = await seal(ReadableStream.from([data]), { tag: '/x', password: 'p', " +
        "k: 2, n: 3, logN: 10, segmentSize: 65536, workers: 2 });\n" +
        "const shares = await Promise.all(sealed.shares.map((s) => new Response(s).bytes()));\n" +
        "await sealed.done;\n" +
        "console.log(shares.map((s) => s.length).join(','));\n",
    );
    const run = (args: string[], cwd?: string) =>
      new Deno.Command(Deno.execPath(), { args, cwd, stdout: "piped", stderr: "piped" }).output();
    const config = new URL("../deno.json", import.meta.url).pathname;
    const bundled = await run([
      "bundle",
      "--quiet",
      "--config",
      config,
      "-o",
      `${dir}/b.js`,
      entry,
    ]);
    assertEquals(bundled.code, 0, new TextDecoder().decode(bundled.stderr));
    const result = await run(["run", "--allow-all", `${dir}/b.js`], dir);
    const stderr = new TextDecoder().decode(result.stderr);
    assertEquals(result.code, 0, stderr);
    assertEquals(stderr, "");
    assertEquals(new TextDecoder().decode(result.stdout).trim(), "164165,164165,164165");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
