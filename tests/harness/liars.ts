/**
 * The test side of lying servers (tests/harness/liar.ts): a network whose
 * servers all run the real server through the liar entry script, honest until
 * told otherwise; turning one into a liar; finding which share index each
 * server holds, so a test can make exactly the servers a `get` reads from lie;
 * and `get --json` into a file.
 *
 * @module
 */

import { decodeHeader } from "../../core/header.ts";
import { LIAR_SCRIPT, type LieMode } from "./liar.ts";
import { type RunResult, type ServerProcess, startNetwork, type TestNetwork } from "./network.ts";
import { namedServers, PW } from "./client.ts";
import { assert, assertEquals } from "../assert.ts";
import { sameBytes } from "../objects.ts";

/** Starts `count` servers, all through {@linkcode LIAR_SCRIPT}, honest until told otherwise. */
export async function startLiarNetwork(count: number): Promise<TestNetwork> {
  return await startNetwork(count, { server: { script: LIAR_SCRIPT, args: ["--lie", "honest"] } });
}

/** Runs `test` on a network of `count` liar-capable servers (all honest at first), always stopped after. */
export async function withLiarNetwork(
  count: number,
  test: (network: TestNetwork) => Promise<void>,
): Promise<void> {
  const network = await startLiarNetwork(count);
  try {
    await test(network);
  } finally {
    await network.stop();
  }
}

/** Makes `server` (started through {@linkcode LIAR_SCRIPT}) lie as `mode` from its next request on. */
export async function setLie(server: ServerProcess, mode: LieMode): Promise<void> {
  const temp = `${server.root}/lie.tmp`;
  await Deno.writeTextFile(temp, mode + "\n");
  await Deno.rename(temp, `${server.root}/lie`);
}

/** The share index `server` holds of the newest object of `tag` it stores, read from its root. */
export async function indexOf(server: ServerProcess, tag: string): Promise<number | undefined> {
  let newest: { dir: string; index: number } | undefined;
  const tags = `${server.root}/tags`;
  for await (const prefix of Deno.readDir(tags)) {
    for await (const hash of Deno.readDir(`${tags}/${prefix.name}`)) {
      for await (const object of Deno.readDir(`${tags}/${prefix.name}/${hash.name}`)) {
        const dir = `${tags}/${prefix.name}/${hash.name}/${object.name}`;
        if (!/^\d{15}-[0-9a-f]{32}$/.test(object.name)) continue;
        if (decodeHeader(await Deno.readFile(`${dir}/header`)).tag !== tag) continue;
        if (newest !== undefined && newest.dir > dir) continue;
        newest = { dir, index: Number(await Deno.readTextFile(`${dir}/index`)) };
      }
    }
  }
  return newest?.index;
}

/** The servers of `network` holding `tag`, ordered by their share index (index 1 first). */
export async function byIndex(network: TestNetwork, tag: string): Promise<ServerProcess[]> {
  const indexed = await Promise.all(
    network.servers.map(async (server) => ({ server, index: await indexOf(server, tag) })),
  );
  return indexed.filter((s) => s.index !== undefined)
    .sort((a, b) => a.index! - b.index!)
    .map((s) => s.server);
}

/** What `get --json` printed. */
export interface GetSummary {
  tag: string;
  file: string;
  size: number;
  k: number;
  n: number;
  servers: string[];
  rejected: { server: string; index?: number; reason: string }[];
}

/** A `get --json` run: its result, the summary when it succeeded, and the file it wrote (if any). */
export interface GetRun extends RunResult {
  summary?: GetSummary;
  /** The output file's bytes, `undefined` when there is none. */
  output?: Uint8Array;
  /** Files left in the output directory besides the output (partial files). */
  leftovers: string[];
}

let gets = 0;

/**
 * `secshrnet get TAG FILE --json` into a fresh directory, killed after
 * `timeoutMs` (a hang guard, never a timing claim).
 */
export async function getJson(
  network: TestNetwork,
  tag: string,
  timeoutMs = 60_000,
): Promise<GetRun> {
  const dir = `${network.dir}/get-${++gets}`;
  await Deno.mkdir(dir);
  const file = `${dir}/out`;
  const result = await network.run(["get", tag, file, "--json"], { env: PW, timeoutMs });
  const output = await Deno.readFile(file).catch(() => undefined);
  const leftovers: string[] = [];
  for await (const entry of Deno.readDir(dir)) if (entry.name !== "out") leftovers.push(entry.name);
  const summary = result.code === 0 ? JSON.parse(result.stdout) as GetSummary : undefined;
  return { ...result, summary, output, leftovers };
}

/** `server:<id>` of each server. */
export function addresses(servers: ServerProcess[]): string[] {
  return servers.map((s) => `server:${s.id}`);
}

/** The servers `get` rejected, sorted, and the reason given for each. */
export function rejections(run: GetRun): Map<string, string> {
  assert(run.summary !== undefined, `get failed (${run.code}): ${run.stderr}`);
  return new Map(run.summary.rejected.map((r) => [r.server, r.reason]));
}

/** Asserts a successful get of exactly `data` that rejected exactly `liars` (and warned about each). */
export function assertRecovered(
  run: GetRun,
  data: Uint8Array,
  liars: string[],
  network: TestNetwork,
) {
  assertEquals(run.code, 0, run.stderr);
  assert(run.output !== undefined && sameBytes(run.output, data), "the exact original bytes");
  assertEquals(
    [...rejections(run).keys()].sort(),
    addresses(network.servers.filter((s) => liars.includes(s.id))).sort(),
  );
  // People see the first 16 hex digits of an id.
  const short = (id: string) => id.slice(0, 16);
  const names = network.servers.map((s) => short(s.id));
  assertEquals(namedServers(run.stderr, names).sort(), liars.map(short).sort(), run.stderr);
  for (const id of liars) {
    assert(run.stderr.includes(`did not use ${short(id)}`), `warned about ${id}: ${run.stderr}`);
  }
  // `servers` lists every server read from, liars included; at least k honest ones remain.
  const honest = run.summary!.servers.filter((s) => !liars.some((id) => s === `server:${id}`));
  assert(honest.length >= run.summary!.k, `k honest sources: ${run.summary!.servers}`);
}

/** Asserts a failed get: exit 4, "found F of K needed shares", every liar named, no file left. */
export function assertShortOfShares(run: GetRun, found: number, k: number, liars: string[]) {
  assertEquals(run.code, 4, `${run.stdout}${run.stderr}`);
  assert(run.stderr.includes(`found ${found} of ${k} needed shares`), run.stderr);
  for (const id of liars) {
    assert(run.stderr.includes(id.slice(0, 16)), `names ${id}: ${run.stderr}`);
  }
  assertEquals(run.stderr.trim().split("\n").length, 1, `one line: ${run.stderr}`);
  assertEquals(run.output, undefined, "no output file");
  assertEquals(run.leftovers, [], "no partial file");
  // With --json, the failure as one object on stdout (cli/exit.ts failureJson).
  const failure = JSON.parse(run.stdout);
  assertEquals([failure.exit, failure.error.code], [4, "not-enough-shares"], run.stdout);
}
