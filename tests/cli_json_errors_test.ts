/**
 * `--json` failures through the real CLI: a command run with `--json` that
 * fails prints exactly one object on stdout,
 * `{"error":{"code":CODE,"message":MESSAGE},"exit":N}` (MESSAGE being the one
 * stderr line without "secshrnet: "), and still that line on stderr; a
 * command that printed its JSON result and exits non-zero (check 3 and 4)
 * prints no second object; `--json` after `--` is not a flag.
 */

import { assert, assertEquals } from "./assert.ts";
import { FAST, inputFile, PW, runIsolated, workDir, WRONG_PW } from "./harness/client.ts";
import { startNetwork, type TestNetwork } from "./harness/network.ts";
import { freePort } from "./harness/redis.ts";
import { type Outcome, runClean as run } from "./harness/clean_run.ts";

/** One failing command line and what it must say. */
interface Failure {
  /** The command line after `secshrnet`, with --json. */
  args: string[];
  /** Its exit code, also the object's `exit`. */
  exit: number;
  /** The object's `error.code`. */
  code: string;
  /** What the stderr line must match. */
  line?: RegExp;
  /** Extra environment. */
  env?: Record<string, string>;
}

/** The lines of `text`, empty ones left out. */
function lines(text: string): string[] {
  return text.split("\n").filter((line) => line !== "");
}

/** No library warning, stack trace or "unexpected error" in `text`. */
function assertOurs(text: string, label: string): void {
  assert(!text.includes("[WARN]"), `an ioredis warning: ${label}`);
  assert(!/unexpected error/i.test(text), `unexpected error: ${label}`);
  assert(!/^\s+at /m.test(text), `a stack trace: ${label}`);
}

/**
 * Asserts `outcome` is `failure`: its exit code, one stderr line, and stdout
 * exactly the one JSON object that restates them.
 */
function assertFailure(failure: Failure, outcome: Outcome): void {
  const { code, stdout, stderr } = outcome;
  const label = `secshrnet ${failure.args.join(" ")}: ${JSON.stringify({ code, stdout, stderr })}`;
  assertEquals(outcome.code, failure.exit, label);
  assertOurs(outcome.stdout + outcome.stderr, label);
  const [line, ...more] = lines(outcome.stderr);
  assertEquals(more, [], `not one stderr line: ${label}`);
  assert(line?.startsWith("secshrnet: "), label);
  if (failure.line !== undefined) assert(failure.line.test(line), `${failure.line}: ${label}`);
  assert(outcome.stdout.endsWith("}\n"), label);
  assertEquals(JSON.parse(outcome.stdout), {
    error: { code: failure.code, message: line.slice("secshrnet: ".length) },
    exit: failure.exit,
  }, label);
}

Deno.test("--json failures without a network: usage errors of every command and an unreachable Redis give one JSON object and one stderr line", async () => {
  const home = await Deno.makeTempDir({ prefix: "secshrnet-json-errors-" });
  try {
    const env = { HOME: home, SECSHRNET_REDIS_URL: `redis://127.0.0.1:${freePort()}` };
    const input = `${home}/in.bin`;
    await Deno.writeFile(input, new Uint8Array(10));
    const usage = (args: string[], line: RegExp): Failure => ({
      args,
      exit: 2,
      code: "usage",
      line,
    });
    const network = (args: string[]): Failure => ({
      args,
      exit: 1,
      code: "network",
      line: /^secshrnet: cannot reach Redis at .*; the URL comes from SECSHRNET_REDIS_URL$/,
      env: { SECSHRNET_PASSWORD: "x" },
    });
    const failures: Failure[] = [
      usage(["put", "/t", "--json"], /usage: secshrnet put TAG FILE/),
      usage(["put", "/t", input, "-k", "4", "-n", "3", "--json"], /-k 4 is more than -n 3/),
      usage(["get", "/t", "-", "--json"], /--json cannot be used with -/),
      usage(["ls", "--bogus", "--json"], /unknown option --bogus/),
      usage(["servers", "extra", "--json"], /usage: secshrnet servers/),
      usage(["rm", "--json"], /usage: secshrnet rm TAG/),
      usage(["check", "--timeout", "0", "--json"], /--timeout must be/),
      usage(["repair", "--bogus", "--json"], /unknown option --bogus/),
      usage(["recover", "/t", "out", "--json"], /give at least one --root DIR/),
      usage(["trust", "--all", "abc", "--json"], /either --all or server ids/),
      usage(["untrust", "--json"], /unknown option --json/),
      usage(["config", "--bogus", "--json"], /--bogus|unknown command 'config'/),
      usage(["lss", "--json"], /unknown command 'lss'/),
      usage(["version", "--json"], /'version' takes no arguments/),
      usage(["ls", "-c", `${home}/none.conf`, "--json"], /none\.conf not found/),
      network(["ls", "--json"]),
      network(["servers", "--json"]),
      network(["check", "--json"]),
      network(["repair", "--json"]),
      network(["rm", "/t", "--json"]),
      network(["get", "/t", `${home}/out`, "--json"]),
      network(["put", "/t", input, "--json"]),
    ];
    await Promise.all(failures.map(async (failure) => {
      assertFailure(failure, await run(failure.args, { ...env, ...failure.env }));
    }));

    // Without --json, or with it only after "--", stdout stays empty.
    for (const args of [["ls"], ["rm", "--", "--json"]]) {
      const outcome = await run(args, env);
      const label = JSON.stringify(outcome);
      assert(outcome.code !== 0, label);
      assertEquals(outcome.stdout, "", label);
      assertEquals(lines(outcome.stderr).length, 1, label);
    }
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("--json failures on a network: exists, wrong password, not found and no password each give their code and exit; check's own non-zero report stays one JSON value", async () => {
  const network = await startNetwork(3);
  try {
    const data = crypto.getRandomValues(new Uint8Array(2000));
    const file = await inputFile(network, data);
    const out = `${await workDir(network)}/out.bin`;
    const stored = await network.run(["put", "/json/a", file, "-k", "2", ...FAST, "--json"], {
      env: PW,
    });
    assertEquals(stored.code, 0, stored.stderr);
    assertEquals(JSON.parse(stored.stdout).status, "stored", stored.stdout);

    const failures: (Failure & { isolated?: boolean })[] = [
      { args: ["put", "/json/a", file, ...FAST, "--json"], exit: 6, code: "exists", env: PW },
      {
        args: ["get", "/json/a", out, "--json"],
        exit: 5,
        code: "wrong-password",
        env: WRONG_PW,
      },
      { args: ["get", "/json/none", out, "--json"], exit: 4, code: "not-found", env: PW },
      { args: ["rm", "/json/none", "--json"], exit: 4, code: "not-found", env: PW },
      // No terminal, no password variable: the password cannot be read.
      {
        args: ["put", "/json/b", file, ...FAST, "--json"],
        exit: 2,
        code: "password",
        isolated: true,
      },
    ];
    for (const failure of failures) {
      const outcome = failure.isolated
        ? await runIsolated(network, failure.args, { env: failure.env })
        : await network.run(failure.args, { env: failure.env });
      assertFailure(failure, outcome);
    }

    // check prints its report and exits 4 (a tag not found is lost), 3 (degraded), 4 (lost):
    // one JSON value each time, no error object after it.
    const missing = await network.run(["check", "--verify", "/json/none", "--json"], { env: PW });
    assertEquals(missing.code, 4, JSON.stringify(missing));
    assertEquals(JSON.parse(missing.stdout).map((r: { status: string }) => r.status), ["lost"]);
    assertEquals(missing.stderr, "", JSON.stringify(missing));
    await stopServer(network, 0);
    const degraded = await network.run(["check", "--json"]);
    assertEquals(degraded.code, 3, JSON.stringify(degraded));
    const report = JSON.parse(degraded.stdout);
    assert(Array.isArray(report), degraded.stdout);
    assertEquals(report.map((r: { status: string }) => r.status), ["degraded"], degraded.stdout);
    assertOurs(degraded.stderr, degraded.stderr);
    await stopServer(network, 1);
    const lost = await network.run(["check", "--json"]);
    assertEquals(lost.code, 4, JSON.stringify(lost));
    assertEquals(JSON.parse(lost.stdout).map((r: { status: string }) => r.status), ["lost"]);
    assert(!lost.stdout.includes('"error"'), lost.stdout);
  } finally {
    await network.stop();
  }
});

/** Stops server `index` and waits until Redis no longer lists it. */
async function stopServer(network: TestNetwork, index: number): Promise<void> {
  await network.servers[index].stop();
  await network.waitForServers(network.servers.filter((s) => s.running).length);
}
