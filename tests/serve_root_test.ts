/**
 * `secshrnet serve` with a root or log file it cannot use, through the real
 * CLI: one line on stderr naming the root (or log file) and what to do,
 * exit 2 (a config problem systemd should not retry), nothing on stdout, and
 * no Redis needed: SECSHRNET_REDIS_URL points at a port where nothing
 * listens, which a server that got as far as connecting would wait on
 * forever (the hang guard would kill it).
 */

import { assert, assertEquals } from "./assert.ts";
import { runProcess, secshrnetArgs } from "./harness/network.ts";
import { freePort } from "./harness/redis.ts";

/** Runs `secshrnet serve ARGS` in `dir` with Redis nowhere; resolves with what it did. */
async function serve(dir: string, args: string[]) {
  const result = await runProcess(Deno.execPath(), {
    args: [...secshrnetArgs(), "serve", ...args],
    cwd: dir,
    env: {
      SECSHRNET_REDIS_URL: `redis://127.0.0.1:${freePort()}`,
      HOME: dir,
      DENO_DIR: Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME")}/.cache/deno`,
      NO_COLOR: "1",
    },
    timeoutMs: 60_000,
  });
  assertEquals(result.timedOut, false, "it exits by itself, before connecting");
  assertEquals(result.stdout, "");
  return result;
}

/** Asserts `stderr` is exactly one `secshrnet: ` line matching `pattern`. */
function oneLine(stderr: string, pattern: RegExp): void {
  assert(stderr.endsWith("\n") && stderr.split("\n").length === 2, `one line: ${stderr}`);
  assert(stderr.startsWith("secshrnet: "), stderr);
  assert(!/unexpected| {4}at /.test(stderr), stderr);
  assert(pattern.test(stderr), `${stderr} should match ${pattern}`);
}

/** Escapes `text` for a RegExp. */
function re(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * Makes `dir` unwritable: chattr +i as root (mode bits do not stop root),
 * else mode 0500. Returns how to undo it.
 */
async function makeUnwritable(dir: string): Promise<() => Promise<void>> {
  if (Deno.uid() !== 0) {
    await Deno.chmod(dir, 0o500);
    return () => Deno.chmod(dir, 0o700);
  }
  const chattr = async (flag: string) => {
    const { code, stderr } = await new Deno.Command("chattr", { args: [flag, dir] }).output();
    if (code !== 0) throw new Error(`chattr ${flag} ${dir}: ${new TextDecoder().decode(stderr)}`);
  };
  await chattr("+i");
  return () => chattr("-i");
}

Deno.test("serve: a root it cannot write, new or used before, is refused in one line, exit 2", async () => {
  const dir = await Deno.makeTempDir({ prefix: "secshrnet-root-" });
  const undo: (() => Promise<void>)[] = [];
  try {
    const fresh = `${dir}/fresh`;
    await Deno.mkdir(fresh, { mode: 0o700 });
    // Used before: its lock and log are there and still writable; nothing new can be made.
    const used = `${dir}/used`;
    await Deno.mkdir(used, { mode: 0o700 });
    await Deno.writeTextFile(`${used}/lock`, "1\n", { mode: 0o600 });
    await Deno.writeTextFile(`${used}/secshrnetd.log`, "", { mode: 0o600 });
    undo.push(await makeUnwritable(fresh), await makeUnwritable(used));
    for (const root of [fresh, used]) {
      const result = await serve(dir, ["-r", root]);
      assertEquals(result.code, 2, result.stderr);
      oneLine(
        result.stderr,
        new RegExp(
          `^secshrnet: cannot use ${re(root)} as the server root: permission denied; choose a ` +
            `root you can write \\(-r DIR\\) or fix its permissions\n$`,
        ),
      );
    }
    assertEquals(await Deno.readTextFile(`${used}/secshrnetd.log`), "", "nothing logged");
    assertEquals([...Deno.readDirSync(fresh)], [], "nothing created");
  } finally {
    for (const step of undo) await step();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("serve: a root that is a file, lies through a file, or is under /proc is refused in one line, exit 2", async () => {
  const dir = await Deno.makeTempDir({ prefix: "secshrnet-root-" });
  try {
    const file = `${dir}/a-file`;
    await Deno.writeTextFile(file, "not a directory\n");
    const cases: [string, RegExp][] = [
      [
        file,
        new RegExp(
          `^secshrnet: ${re(file)} is a file, not a directory; choose a directory for -r\n$`,
        ),
      ],
      [
        `${file}/root`,
        new RegExp(
          `^secshrnet: cannot use ${re(file)}/root as the server root: a part of the path is a ` +
            `file, not a directory; choose another root with -r\n$`,
        ),
      ],
      [
        "/proc/secshrnet",
        /^secshrnet: cannot use \/proc\/secshrnet as the server root: it is under \/proc or \/sys, which store nothing \(.+\); choose a directory on a disk for -r\n$/,
      ],
    ];
    for (const [root, pattern] of cases) {
      const result = await serve(dir, ["-r", root]);
      assertEquals(result.code, 2, result.stderr);
      oneLine(result.stderr, pattern);
    }
    assertEquals(await Deno.readTextFile(file), "not a directory\n", "the file is untouched");
    // A relative root is named as given.
    const relative = await serve(dir, ["-r", "a-file"]);
    assertEquals(relative.code, 2, relative.stderr);
    oneLine(relative.stderr, /^secshrnet: a-file is a file, not a directory; choose a directory/);
    const empty = await serve(dir, ["-r", ""]);
    assertEquals(empty.code, 2, empty.stderr);
    oneLine(empty.stderr, /^secshrnet: -r needs a directory/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("serve: a log file that cannot be opened is named in one line, exit 2; the root is let go", async () => {
  const dir = await Deno.makeTempDir({ prefix: "secshrnet-root-" });
  try {
    const root = `${dir}/root`;
    await Deno.mkdir(`${root}/logs-dir`, { recursive: true, mode: 0o700 });
    const instead = `set \\[server\\] log to a file you can write, or "-" for stderr only`;
    const cases: [string, RegExp][] = [
      [
        "missing/x.log",
        new RegExp(
          `^secshrnet: cannot open the log file ${re(root)}/missing/x.log: its directory does ` +
            `not exist; create it, or ${instead}\n$`,
        ),
      ],
      [
        "logs-dir",
        new RegExp(`^secshrnet: the log file ${re(root)}/logs-dir is a directory; ${instead}\n$`),
      ],
      [
        `${dir}/absent/abs.log`,
        new RegExp(`^secshrnet: cannot open the log file ${re(dir)}/absent/abs.log: its directory`),
      ],
    ];
    for (const [setting, pattern] of cases) {
      const config = `${dir}/server.toml`;
      await Deno.writeTextFile(config, `[server]\nlog = ${JSON.stringify(setting)}\n`);
      const result = await serve(dir, ["-r", root, "-c", config]);
      assertEquals(result.code, 2, result.stderr);
      oneLine(result.stderr, pattern);
      assert(!(await exists(`${root}/secshrnetd.log`)), "no default log instead");
      // The lock was let go: it can be taken at once.
      const lock = await Deno.open(`${root}/lock`, { read: true, write: true });
      try {
        assert(await lock.tryLock(true), "root let go");
      } finally {
        lock.close();
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("serve: a bad config file is exit 2; --help documents the exit codes", async () => {
  const dir = await Deno.makeTempDir({ prefix: "secshrnet-root-" });
  try {
    const config = `${dir}/bad.toml`;
    await Deno.writeTextFile(config, "[server]\nlog_keep = 0\n");
    const bad = await serve(dir, ["-r", `${dir}/root`, "-c", config]);
    assertEquals(bad.code, 2, bad.stderr);
    oneLine(bad.stderr, /log_keep/);
    const missing = await serve(dir, ["-r", `${dir}/root`, "-c", `${dir}/none.toml`]);
    assertEquals(missing.code, 2, missing.stderr);
    oneLine(missing.stderr, /none\.toml/);

    const help = await runProcess(Deno.execPath(), {
      args: [...secshrnetArgs(), "serve", "--help"],
      timeoutMs: 60_000,
    });
    assertEquals(help.code, 0, help.stderr);
    const text = help.stdout.replace(/\s+/g, " ");
    assert(text.includes("Exit codes: 0 stopped (SIGINT, SIGTERM); 1 the root is in use"), text);
    assert(text.includes("2 a bad command line, config file, root or log file"), text);
    assert(text.includes("SIGHUP reopens the log file"), text);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** Whether `path` exists. */
async function exists(path: string): Promise<boolean> {
  return await Deno.lstat(path).then(() => true, () => false);
}
