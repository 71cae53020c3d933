/**
 * `deno task demo`: the object pipeline end to end on this machine. It seals
 * a generated 64 MiB file into 5 shares (any 3 rebuild it), loses 2 of them,
 * rebuilds the file from the other 3 and checks it byte for byte, then shows
 * a corrupted share being caught and a wrong password refused. The shares go
 * to files in a temporary directory standing in for 5 servers; the network
 * (Redis, `secshrnet serve`) comes with the next milestone.
 *
 * @module
 */

import { open, seal, SecshrnetError } from "../mod.ts";
import { randomBytes } from "../core/bytes.ts";

const MiB = 2 ** 20;
const SIZE = 64 * MiB;
const K = 3, N = 5, LOG_N = 16;
const TAG = "/demo/backup.tar";
const PASSWORD = "demo password, not a real one";

const dir = await Deno.makeTempDir({ prefix: "secshrnet-demo-" });
const cleanup = () => Deno.removeSync(dir, { recursive: true });
Deno.addSignalListener("SIGINT", () => {
  cleanup();
  console.log("\ninterrupted; removed", dir);
  Deno.exit(130);
});

const step = (text: string) => console.log(`\n▶ ${text}`);
const mib = (bytes: number) => `${(bytes / MiB).toFixed(2)} MiB`;
const rate = (bytes: number, ms: number) => `${(bytes / MiB / (ms / 1000)).toFixed(0)} MiB/s`;
const server = (i: number) => `${dir}/server-${i}`;

async function sha256File(path: string): Promise<string> {
  // Whole-file digest; fine for a 64 MiB demo file.
  const digest = await crypto.subtle.digest("SHA-256", await Deno.readFile(path));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

async function openFrom(indices: number[], password: string, output: string) {
  const sources = await Promise.all(indices.map(async (index) => ({
    index,
    header: await Deno.readFile(`${server(index)}/header`),
    manifest: await Deno.readFile(`${server(index)}/manifest`),
    shares: (await Deno.open(`${server(index)}/share`)).readable,
  })));
  const opened = await open(sources, { tag: TAG, password });
  const partial = `${output}.partial`;
  try {
    const sink = await Deno.open(partial, { write: true, createNew: true });
    await opened.plaintext.pipeTo(sink.writable);
  } catch (error) {
    await Deno.remove(partial).catch(() => {});
    throw error;
  }
  await Deno.rename(partial, output);
  return opened.rejections;
}

try {
  console.log(`secshrnet demo: the object pipeline on this machine (working in ${dir})`);
  console.log(`5 directories stand in for 5 servers; the Redis network is not built yet.`);

  step(`Generating a ${mib(SIZE)} file of random bytes`);
  const input = `${dir}/backup.tar`;
  const file = await Deno.open(input, { write: true, create: true });
  for (let written = 0; written < SIZE; written += MiB) await file.write(randomBytes(MiB));
  file.close();
  const original = await sha256File(input);
  console.log(`  SHA-256 ${original}`);

  step(`Sealing it under tag ${TAG} into n=${N} shares, any k=${K} of which rebuild it`);
  console.log(`  (scrypt logN=${LOG_N} to keep the demo quick; the default is 20)`);
  let started = performance.now();
  const sealed = await seal((await Deno.open(input)).readable, {
    tag: TAG,
    password: PASSWORD,
    k: K,
    n: N,
    logN: LOG_N,
  });
  const kdfMs = performance.now() - started;
  started = performance.now();
  await Promise.all(sealed.shares.map(async (stream, i) => {
    await Deno.mkdir(server(i + 1));
    await stream.pipeTo(
      (await Deno.open(`${server(i + 1)}/share`, { write: true, create: true })).writable,
    );
  }));
  const { headerBytes, manifest } = await sealed.done;
  for (let i = 1; i <= N; i++) {
    await Deno.writeFile(`${server(i)}/header`, headerBytes);
    await Deno.writeFile(`${server(i)}/manifest`, manifest);
  }
  const sealMs = performance.now() - started;
  console.log(`  key derivation ${kdfMs.toFixed(0)} ms; sealing ${rate(SIZE, sealMs)}`);
  let total = 0;
  for (let i = 1; i <= N; i++) {
    const bytes = (await Deno.stat(`${server(i)}/share`)).size + headerBytes.length +
      manifest.length;
    total += bytes;
    console.log(`  server-${i}: ${mib(bytes)} (${(bytes / SIZE * 100).toFixed(1)} % of the file)`);
  }
  console.log(
    `  all servers: ${mib(total)} = ${(total / SIZE).toFixed(3)} × the file (n/k = ${
      (N / K).toFixed(3)
    })`,
  );

  step("Losing server-2 and server-4");
  await Deno.remove(server(2), { recursive: true });
  await Deno.remove(server(4), { recursive: true });

  step("Rebuilding the file from servers 1, 3 and 5");
  started = performance.now();
  const output = `${dir}/restored.tar`;
  await openFrom([1, 3, 5], PASSWORD, output);
  const restored = await sha256File(output);
  console.log(`  opening ${rate(SIZE, performance.now() - started)}; SHA-256 ${restored}`);
  if (restored !== original) throw new Error("restored file differs from the original");
  console.log("  ✔ identical to the original, byte for byte");

  step("Flipping one byte in the middle of server-3's share, then rebuilding again");
  const share3 = await Deno.open(`${server(3)}/share`, { read: true, write: true });
  const position = Math.floor((await share3.stat()).size / 2);
  const byte = new Uint8Array(1);
  await share3.seek(position, Deno.SeekMode.Start);
  await share3.read(byte);
  byte[0] ^= 0x01;
  await share3.seek(position, Deno.SeekMode.Start);
  await share3.write(byte);
  share3.close();
  try {
    await openFrom([1, 3, 5], PASSWORD, `${dir}/second.tar`);
    throw new Error("a corrupted share went unnoticed");
  } catch (error) {
    if (!(error instanceof SecshrnetError)) throw error;
    console.log(`  ✔ refused: ${error.message}`);
  }
  const exists = (path: string) => Deno.stat(path).then(() => true, () => false);
  if (await exists(`${dir}/second.tar`) || await exists(`${dir}/second.tar.partial`)) {
    throw new Error("a partial output file was left behind");
  }
  console.log("  ✔ no output file, partial or whole, was left behind");

  step("Trying a wrong password");
  try {
    await openFrom([1, 5, 3], "wrong password", `${dir}/third.tar`);
    throw new Error("a wrong password was accepted");
  } catch (error) {
    if (!(error instanceof SecshrnetError)) throw error;
    console.log(`  ✔ refused: ${error.message}`);
  }
  console.log("\nDemo finished: every check passed.");
} finally {
  cleanup();
}
