/**
 * Tests of `--password-command CMD` and SECSHRNET_PASSWORD_COMMAND
 * (cli/password_command.ts): the output as the password, every refusal, the
 * order of the sources, stdin, Ctrl-C, and put / get / a wrong password
 * through the CLI on a real network with the password never printed.
 *
 * @module
 */

import { assert, assertEquals, assertRejects } from "./assert.ts";
import { PasswordError, readPassword } from "../cli/password.ts";
import { MAX_COMMAND_OUTPUT } from "../cli/password_command.ts";
import { DENO, encode, run, sha256Hex } from "./harness/password.ts";
import { withTempDir } from "./harness/temp_dir.ts";
import { FAST, inputFile, PASSWORD, withNetwork } from "./harness/client.ts";
import { secshrnetArgs } from "./harness/network.ts";

const FIXTURE = new URL("./fixtures/read_password_command.ts", import.meta.url).pathname;

/** The password `command` gives, as --password-command (empty environment). */
function fromCommand(command: string, confirm = false): Promise<string> {
  return readPassword({ source: { passwordCommand: command, env: {} }, prompt: "", confirm });
}

/** Shell words for `text`, single-quoted. */
const quote = (text: string) => `'${text.replaceAll("'", `'\\''`)}'`;

Deno.test("command: its output is the password, one trailing \\n or \\r\\n removed", async () => {
  assertEquals(await fromCommand("printf 'hunter2\\n'"), "hunter2");
  assertEquals(await fromCommand("printf 'hunter2\\r\\n'"), "hunter2");
  assertEquals(await fromCommand("printf hunter2"), "hunter2");
  const words = " two words \u00e9\u20ac\u{1f511} ";
  assertEquals(await fromCommand(`printf '%s\\n' ${quote(words)}`), words);
  // A shell line: pipes, quotes and variables work.
  assertEquals(await fromCommand('x=secret; echo "$x" | tr a-z A-Z'), "SECRET");
});

Deno.test("command: refusals are one line, name the source, never the output", async () => {
  const refused = async (command: string, includes: string) => {
    const error = await assertRejects(() => fromCommand(command), PasswordError, includes);
    assert(!error.message.includes("\n"), error.message);
    assert(!error.message.includes("leak"), error.message);
    assert(!error.cancelled);
    return error;
  };
  await refused("exit 3", "--password-command failed (exit code 3;");
  await refused("printf ''", "empty password: --password-command printed nothing");
  await refused("echo", "empty password: --password-command printed nothing");
  await refused("printf 'leak\\nleak\\n'", "--password-command printed more than one line");
  await refused("printf 'leak\\n\\n'", "more than one line");
  await refused("printf 'leak\\rleak'", "more than one line");
  await refused("printf 'leak\\377\\n'", "the output of --password-command is not valid UTF-8");
  await refused(
    `head -c ${MAX_COMMAND_OUTPUT + 1} /dev/zero | tr '\\0' x`,
    `printed more than ${MAX_COMMAND_OUTPUT} bytes`,
  );
  await refused("printf leak; kill -TERM $$", "--password-command was killed by SIGTERM");
  await refused("", "--password-command is empty");
  await refused("   ", "--password-command is empty");
  // Exactly the limit is still read whole.
  const long = await fromCommand(`head -c ${MAX_COMMAND_OUTPUT} /dev/zero | tr '\\0' x`);
  assertEquals(long.length, MAX_COMMAND_OUTPUT);
});

Deno.test("sources: one flag only; a flag beats the environment; both variables → error", async () => {
  await withTempDir(async (dir) => {
    const ran = `${dir}/ran`;
    const counting = `echo x >> ${ran}; echo from-command`;
    const file = `${dir}/pw`;
    await Deno.writeTextFile(file, "from-file\n");
    const read = (source: Parameters<typeof readPassword>[0]["source"], confirm = false) =>
      readPassword({ source, prompt: "", confirm });
    await assertRejects(
      () => read({ passwordFile: file, passwordCommand: counting, env: {} }),
      PasswordError,
      "use only one of --password-file and --password-command",
    );
    await assertRejects(
      () => read({ passwordFd: 0, passwordCommand: counting, env: {} }),
      PasswordError,
      "use only one of --password-fd and --password-command",
    );
    await assertRejects(
      () => read({ passwordFile: file, passwordFd: 0, passwordCommand: counting, env: {} }),
      PasswordError,
      "use only one of --password-file, --password-fd and --password-command",
    );
    // A flag beats both variables; the command of the environment is then not run.
    const env = { SECSHRNET_PASSWORD: "from-env", SECSHRNET_PASSWORD_COMMAND: counting };
    assertEquals(await read({ passwordCommand: "echo from-flag", env }), "from-flag");
    assertEquals(
      await read({ passwordFile: file, env: { SECSHRNET_PASSWORD_COMMAND: counting } }),
      "from-file",
    );
    assertEquals(await exists(ran), false, "the environment's command was run");
    // The variable, when no flag is given; run once, even when put confirms.
    assertEquals(
      await read({ env: { SECSHRNET_PASSWORD_COMMAND: counting } }, true),
      "from-command",
    );
    assertEquals(await Deno.readTextFile(ran), "x\n");
    await assertRejects(
      () => read({ env }),
      PasswordError,
      "both SECSHRNET_PASSWORD and SECSHRNET_PASSWORD_COMMAND are set; unset one",
    );
    await assertRejects(
      () => read({ env: { SECSHRNET_PASSWORD_COMMAND: "" } }),
      PasswordError,
      "SECSHRNET_PASSWORD_COMMAND is empty",
    );
    await assertRejects(
      () => read({ env: { SECSHRNET_PASSWORD_COMMAND: "exit 9" } }),
      PasswordError,
      "SECSHRNET_PASSWORD_COMMAND failed (exit code 9;",
    );
    // --password-command runs once with confirm too.
    assertEquals(await read({ passwordCommand: counting, env: {} }, true), "from-command");
    assertEquals(await Deno.readTextFile(ran), "x\nx\n");
  });
});

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/**
 * Waits until the command run by `child` wrote its pid to `marker`, sends
 * `child` SIGINT, and returns its output and whether the command outlived it
 * (then killed here, so that a broken build fails instead of hanging on the
 * pipes the command inherited).
 */
async function interrupt(child: Deno.ChildProcess, marker: string) {
  let ended = false;
  child.status.then(() => ended = true);
  while (!await exists(marker)) {
    if (ended) throw new Error("the child ended before its command started");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const pid = Number(await Deno.readTextFile(marker));
  child.kill("SIGINT");
  await child.status;
  const outlived = await exists(`/proc/${pid}`);
  if (outlived) Deno.kill(pid, "SIGKILL");
  return { output: await child.output(), outlived };
}

/** Runs the fixture with `args` (and `stdin`); its JSON report and stderr. */
async function fixture(args: string[], stdin?: Uint8Array) {
  const result = await run([DENO, "run", "-A", "--quiet", FIXTURE, ...args], stdin);
  return { report: JSON.parse(result.stdout), stderr: result.stderr, code: result.code };
}

Deno.test("command: its stderr passes through; not found is exit 127 with the shell's message", async () => {
  const failed = await fixture(["--command", "echo 'helper says no' >&2; exit 4"]);
  assertEquals(failed.code, 1);
  assert(failed.stderr.includes("helper says no"), failed.stderr);
  assert(
    failed.report.message.includes("failed (exit code 4; its error output"),
    failed.report.message,
  );
  const missing = await fixture(["--env-command", "secshrnet-no-such-helper --get"]);
  assert(missing.stderr.includes("secshrnet-no-such-helper"), missing.stderr);
  assertEquals(
    missing.report.message,
    "SECSHRNET_PASSWORD_COMMAND failed: command not found (exit code 127; its error output, " +
      "if any, is above); check the command",
  );
  assert(missing.report.passwordError);
});

Deno.test("command: stdin that is not a terminal is not given to it (a piped file stays whole)", async () => {
  const data = encode("file data piped to put -\n".repeat(100));
  // `cat` would print the piped data; with /dev/null it prints nothing.
  const result = await fixture(["--command", "cat; echo from-command", "--read-stdin"], data);
  assertEquals(result.code, 0, result.stderr);
  assertEquals(result.report.sha256, await sha256Hex("from-command"));
  assertEquals(result.report.stdinLength, data.length);
});

Deno.test("command: Ctrl-C (SIGINT) while it runs → cancelled, and the command is stopped", async () => {
  await withTempDir(async (dir) => {
    const marker = `${dir}/pid`;
    const child = new Deno.Command(DENO, {
      args: [
        "run",
        "-A",
        "--quiet",
        FIXTURE,
        "--command",
        `echo $$ > ${marker}.tmp; mv ${marker}.tmp ${marker}; exec sleep 1000`,
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(20_000), // hang guard only
    }).spawn();
    const { output, outlived } = await interrupt(child, marker);
    assertEquals(output.signal, null, "the fixture was killed (hung?)");
    const report = JSON.parse(new TextDecoder().decode(output.stdout));
    assertEquals(report.message, "cancelled");
    assertEquals(report.cancelled, true);
    assertEquals(outlived, false, "the command outlived the fixture");
  });
});

Deno.test("CLI: put, get and a wrong password with a command; never printed; Ctrl-C → 130", async () => {
  await withNetwork(3, async (network) => {
    await withTempDir(async (dir) => {
      const data = encode("kept by a password manager\n");
      const file = await inputFile(network, data);
      const pass = `printf '%s\\n' ${quote(PASSWORD)}`;
      const put = await network.run(["put", "/pm", file, ...FAST, "--password-command", pass]);
      assertEquals(put.code, 0, put.stderr);
      const got = await network.run(["get", "/pm", "-"], {
        env: { SECSHRNET_PASSWORD_COMMAND: pass },
      });
      assertEquals(got.code, 0, got.stderr);
      assertEquals(got.stdoutBytes, data);
      const wrongWord = "not-the-right-one";
      const wrong = await network.run([
        "get",
        "/pm",
        "-",
        "--password-command",
        `echo ${wrongWord}`,
      ]);
      assertEquals(wrong.code, 5, wrong.stderr);
      const conflict = await network.run([
        "get",
        "/pm",
        "-",
        "--password-command",
        pass,
        "--password-fd",
        "0",
      ]);
      assertEquals(conflict.code, 2);
      assertEquals(
        conflict.stderr.trim(),
        "secshrnet: use only one of --password-fd and --password-command",
      );
      for (const result of [put, got, wrong, conflict]) {
        for (const secret of [PASSWORD, wrongWord]) {
          assert(!result.stderr.includes(secret), result.stderr);
          assert(!result.stdout.includes(secret), result.stdout);
        }
      }
      // Ctrl-C while the command runs (get asks inside its interruptible part).
      const marker = `${dir}/pid`;
      const hanging = `echo $$ > ${marker}.tmp; mv ${marker}.tmp ${marker}; exec sleep 1000`;
      const child = new Deno.Command(Deno.execPath(), {
        args: [...secshrnetArgs(), "get", "/pm", "-", "--password-command", hanging],
        env: network.env,
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
        signal: AbortSignal.timeout(60_000), // hang guard only
      }).spawn();
      const { output, outlived } = await interrupt(child, marker);
      assertEquals(output.signal, null, "killed by the hang guard");
      assertEquals(output.code, 130);
      assertEquals(new TextDecoder().decode(output.stderr).trim(), "secshrnet: cancelled");
      assertEquals(output.stdout.length, 0);
      assertEquals(outlived, false, "the command outlived secshrnet");
    });
  });
});

Deno.test("command: stdin that is a terminal is given to it (helpers that ask there)", async () => {
  await withTempDir(async (dir) => {
    const socket = `secshrnet-pwcmd-${crypto.randomUUID().slice(0, 8)}`;
    const tmux = (...args: string[]) =>
      new Deno.Command("tmux", {
        args: ["-L", socket, "-f", "/dev/null", ...args],
        stdout: "null",
        stderr: "null",
        signal: AbortSignal.timeout(20_000),
      }).output();
    const out = `${dir}/report.json`;
    const command = "if [ -t 0 ]; then echo stdin-is-a-terminal; else echo not-a-terminal; fi";
    const fixtureRun = [DENO, "run", "-A", "--quiet", FIXTURE, "--command", command]
      .map(quote).join(" ");
    try {
      await tmux(
        "new-session",
        "-d",
        "-s",
        "t",
        `${fixtureRun} > ${quote(`${out}.tmp`)}; mv ${quote(`${out}.tmp`)} ${quote(out)}`,
      );
      const deadline = Date.now() + 20_000; // hang guard only
      while (!await exists(out)) {
        if (Date.now() > deadline) throw new Error("the fixture never reported");
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const report = JSON.parse(await Deno.readTextFile(out));
      assertEquals(report.sha256, await sha256Hex("stdin-is-a-terminal"), JSON.stringify(report));
    } finally {
      await tmux("kill-server");
    }
  });
});
