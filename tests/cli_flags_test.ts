/**
 * Flags as people type them (issue 11): no command at all, -k more than -n,
 * `-k=2`, one-letter flags named as typed, and `-c CONFIG` before the
 * command. Each a one-line error and the usage exit code, through the real CLI.
 */

import { assert, assertEquals } from "./assert.ts";

const main = new URL("../cli/main.ts", import.meta.url).pathname;

async function run(args: string[]) {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", main, ...args],
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
    env: { NO_COLOR: "1", SECSHRNET_REDIS_URL: "redis://127.0.0.1:1" },
  }).output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: output.code, stdout: decode(output.stdout), stderr: decode(output.stderr) };
}

/** One line from secshrnet on stderr, with no stack trace or escape codes. */
function oneLine(stderr: string): boolean {
  const lines = stderr.trim().split("\n");
  return lines.length === 1 && lines[0].startsWith("secshrnet: ") &&
    !/unexpected error|\bat .*:\d+:\d+/.test(stderr) && !stderr.includes("\x1b[");
}

Deno.test("no command is a usage error: help on stderr, exit 2", async () => {
  const { code, stdout, stderr } = await run([]);
  assertEquals(code, 2);
  assertEquals(stdout, "");
  assert(stderr.includes("Usage: secshrnet COMMAND"), stderr);
  const help = await run(["--help"]);
  assertEquals([help.code, help.stderr], [0, ""]);
});

Deno.test("-k above -n is a usage error before anything is contacted, whatever the numbers", async () => {
  for (const [k, n] of [["5", "3"], ["4", "3"]]) {
    const { code, stderr } = await run(["put", "/t", "/nonexistent", "-k", k, "-n", n]);
    assertEquals(code, 2, stderr);
    assert(oneLine(stderr), stderr);
    assert(stderr.includes(`-k ${k} is more than -n ${n}`), stderr);
  }
});

Deno.test("one-letter flags are named as typed, and -k=2 is -k 2", async () => {
  const bad = await run(["put", "/t", "/nonexistent", "-k", "two"]);
  assertEquals(bad.code, 2);
  assert(oneLine(bad.stderr) && bad.stderr.includes("-k must be"), bad.stderr);
  assert(!bad.stderr.includes("--k"), bad.stderr);
  const joined = await run(["put", "/t", "/nonexistent", "-k=2", "-n=3"]);
  assertEquals(joined.code, 2);
  assert(oneLine(joined.stderr), joined.stderr);
  assert(joined.stderr.includes("cannot read /nonexistent"), joined.stderr);
});

Deno.test("-c CONFIG may come before the command", async () => {
  for (const args of [["-c", "/nonexistent.conf", "ls"], ["--config=/nonexistent.conf", "ls"]]) {
    const { code, stderr } = await run(args);
    assertEquals(code, 2, stderr);
    assert(oneLine(stderr), stderr);
    assert(stderr.includes("config file /nonexistent.conf not found"), stderr);
  }
});

Deno.test("--log-n 30 says what scrypt would need before anything is contacted, exit 2", async () => {
  const available = Deno.systemMemoryInfo().available;
  assert(available < 2 ** 40, `this test needs a machine with under 1 TiB free (${available})`);
  const { code, stderr } = await run(["put", "/t", main, "--log-n", "30"]);
  assertEquals(code, 2, stderr);
  assert(oneLine(stderr), stderr);
  assert(stderr.includes("scrypt logN 30 needs 1 TiB of memory"), stderr);
  assert(!stderr.includes("RangeError"), stderr);
});
