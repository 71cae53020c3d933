/**
 * Tests of the password sources (cli/password.ts, cli/password_sources.ts):
 * file, fd and environment, and the "no terminal" error (in a child with no
 * controlling terminal). The prompt itself is tested in
 * password_prompt_test.ts, a command's output in password_command_test.ts.
 *
 * @module
 */

import { assert, assertEquals, assertRejects } from "./assert.ts";
import { PasswordError, readPassword } from "../cli/password.ts";
import { runtimeDescriptor } from "../cli/password_sources.ts";
import { DENO, encode, FIXTURE, hasCommand, run, sha256Hex } from "./harness/password.ts";
import { withTempDir } from "./harness/temp_dir.ts";

const NO_PASSWORD = "no password: set SECSHRNET_PASSWORD or SECSHRNET_PASSWORD_COMMAND, or use";

/** readPassword with a file holding `content` (and an empty environment). */
function fromFile(content: string | Uint8Array, env: Record<string, string> = {}) {
  return withTempDir(async (dir) => {
    const path = `${dir}/pw`;
    await Deno.writeFile(path, typeof content === "string" ? encode(content) : content);
    return await readPassword({ source: { passwordFile: path, env }, prompt: "Password: " });
  });
}

// ---- file source ----

Deno.test("file: one trailing \\n or \\r\\n is removed, nothing else", async () => {
  assertEquals(await fromFile("hunter2\n"), "hunter2");
  assertEquals(await fromFile("hunter2\r\n"), "hunter2");
  assertEquals(await fromFile("hunter2"), "hunter2");
  assertEquals(await fromFile("hunter2\n\n"), "hunter2\n");
  assertEquals(
    await fromFile(" two words \u00e9\u20ac\u{1f511} \n"),
    " two words \u00e9\u20ac\u{1f511} ",
  );
});

Deno.test("file: missing, empty, directory, bad UTF-8 → errors naming the path", async () => {
  await withTempDir(async (dir) => {
    const missing = `${dir}/nope`;
    const source = { passwordFile: missing, env: { SECSHRNET_PASSWORD: "from-env" } };
    const error = await assertRejects(
      () => readPassword({ source, prompt: "" }),
      PasswordError,
      missing,
    );
    assert(error.message.includes("No such file or directory"), error.message);
    assert(!error.message.includes("\n"), "one-line message");
    const isDir = await assertRejects(
      () => readPassword({ source: { passwordFile: dir }, prompt: "" }),
      PasswordError,
      dir,
    );
    assert(/directory/i.test(isDir.message), isDir.message);
  });
  await assertRejects(() => fromFile(""), PasswordError, "empty password");
  await assertRejects(() => fromFile("\n"), PasswordError, "empty password");
  await assertRejects(() => fromFile(new Uint8Array([0x61, 0xff, 0x0a])), PasswordError, "UTF-8");
});

// ---- fd source ----

/**
 * Runs `fn` with a temporary file holding `content`, open in this process, and
 * the descriptor it is open on (found through /proc/self/fd).
 */
function withOpenFile(content: string, fn: (fd: number, path: string) => Promise<void>) {
  return withTempDir(async (dir) => {
    const path = await Deno.realPath(dir) + "/pw";
    await Deno.writeTextFile(path, content);
    using _file = await Deno.open(path, { read: true });
    const fd = [...Deno.readDirSync("/proc/self/fd")].map((entry) => Number(entry.name))
      .find((n) => {
        try {
          return Deno.readLinkSync(`/proc/self/fd/${n}`) === path;
        } catch {
          return false; // the descriptor of the listing itself is gone by now
        }
      });
    assert(fd !== undefined && fd > 2, "the opened file has a descriptor");
    await fn(fd, path);
  });
}

Deno.test({
  name: "fd: reads a descriptor this process holds open (found through /proc/self/fd)",
  ignore: Deno.build.os !== "linux",
  fn: () =>
    withOpenFile("fd p\u00e4ss\n", async (fd) => {
      const env = { SECSHRNET_PASSWORD: "from-env" };
      assertEquals(
        await readPassword({ source: { passwordFd: fd, env }, prompt: "" }),
        "fd p\u00e4ss",
      );
    }),
});

Deno.test({
  name: "fd: a number the runtime used at startup, reused for another file, is the caller's",
  ignore: Deno.build.os !== "linux",
  fn: () =>
    withOpenFile("x", (fd, path) => {
      const ino = /^ino:\s*(\d+)/m.exec(Deno.readTextFileSync(`/proc/self/fdinfo/${fd}`))?.[1];
      // At startup the number held the event loop; now it holds the caller's file.
      assertEquals(runtimeDescriptor(fd, new Map([[fd, `anon_inode:[eventpoll] ${ino}`]])), false);
      // The same target since startup (and close-on-exec): the runtime's own.
      assertEquals(runtimeDescriptor(fd, new Map([[fd, `${path} ${ino}`]])), true);
      assertEquals(runtimeDescriptor(fd, new Map()), false);
      return Promise.resolve();
    }),
});

Deno.test("fd: a pipe on descriptor 3 of a child (--password-fd 3 3<&0)", async () => {
  const script = `exec "$0" run -A --quiet "$1" --fd 3 3<&0 </dev/null`;
  const result = await run(["sh", "-c", script, DENO, FIXTURE], encode("pipe secret\n"));
  assertEquals(result.code, 0, result.stderr);
  const report = JSON.parse(result.stdout);
  assertEquals(report.length, 11);
  assertEquals(report.sha256, await sha256Hex("pipe secret"));
});

Deno.test("fd: bad descriptors are named in the error", async () => {
  const env = {};
  for (const bad of [-1, 1.5]) {
    await assertRejects(
      () => readPassword({ source: { passwordFd: bad, env }, prompt: "" }),
      PasswordError,
      `bad password fd ${bad}`,
    );
  }
  const error = await assertRejects(
    () => readPassword({ source: { passwordFd: 987654, env }, prompt: "" }),
    PasswordError,
    "cannot read password fd 987654: not open",
  );
  assert(!error.message.includes("\n"), "one-line message");
});

Deno.test("file and fd together → error", async () => {
  const source = { passwordFile: "/etc/hostname", passwordFd: 0, env: {} };
  await assertRejects(() => readPassword({ source, prompt: "" }), PasswordError, "only one of");
});

// ---- environment ----

Deno.test("env: SECSHRNET_PASSWORD set, empty, and lower in priority than file/fd", async () => {
  const prompt = "Password: ";
  const env = { SECSHRNET_PASSWORD: "env \u00fc pw" };
  assertEquals(await readPassword({ source: { env }, prompt, confirm: true }), "env \u00fc pw");
  await assertRejects(
    () => readPassword({ source: { env: { SECSHRNET_PASSWORD: "" } }, prompt }),
    PasswordError,
    "SECSHRNET_PASSWORD is empty",
  );
  assertEquals(await fromFile("file pw\n", env), "file pw");
});

Deno.test("env: the process environment is the default", async () => {
  const saved = Deno.env.get("SECSHRNET_PASSWORD");
  try {
    Deno.env.set("SECSHRNET_PASSWORD", "process env pw");
    assertEquals(await readPassword({ source: {}, prompt: "" }), "process env pw");
  } finally {
    if (saved === undefined) Deno.env.delete("SECSHRNET_PASSWORD");
    else Deno.env.set("SECSHRNET_PASSWORD", saved);
  }
});

// ---- no terminal at all ----

Deno.test({
  name: "no source and no terminal (setsid, stdin null) → quick 'no password' error",
  ignore: !hasCommand("/usr/bin/setsid"),
  fn: async () => {
    const started = Date.now();
    const result = await run(["/usr/bin/setsid", "-w", DENO, "run", "-A", "--quiet", FIXTURE]);
    assertEquals(result.code, 1, result.stderr);
    const report = JSON.parse(result.stdout);
    assertEquals(report.passwordError, true);
    assert(report.message.startsWith(NO_PASSWORD), report.message);
    assert(!result.stderr.includes("Password:"), "no prompt was shown");
    assert(Date.now() - started < 20_000);
  },
});
