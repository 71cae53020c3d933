/**
 * The repair part of `deno task bench`: one missing share of a large object.
 * 5 local servers, k = 3; after the put one server's root is deleted and an
 * empty server takes its place, then `secshrnet repair` runs through the
 * CLI. Measured: wall time (MB/s of the object's plaintext), the share bytes
 * the client uploaded over one share's size (only the missing share should
 * move: target ≤ 1.05), what the new server stored, that no other server's
 * share file changed, and that the object still comes back byte for byte.
 *
 * @module
 */

import { startNetwork } from "../tests/harness/network.ts";
import { secshrnetArgs } from "../tests/harness/network.ts";
import { makePattern, MiB } from "./common.ts";

/** The repair target of issue 10: bytes uploaded over one share's size. */
export const REPAIR_UPLOAD_TARGET = 1.05;

/** What one repair run measured. */
export interface RepairRun {
  sizeMiB: number;
  seconds: number;
  mibps: number;
  /** Share bytes the client uploaded (its own count, from `repair --json`). */
  uploadedBytes: number;
  /** Bytes of one share stream. */
  shareBytes: number;
  uploadRatio: number;
  /** Bytes of the share file the new server committed. */
  storedOnNewServer: number;
  /** No share file of another server changed (size and mtime). */
  othersUntouched: boolean;
  /** `get` afterwards returned the file byte for byte. */
  identical: boolean;
}

async function shareStats(roots: string[]): Promise<string> {
  const lines: string[] = [];
  for (const root of roots) {
    for await (const path of shareFiles(`${root}/tags`)) {
      const stat = await Deno.stat(path);
      lines.push(`${path} ${stat.size} ${stat.mtime?.getTime()}`);
    }
  }
  return lines.sort().join("\n");
}

async function* shareFiles(dir: string): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(dir)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) yield* shareFiles(path);
    else if (entry.name === "share") yield path;
  }
}

async function run(args: string[], env: Record<string, string>, stdout: "piped" | "null") {
  const output = await new Deno.Command(Deno.execPath(), {
    args: [...secshrnetArgs(), ...args],
    env,
    stdout,
    stderr: "piped",
  }).output();
  if (!output.success) {
    throw new Error(`secshrnet ${args[0]} failed: ${new TextDecoder().decode(output.stderr)}`);
  }
  return stdout === "piped" ? new TextDecoder().decode(output.stdout) : "";
}

/** Repairs one missing share of a `sizeMiB` object on a fresh local network. */
export async function runRepairBench(
  sizeMiB: number,
  progress: (text: string) => void,
): Promise<RepairRun> {
  const network = await startNetwork(5);
  try {
    const input = `${network.dir}/input.bin`;
    const pattern = makePattern();
    const file = await Deno.open(input, { write: true, create: true });
    for (let i = 0; i < sizeMiB; i++) {
      pattern[i % pattern.length] ^= i & 255;
      await file.write(pattern);
    }
    file.close();
    const env = { ...network.env, SECSHRNET_PASSWORD: "benchmark password" };
    progress(`repair: put ${sizeMiB} MiB, then replace one server …`);
    await run(["put", "/bench/repair", input, "-k", "3", "--log-n", "10"], env, "null");
    const dead = network.servers[4];
    await dead.stop();
    await Deno.remove(dead.root, { recursive: true });
    const fresh = await network.addServer();
    await network.waitForServers(5);
    const others = network.servers.slice(0, 4).map((s) => s.root);
    const before = await shareStats(others);
    progress(`repair of one missing share, ${sizeMiB} MiB object …`);
    const started = performance.now();
    const json = await run(["repair", "/bench/repair", "--json"], env, "piped");
    const seconds = (performance.now() - started) / 1000;
    const [result] = JSON.parse(json) as { uploadedBytes: number; shareBytes: number }[];
    progress(`  ${(sizeMiB / seconds).toFixed(1)} MB/s`);
    const storedOnNewServer = (await Array.fromAsync(shareFiles(`${fresh.root}/tags`)))
      .reduce((sum, path) => sum + Deno.statSync(path).size, 0);
    const othersUntouched = before === await shareStats(others);
    // Read it back from the new server and two old ones.
    await network.servers[0].stop();
    await network.servers[1].stop();
    await network.waitForServers(3);
    const output = `${network.dir}/output.bin`;
    await run(["get", "/bench/repair", output], env, "null");
    const identical = await sameFile(input, output);
    return {
      sizeMiB,
      seconds,
      mibps: sizeMiB / seconds,
      uploadedBytes: result.uploadedBytes,
      shareBytes: result.shareBytes,
      uploadRatio: result.uploadedBytes / result.shareBytes,
      storedOnNewServer,
      othersUntouched,
      identical,
    };
  } finally {
    await network.stop();
  }
}

async function sameFile(a: string, b: string): Promise<boolean> {
  const [sa, sb] = [await Deno.stat(a), await Deno.stat(b)];
  if (sa.size !== sb.size) return false;
  const [fa, fb] = [await Deno.open(a), await Deno.open(b)];
  try {
    const [ba, bb] = [new Uint8Array(MiB), new Uint8Array(MiB)];
    for (;;) {
      const ra = await fa.read(ba);
      if (ra === null) return true;
      let filled = 0;
      while (filled < ra) {
        const rb = await fb.read(bb.subarray(filled, ra));
        if (rb === null) return false;
        filled += rb;
      }
      for (let i = 0; i < ra; i++) if (ba[i] !== bb[i]) return false;
    }
  } finally {
    fa.close();
    fb.close();
  }
}

/** The repair result as text, with a PASS/FAIL line for the upload target. */
export function repairReport(r: RepairRun): string {
  const pass = r.uploadRatio <= REPAIR_UPLOAD_TARGET && r.othersUntouched && r.identical;
  return [
    "Repair: one missing share of a 5/3 object, through the CLI, on 5 local servers (one replaced by an empty one):",
    `  size ${r.sizeMiB} MiB   ${r.seconds.toFixed(1)} s   ${r.mibps.toFixed(1)} MB/s of plaintext`,
    `  uploaded ${(r.uploadedBytes / MiB).toFixed(2)} MiB of share data for a ${
      (r.shareBytes / MiB).toFixed(2)
    } MiB share (ratio ${r.uploadRatio.toFixed(4)}; envelopes and MACs excluded, about 0.02 %)`,
    `  new server stored ${
      (r.storedOnNewServer / MiB).toFixed(2)
    } MiB; other shares untouched: ${r.othersUntouched}; get afterwards identical: ${r.identical}`,
    `  [${
      pass ? "PASS" : "FAIL"
    }] bytes uploaded / share size ≤ ${REPAIR_UPLOAD_TARGET}, others untouched, file intact`,
  ].join("\n");
}
