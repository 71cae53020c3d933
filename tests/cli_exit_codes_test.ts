/**
 * Every documented exit code, and every edge issue 11 names, through the real
 * CLI, as one table: each case asserts its exit code, at most one line on
 * stderr (the error, saying what to do), and that no "unexpected error", stack
 * trace or ANSI escape appears when the output is not a terminal.
 *
 * The cases that need no network run against a Redis URL where nothing
 * listens; the others share one network of 3 servers, in order (the last ones
 * stop servers).
 */

import { assert, assertEquals } from "./assert.ts";
import { prng } from "./prng.ts";
import { inputFile, PW, WRONG_PW } from "./harness/client.ts";
import { runProcess, secshrnetArgs, startNetwork, type TestNetwork } from "./harness/network.ts";
import { freePort } from "./harness/redis.ts";
import { type Outcome, runClean as run } from "./harness/clean_run.ts";

/** One row of the table. */
interface Case {
  /** What is tried, as a user would say it. */
  name: string;
  /** The command line after `secshrnet`. */
  args: string[];
  /** Extra environment. */
  env?: Record<string, string>;
  /** The exit code it must give. */
  exit: number;
  /** What the one stderr line (the error, or a warning) must match; null: stderr must be empty. */
  stderr: RegExp | null;
  /** With --json: the failure object on stdout must carry this exit and code. */
  jsonCode?: string;
}

/** Asserts the rules every case shares, then the case's own. */
function check(row: Case, outcome: Outcome): void {
  const label = `${row.name}: ${JSON.stringify(outcome)}`;
  assertEquals(outcome.code, row.exit, label);
  const all = outcome.stdout + outcome.stderr;
  assert(!/unexpected error/i.test(all), `unexpected error: ${label}`);
  assert(!/^\s+at .*:\d+:\d+\)?$/m.test(all), `stack trace: ${label}`);
  assert(!all.includes("\x1b"), `ANSI escape: ${label}`);
  assert(!all.includes("[WARN]"), `a library warning: ${label}`);
  const lines = outcome.stderr.split("\n").filter((line) => line !== "");
  if (row.stderr === null) {
    assertEquals(lines, [], label);
  } else {
    assertEquals(lines.length, 1, `not one stderr line: ${label}`);
    if (row.exit !== 0) assert(lines[0].startsWith("secshrnet: "), label);
    assert(row.stderr.test(lines[0]), `stderr does not match ${row.stderr}: ${label}`);
  }
  if (row.jsonCode !== undefined) {
    const failure = JSON.parse(outcome.stdout);
    assertEquals(failure.exit, row.exit, label);
    assertEquals(failure.error.code, row.jsonCode, label);
    assertEquals(`secshrnet: ${failure.error.message}`, lines[0], label);
  }
}

Deno.test("exit codes without a network: usage (2), failure (1), each one line", async () => {
  const home = await Deno.makeTempDir({ prefix: "secshrnet-exit-" });
  // Something that is not Redis: it answers every connection as a web server would.
  const notRedis = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const serving = (async () => {
    for await (const conn of notRedis) {
      await conn.write(new TextEncoder().encode("HTTP/1.1 400 Bad Request\r\n\r\n")).catch(
        () => {},
      );
      await conn.read(new Uint8Array(1024)).catch(() => null); // let the client read it first
      conn.close();
    }
  })().catch(() => {});
  try {
    const env = { HOME: home, SECSHRNET_REDIS_URL: `redis://127.0.0.1:${freePort()}` };
    const input = `${home}/in.bin`;
    await Deno.writeFile(input, new Uint8Array(100));
    const badConfig = `${home}/bad.conf`;
    await Deno.writeTextFile(badConfig, "[redis]\nurl = 7\n");
    const aFile = `${home}/a-file`;
    await Deno.writeTextFile(aFile, "");
    const rows: Case[] = [
      { name: "an unknown command", args: ["gett"], exit: 2, stderr: /did you mean 'get'/ },
      { name: "an unknown flag", args: ["ls", "--jsn"], exit: 2, stderr: /--jsn/ },
      {
        name: "-k above -n (by far)",
        args: ["put", "/t", input, "-k", "5", "-n", "3"],
        exit: 2,
        stderr: /-k 5 is more than -n 3/,
      },
      {
        name: "-k above -n (by one)",
        args: ["put", "/t", input, "-k", "4", "-n", "3"],
        exit: 2,
        stderr: /-k 4 is more than -n 3/,
      },
      {
        name: "a one-letter flag is named as typed",
        args: ["put", "/t", input, "-k", "two"],
        exit: 2,
        stderr: /^secshrnet: -k must be/,
      },
      {
        name: "--log-n 30 is more memory than the machine has",
        args: ["put", "/t", input, "--log-n", "30"],
        env: { SECSHRNET_PASSWORD: "x" },
        exit: 2,
        stderr: /logN 30 needs 1 TiB of memory.*--log-n 20/,
      },
      {
        name: "get - --json is refused",
        args: ["get", "/t", "-", "--json"],
        exit: 2,
        stderr: /--json/,
      },
      {
        name: "a config file with a wrong type",
        args: ["ls", "-c", badConfig],
        exit: 2,
        stderr: /bad\.conf: \[redis\] url must be a string/,
      },
      {
        name: "a -c file that does not exist, given before the command",
        args: ["-c", `${home}/none.conf`, "ls"],
        exit: 2,
        stderr: /none\.conf not found/,
      },
      {
        name: "an input file that does not exist",
        args: ["put", "/t", `${home}/missing`],
        env: { SECSHRNET_PASSWORD: "x" },
        exit: 2,
        stderr: /cannot read .*missing/,
      },
      {
        name: "Redis where nothing listens",
        args: ["ls"],
        exit: 1,
        stderr: /cannot reach Redis/,
      },
      {
        name: "a usage error with --json",
        args: ["put", "/t", input, "-k", "5", "-n", "3", "--json"],
        exit: 2,
        stderr: /-k 5 is more than -n 3/,
        jsonCode: "usage",
      },
      {
        name: "a Redis URL where something else listens",
        args: ["ls", "--json"],
        env: { SECSHRNET_REDIS_URL: `redis://127.0.0.1:${(notRedis.addr as Deno.NetAddr).port}` },
        exit: 1,
        stderr: /does not speak the Redis protocol.*SECSHRNET_REDIS_URL/,
        jsonCode: "network",
      },
      {
        name: "config init",
        args: ["config", "init", "-c", `${home}/init.conf`, "--redis", "redis://127.0.0.1:1"],
        env: { SECSHRNET_REDIS_URL: "" },
        exit: 0,
        stderr: /^wrote .*init\.conf \(mode 0600\)/,
      },
      {
        name: "config init over an existing file",
        args: ["config", "init", "-c", `${home}/init.conf`],
        env: { SECSHRNET_REDIS_URL: "" },
        exit: 6,
        stderr: /init\.conf exists; use --force/,
      },
      {
        name: "a root that is a file",
        args: ["serve", "-r", aFile],
        exit: 2,
        stderr: /a-file/,
      },
      {
        name: "a root under /proc",
        args: ["serve", "-r", "/proc/secshrnet-test-root"],
        exit: 2,
        stderr: /\/proc\/secshrnet-test-root/,
      },
    ];
    for (const row of rows) check(row, await run(row.args, { ...env, ...row.env }));
  } finally {
    notRedis.close();
    await serving;
    await Deno.remove(home, { recursive: true });
  }
});

/** `secshrnet ARGS | head -c 10`: the exit code of secshrnet, and what it printed on stderr. */
async function intoHead(network: TestNetwork, args: string[]): Promise<Outcome> {
  const { code, stdout, stderr } = await runProcess("bash", {
    args: [
      "-c",
      '"$@" | head -c 10 >/dev/null; exit "${PIPESTATUS[0]}"',
      "bash",
      Deno.execPath(),
      ...secshrnetArgs(),
      ...args,
    ],
    env: { ...network.env, ...PW, NO_COLOR: "1" },
    timeoutMs: 120_000,
  });
  return { code, stdout, stderr };
}

/** Starts `secshrnet ARGS`, sends SIGINT once `ready` holds, and collects what it did. */
async function interrupted(
  network: TestNetwork,
  args: string[],
  ready: () => boolean,
): Promise<Outcome> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [...secshrnetArgs(), ...args],
    env: { ...network.env, ...PW, NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  for (let i = 0; i < 600 && !ready(); i++) await new Promise((r) => setTimeout(r, 50));
  assert(ready(), "never got ready to interrupt");
  child.kill("SIGINT");
  const output = await child.output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: output.code, stdout: decode(output.stdout), stderr: decode(output.stderr) };
}

Deno.test("exit codes on a network: 0, 3, 4, 5, 6, 130, and a reader that stops (141)", async () => {
  const network = await startNetwork(3);
  try {
    const data = prng(11).bytes(1 << 20);
    const input = await inputFile(network, data);
    const out = `${network.dir}/out.bin`;
    await Deno.writeTextFile(out, "keep me");
    const fresh = await Deno.makeTempDir({ dir: network.dir });
    const put = ["put", "/t/a", input, "--log-n", "10", "-k", "2"];
    const rows: Case[] = [
      { name: "put", args: put, env: PW, exit: 0, stderr: null },
      { name: "put of a tag that exists", args: put, env: PW, exit: 6, stderr: /--force/ },
      {
        name: "get to a file that exists",
        args: ["get", "/t/a", out],
        env: PW,
        exit: 6,
        stderr: /--force/,
      },
      {
        name: "get with a wrong password",
        args: ["get", "/t/a", `${network.dir}/w`],
        env: WRONG_PW,
        exit: 5,
        stderr: /wrong password/,
      },
      {
        name: "get of a tag nobody has",
        args: ["get", "/t/none", `${network.dir}/n`],
        env: PW,
        exit: 4,
        stderr: /\/t\/none/,
      },
      {
        name: "--password-fd on a closed descriptor",
        args: ["get", "/t/a", `${network.dir}/p`, "--password-fd", "9"],
        exit: 2,
        stderr: /password fd 9: not open/,
      },
      {
        name: "a failure with --json",
        args: ["get", "/t/none", `${network.dir}/n`, "--json"],
        env: PW,
        exit: 4,
        stderr: /\/t\/none/,
        jsonCode: "not-found",
      },
      {
        name: "a password command that fails",
        args: ["put", "/t/b", input, "--log-n", "10", "-k", "2", "--password-command", "exit 3"],
        exit: 2,
        stderr: /--password-command/,
      },
      {
        name: "a password sent to a Redis that has none",
        args: ["ls"],
        env: { SECSHRNET_REDIS_URL: network.redis.url.replace("redis://", "redis://:pw@") },
        exit: 0,
        stderr: /warning: Redis at .* needs no password, but one is configured/,
      },
      {
        name: "a client that trusts no server yet",
        args: ["ls"],
        env: { HOME: fresh },
        exit: 1,
        stderr: /secshrnet trust/,
      },
    ];
    for (const row of rows) check(row, await network.run(row.args, { env: row.env }));
    assertEquals(await Deno.readTextFile(out), "keep me", "a refused get touched the file");

    const head = await intoHead(network, ["get", "/t/a", "-"]);
    assertEquals([head.code, head.stderr], [141, ""], "a stopped reader is a quiet exit 141");

    const roots = network.servers.map((s) => `${s.root}/uploads`);
    const big = await inputFile(network, new Uint8Array(64 << 20));
    const stopped = await interrupted(
      network,
      ["put", "/t/big", big, "--log-n", "10", "-k", "2"],
      () => roots.every((dir) => [...Deno.readDirSync(dir)].length > 0),
    );
    check({ name: "Ctrl-C", args: [], exit: 130, stderr: /^secshrnet: interrupted$/ }, stopped);

    await network.servers[2].stop();
    const degraded = await network.run(["check", "/t/a"]);
    check(
      { name: "check of a degraded tag", args: [], exit: 3, stderr: /trusted servers offline/ },
      degraded,
    );
    await network.servers[1].stop();
    const lost = await network.run(["get", "/t/a", `${network.dir}/l`], { env: PW });
    check(
      { name: "get with one of two needed shares", args: [], exit: 4, stderr: /1 of 2/ },
      lost,
    );
  } finally {
    await network.stop();
  }
});
