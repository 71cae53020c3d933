/**
 * Small helpers for the network end-to-end tests (tests/network_*_test.ts):
 * a network that is always stopped, puts from bytes, gets to bytes, parsed
 * `ls --json` / `servers --json`, a runner without a controlling terminal or
 * inherited environment, and a walk of a server root.
 *
 * @module
 */

import type { ServerInfo } from "../../core/client/catalog.ts";
import type { TrustedServers } from "../../core/client/session.ts";
import { readTrust, trustFilePath, writeTrust } from "../../cli/trust.ts";
import {
  type ProcessResult,
  runProcess,
  type RunResult,
  secshrnetArgs,
  startNetwork,
  type TestNetwork,
} from "./network.ts";

/** The password of every test object. */
export const PASSWORD = "correct horse battery staple";
/** Environment giving {@linkcode PASSWORD}. */
export const PW = { SECSHRNET_PASSWORD: PASSWORD };
/** Environment giving a wrong password. */
export const WRONG_PW = { SECSHRNET_PASSWORD: "not the password" };
/** Cheap scrypt for every put. */
export const FAST = ["--log-n", "10"];

/** Config lines every test's own client config needs: a scrypt floor that allows {@linkcode FAST}. */
export const TEST_FLOOR = "\n[kdf]\nmin_log_n = 10\n";

/**
 * Copies the clients' trust list beside `configPath` (its extension replaced
 * by `.trusted`), as `secshrnet trust -c configPath` would make it.
 */
export async function shareTrust(network: TestNetwork, configPath: string): Promise<void> {
  await writeTrust(trustFilePath(configPath), await readTrust(network.trustFile));
}

/** The servers of `network` as a library client's trust list (the CLI reads its trust file). */
export function trustedServers(network: TestNetwork): TrustedServers {
  return { ids: new Set(network.servers.map((s) => s.id)), source: network.trustFile };
}

/** Starts `servers` servers, runs `test`, and always stops the network. */
export async function withNetwork(
  servers: number,
  test: (network: TestNetwork) => Promise<void>,
): Promise<void> {
  const network = await startNetwork(servers);
  try {
    await test(network);
  } finally {
    await network.stop();
  }
}

/** A fresh directory for a test's input and output files, inside the network's scratch dir. */
export async function workDir(network: TestNetwork, name = "work"): Promise<string> {
  const dir = `${network.dir}/${name}`;
  await Deno.mkdir(dir, { recursive: true });
  return dir;
}

let inputs = 0;

/** Writes `data` to a new file under the network's work dir; returns its path. */
export async function inputFile(network: TestNetwork, data: Uint8Array): Promise<string> {
  const path = `${await workDir(network)}/input-${++inputs}`;
  await Deno.writeFile(path, data);
  return path;
}

/** `secshrnet put TAG FILE --log-n 10 ...extra` with `data` in a file; password from env. */
export async function putBytes(
  network: TestNetwork,
  tag: string,
  data: Uint8Array,
  extra: string[] = [],
  env: Record<string, string> = PW,
): Promise<RunResult> {
  const file = await inputFile(network, data);
  return await network.run(["put", tag, file, ...FAST, ...extra], { env });
}

/** `secshrnet get TAG - ...extra`: the exit code, stderr and the bytes written to stdout. */
export async function getBytes(
  network: TestNetwork,
  tag: string,
  env: Record<string, string> = PW,
  extra: string[] = [],
): Promise<RunResult> {
  return await network.run(["get", tag, "-", ...extra], { env });
}

/** One entry of `ls --json`. */
export interface LsEntry {
  tag: string;
  size: number;
  created: number;
  k: number;
  n: number;
  servers: string[];
  recoverable: boolean;
}

/** One entry of `servers --json` (the client library's own type). */
export type ServerEntry = ServerInfo;

/** Runs `args` and parses stdout as JSON; throws with stderr when the exit code is not 0. */
export async function runJson<T>(network: TestNetwork, args: string[]): Promise<T> {
  const result = await network.run(args);
  if (result.code !== 0) {
    throw new Error(`secshrnet ${args.join(" ")} exited ${result.code}: ${result.stderr}`);
  }
  return JSON.parse(result.stdout) as T;
}

/** `ls --json`, parsed. */
export async function lsJson(network: TestNetwork): Promise<LsEntry[]> {
  return await runJson<LsEntry[]>(network, ["ls", "--json"]);
}

/** `servers --json`, parsed. */
export async function serversJson(network: TestNetwork): Promise<ServerEntry[]> {
  return await runJson<ServerEntry[]>(network, ["servers", "--json"]);
}

/** Waits until `condition()` holds, polling; throws `what` after `timeoutMs`. */
export async function waitUntil(
  condition: () => Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!await condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${what}`);
    // ioredis destroys a socket that has not closed 2 s after disconnect().
    await new Promise((resolve) => setTimeout(resolve, 2100));
  }
}

/** Waits (up to `timeoutMs`, longer than the harness's 20 s) until exactly `count` servers are subscribed. */
export async function waitForServers(
  network: TestNetwork,
  count: number,
  timeoutMs = 40_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await network.waitForServers(count);
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
    }
  }
}

/** The server ids in `text` (stderr of a client command), from the given list. */
export function namedServers(text: string, ids: string[]): string[] {
  return ids.filter((id) => text.includes(id));
}

/** Every path under `dir`, relative to it, directories and files, sorted. */
export async function walk(dir: string): Promise<string[]> {
  const paths: string[] = [];
  const visit = async (relative: string) => {
    for await (const entry of Deno.readDir(relative === "" ? dir : `${dir}/${relative}`)) {
      const path = relative === "" ? entry.name : `${relative}/${entry.name}`;
      paths.push(path);
      if (entry.isDirectory) await visit(path);
    }
  };
  await visit("");
  return paths.sort();
}

/** Names of the entries of `dir`, sorted. */
export async function entries(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) names.push(entry.name);
  return names.sort();
}

/**
 * Runs `secshrnet ARGS` in a new session (setsid: no controlling terminal, so
 * no /dev/tty to prompt on), with stdin null and only the environment given
 * plus PATH, HOME and SECSHRNET_REDIS_URL of the network: nothing inherited.
 * Killed after `timeoutMs`; `elapsedMs` says how long it ran.
 */
export async function runIsolated(
  network: TestNetwork,
  args: string[],
  options: { env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<ProcessResult> {
  return await runProcess("setsid", {
    args: ["-w", Deno.execPath(), ...secshrnetArgs(), ...args],
    clearEnv: true,
    env: { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", ...network.env, ...options.env },
    timeoutMs: options.timeoutMs ?? 30_000,
  });
}

/** The committed object directories of a server root (tags/<h:2>/<h>/<commit>-<oid>). */
export async function objectDirs(root: string): Promise<string[]> {
  return (await walk(`${root}/tags`))
    .filter((p) => /^[0-9a-f]{2}\/[0-9a-f]{64}\/\d{15}-[0-9a-f]{32}$/.test(p))
    .map((p) => `${root}/tags/${p}`);
}

/** Closes in-process hosts or clients (Host.close waits until its Redis connections have ended). */
export async function closeSettled(...closables: { close(): Promise<void> }[]): Promise<void> {
  await Promise.all(closables.map((c) => c.close()));
}
