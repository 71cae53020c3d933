/**
 * Helpers for the tests of secshrnet on a secured Redis (passwords, ACL
 * users, TLS): a network that is always stopped, and the check that a
 * command Redis will not let in fails by itself, on one line, with exit 1
 * and without printing a password.
 *
 * @module
 */

import { assert, assertEquals } from "../assert.ts";
import { type NetworkOptions, startNetwork, type TestNetwork } from "./network.ts";
import { FAST, inputFile, PW, runIsolated } from "./client.ts";

/** Starts a network of `servers` servers with `options`, runs `test`, always stops it. */
export async function withSecuredNetwork(
  servers: number,
  options: NetworkOptions,
  test: (network: TestNetwork) => Promise<void>,
): Promise<void> {
  const network = await startNetwork(servers, options);
  try {
    await test(network);
  } finally {
    await network.stop();
  }
}

/**
 * Runs `secshrnet ARGS` (isolated, password in the environment, `env` over
 * the network's) and checks that it failed by itself within a 60 s hang
 * guard, with exit 1, nothing on stdout, and a last line "secshrnet: cannot
 * reach Redis at ..." or "secshrnet: Redis refused ..." holding `reason`. A
 * client command prints only that line; `serve` may log lines before it, all
 * holding `reason`, and none saying it retries. No string of `secrets` may
 * appear. Returns stderr.
 */
export async function refused(
  network: TestNetwork,
  args: string[],
  env: Record<string, string>,
  reason: string,
  secrets: string[],
): Promise<string> {
  const run = await runIsolated(network, args, { env: { ...PW, ...env }, timeoutMs: 60_000 });
  const what = `${args.join(" ")}: ${run.stderr}`;
  assert(!run.timedOut, `${args[0]} did not give up (endless retry?): ${what}`);
  assertEquals(run.code, 1, what);
  assertEquals(run.stdout, "", what);
  const lines = run.stderr.trimEnd().split("\n");
  const last = lines[lines.length - 1];
  assert(/^secshrnet: (cannot reach Redis at |Redis refused)/.test(last), what);
  assert(last.includes(reason), `expected ${reason}: ${what}`);
  assert(!run.stderr.includes("unexpected error"), what);
  if (args[0] === "serve") {
    assert(lines.every((line) => line === last || line.includes(reason)), what);
    assert(!run.stderr.includes("retrying"), what);
  } else {
    assertEquals(lines.length, 1, what);
  }
  for (const secret of secrets) assert(!run.stderr.includes(secret), `secret printed: ${what}`);
  return run.stderr;
}

/** ls, servers, put and get (with `extraArgs`, e.g. `-c FILE`): each {@linkcode refused}. */
export async function clientsRefused(
  network: TestNetwork,
  env: Record<string, string>,
  reason: string,
  secrets: string[],
  extraArgs: string[] = [],
): Promise<void> {
  const file = await inputFile(network, new Uint8Array(100));
  const put = ["put", "/redis/no", file, ...FAST];
  const commands = [["ls"], ["servers"], put, ["get", "/redis/no", "-"]];
  for (const args of commands) {
    await refused(network, [...args, ...extraArgs], env, reason, secrets);
  }
}
