/**
 * Tests of the password prompt (cli/password_terminal.ts and
 * cli/password_line_editor.ts, through cli/password.ts): the pure
 * {@linkcode LineEditor}, the prompt loop on a fake terminal, and the real
 * hidden prompt in a pseudo-terminal driven through tmux.
 *
 * @module
 */

import { assert, assertEquals, assertRejects } from "./assert.ts";
import {
  LineEditor,
  type LineEvent,
  PasswordError,
  promptHidden,
  type PromptTerminal,
} from "../cli/password.ts";
import { DENO, encode, FIXTURE, hasCommand, run, sha256Hex } from "./harness/password.ts";
import { withTempDir } from "./harness/temp_dir.ts";

const MODULE_URL = new URL("../cli/password.ts", import.meta.url).href;

// ---- the pure line editor ----

/** Feeds `chunks` to a new LineEditor and returns every event produced. */
function events(...chunks: (string | number[])[]): LineEvent[] {
  const editor = new LineEditor();
  const seen: LineEvent[] = [];
  for (const chunk of chunks) {
    editor.push(typeof chunk === "string" ? encode(chunk) : new Uint8Array(chunk));
    for (let event = editor.next(); event !== undefined; event = editor.next()) seen.push(event);
  }
  return seen;
}

Deno.test("LineEditor: Enter, backspace over multi-byte code points, Ctrl-U", () => {
  assertEquals(events("abc\r"), [{ kind: "line", text: "abc" }]);
  assertEquals(events("abc\n"), [{ kind: "line", text: "abc" }]);
  assertEquals(events("abc"), []);
  assertEquals(events("\r"), [{ kind: "line", text: "" }]);
  assertEquals(events("ab\x7fc\x08d\r"), [{ kind: "line", text: "ad" }]);
  assertEquals(events("x\u00e9\x7f\r"), [{ kind: "line", text: "x" }]); // 2 bytes
  assertEquals(events("x\u20ac\x7f\r"), [{ kind: "line", text: "x" }]); // 3 bytes
  assertEquals(events("x\u{1f511}\x7f\r"), [{ kind: "line", text: "x" }]); // 4 bytes
  assertEquals(events("\u00e9\u20ac\x7f\x7f\x7f\x7fok\r"), [{ kind: "line", text: "ok" }]);
  assertEquals(events("secret\x15new\r"), [{ kind: "line", text: "new" }]);
  // A character split across reads, then erased whole.
  assertEquals(events([0x61, 0xe2], [0x82, 0xac], "\x7f\u00e9\r"), [
    { kind: "line", text: "a\u00e9" },
  ]);
  // A stray continuation byte is erased alone, and the line then decodes.
  assertEquals(events([0x61, 0x80, 0x7f, 0x0d]), [{ kind: "line", text: "a" }]);
});

Deno.test("LineEditor: Ctrl-C, Ctrl-D, escape sequences, CR LF, bytes kept for the next line", () => {
  assertEquals(events("abc\x03"), [{ kind: "cancel" }]);
  assertEquals(events("\x04"), [{ kind: "eof" }]);
  assertEquals(events("ab\x04c\r"), [{ kind: "line", text: "abc" }]);
  assertEquals(events("a\x1b[Db\x1bOAc\x1b[1;5Cd\x1b[200~e\x1b[201~\r"), [
    { kind: "line", text: "abcde" },
  ]);
  assertEquals(events("a\tb\x00c\r"), [{ kind: "line", text: "abc" }]);
  assertEquals(events("one\r\ntwo\r", "\nthree\n"), [
    { kind: "line", text: "one" },
    { kind: "line", text: "two" },
    { kind: "line", text: "three" },
  ]);
  assertEquals(events("\n\n"), [{ kind: "line", text: "" }, { kind: "line", text: "" }]);
  const editor = new LineEditor();
  editor.push(encode("first\rsec"));
  assertEquals(editor.next(), { kind: "line", text: "first" });
  assertEquals(editor.next(), undefined);
  assertEquals(editor.byteLength, 3);
  editor.clear();
  assertEquals(editor.byteLength, 0);
  editor.push(new Uint8Array([0xff, 0x0d]));
  let error: unknown;
  try {
    editor.next();
  } catch (caught) {
    error = caught;
  }
  assert(error instanceof PasswordError && error.message.includes("UTF-8"));
});

// ---- the prompt loop on a fake terminal ----

/** A terminal that replays `chunks` as reads and records writes and raw-mode changes. */
class FakeTerminal implements PromptTerminal {
  output = "";
  rawModes: boolean[] = [];
  constructor(private chunks: string[]) {}
  read(buffer: Uint8Array): Promise<number | null> {
    const chunk = this.chunks.shift();
    if (chunk === undefined) return Promise.resolve(null);
    const bytes = encode(chunk);
    buffer.set(bytes);
    return Promise.resolve(bytes.length);
  }
  write(bytes: Uint8Array): Promise<void> {
    this.output += new TextDecoder().decode(bytes);
    return Promise.resolve();
  }
  setRaw(raw: boolean): void {
    this.rawModes.push(raw);
  }
}

Deno.test("promptHidden: two prompts, typed-ahead keys, raw mode restored, nothing echoed", async () => {
  const terminal = new FakeTerminal(["pa", "ss\u00e9\x7fw\rpassw\r"]);
  assertEquals(await promptHidden(terminal, ["P: ", "Again: "]), ["passw", "passw"]);
  assertEquals(terminal.output, "P: \r\nAgain: \r\n");
  assertEquals(terminal.rawModes, [true, false]);
});

Deno.test("promptHidden: Ctrl-C, Ctrl-D, EOF, empty line restore raw mode and end the line", async () => {
  for (
    const [keys, message] of [
      ["abc\x03", "cancelled"],
      ["\x04", "no password entered"],
      ["abc", "no password entered"],
      ["\rnot asked for", "empty password"],
    ]
  ) {
    const terminal = new FakeTerminal([keys]);
    const error = await assertRejects(
      () => promptHidden(terminal, ["P: ", "Again: "]),
      PasswordError,
    );
    assertEquals(error.message, message);
    assertEquals(error.cancelled, message === "cancelled");
    assertEquals(terminal.rawModes, [true, false]);
    assertEquals(terminal.output, "P: \r\n");
  }
});

Deno.test("promptHidden: SIGINT while waiting for keys → cancelled, raw mode restored", async () => {
  const code = `
    import { promptHidden } from ${JSON.stringify(MODULE_URL)};
    const modes = [];
    const terminal = {
      read: () => new Promise(() => {}),
      write: () => Promise.resolve(),
      setRaw: (raw) => modes.push(raw),
    };
    setTimeout(() => Deno.kill(Deno.pid, "SIGINT"), 50);
    try {
      await promptHidden(terminal, ["P: "]);
      console.log(JSON.stringify({ resolved: true }));
    } catch (error) {
      console.log(JSON.stringify({ message: error.message, cancelled: error.cancelled, modes }));
    }`;
  const result = await run([DENO, "eval", "--quiet", code]);
  assertEquals(result.code, 0, result.stderr);
  assertEquals(JSON.parse(result.stdout), {
    message: "cancelled",
    cancelled: true,
    modes: [true, false],
  });
});

// ---- the real prompt in a pseudo-terminal (tmux) ----

const quote = (word: string) => `'${word.replaceAll("'", `'\\''`)}'`;
const hasTmux = hasCommand("/usr/bin/tmux");
let sessions = 0;

/** Drives a tmux pane: wait for text on screen, send keys. */
interface Pane {
  /** Waits (≤ 10 s) until `text` is on the screen; returns the screen. */
  waitFor(text: string): Promise<string>;
  /** Sends tmux key names (Enter, BSpace, C-c…). */
  keys(...keys: string[]): Promise<void>;
  /** Sends `text` as typed characters. */
  literal(text: string): Promise<void>;
}

/** What a tmux run left behind. */
interface PaneResult {
  /** The fixture's JSON report. */
  report: Record<string, unknown>;
  /** Every byte the pane displayed, as logged by pipe-pane. */
  log: string;
  /** The screen and scroll-back at the end. */
  screen: string;
  /** `stty -a` run on the terminal after the fixture exited. */
  stty: string;
}

/**
 * Runs the fixture with `fixtureArgs` (after `prefix`, e.g. "cat f |") in a detached
 * tmux pane on a private server, logging the pane's raw output; `drive` types the keys.
 */
async function inTmux(
  prefix: string,
  fixtureArgs: string[],
  drive: (pane: Pane) => Promise<void>,
): Promise<PaneResult> {
  const server = `secshrnet-pw-${Deno.pid}-${++sessions}`;
  const env = Deno.env.toObject();
  delete env.TMUX;
  delete env.SECSHRNET_PASSWORD;
  const tmux = async (...args: string[]) => {
    const output = await new Deno.Command("/usr/bin/tmux", {
      args: ["-L", server, "-f", "/dev/null", ...args],
      env,
      clearEnv: true,
      stdin: "null",
      signal: AbortSignal.timeout(10_000),
    }).output();
    const decoder = new TextDecoder();
    if (!output.success) throw new Error(`tmux ${args[0]}: ${decoder.decode(output.stderr)}`);
    return decoder.decode(output.stdout);
  };
  return await withTempDir(async (dir) => {
    const [gate, out, stty, log] = ["go", "out", "stty", "log"].map((name) => `${dir}/${name}`);
    const fixture = [DENO, "run", "-A", "--quiet", FIXTURE, "--out", out, ...fixtureArgs];
    const command = `until [ -e ${quote(gate)} ]; do sleep 0.02; done; ` +
      `${prefix} ${fixture.map(quote).join(" ")}; stty -a > ${
        quote(stty)
      }; echo __DONE__; sleep 60`;
    try {
      await tmux("new-session", "-d", "-s", "t", "-x", "120", "-y", "20", command);
      await tmux("pipe-pane", "-t", "t", "-o", `cat >> ${quote(log)}`);
      await Deno.writeTextFile(gate, "");
      const waitFor = async (text: string) => {
        const deadline = Date.now() + 10_000;
        for (;;) {
          const screen = await tmux("capture-pane", "-p", "-J", "-S", "-", "-t", "t");
          if (screen.includes(text)) return screen;
          if (Date.now() > deadline) throw new Error(`no ${text} on screen:\n${screen}`);
          await new Promise((resolve) => setTimeout(resolve, 30));
        }
      };
      await drive({
        waitFor,
        keys: async (...keys) => void await tmux("send-keys", "-t", "t", ...keys),
        literal: async (text) => void await tmux("send-keys", "-t", "t", "-l", text),
      });
      const screen = await waitFor("__DONE__");
      await new Promise((resolve) => setTimeout(resolve, 50)); // let pipe-pane catch up
      return {
        report: JSON.parse(await Deno.readTextFile(out)),
        log: await Deno.readTextFile(log),
        screen,
        stty: await Deno.readTextFile(stty),
      };
    } finally {
      await tmux("kill-server").catch(() => {});
    }
  });
}

/** Asserts the terminal is back in cooked mode with echo on. */
function assertCooked(stty: string): void {
  const flags = stty.split(/[\s;]+/);
  for (const flag of ["icanon", "echo", "isig"]) {
    assert(flags.includes(flag) && !flags.includes(`-${flag}`), `terminal has ${flag} on again`);
  }
}

/** Types `typed`, where each "\b" is a press of the Backspace key. */
async function typeKeys(pane: Pane, typed: string): Promise<void> {
  const parts = typed.split("\b");
  for (const [index, part] of parts.entries()) {
    if (part !== "") await pane.literal(part);
    if (index < parts.length - 1) await pane.keys("BSpace");
  }
}

Deno.test({
  name: "terminal: hidden prompt on stdin with confirmation, backspace, unicode; no echo",
  ignore: !hasTmux,
  fn: async () => {
    const result = await inTmux("", ["--confirm"], async (pane) => {
      await pane.waitFor("Password:");
      await typeKeys(pane, "s\u00e9cr\u00e9t\u20ac\bok");
      await pane.keys("Enter");
      await pane.waitFor("Again:");
      await typeKeys(pane, "s\u00e9cr\u00e9tok");
      await pane.keys("Enter");
    });
    assertEquals(result.report.ok, true, JSON.stringify(result.report));
    assertEquals(result.report.sha256, await sha256Hex("s\u00e9cr\u00e9tok"));
    assertEquals(result.report.length, 10);
    for (const seen of [result.log, result.screen]) {
      for (const piece of ["s\u00e9cr", "cr\u00e9t", "\u20ac", "tok"]) {
        assert(!seen.includes(piece), "no part of the password reached the terminal");
      }
      assert(!seen.includes("*"), "not even masked");
    }
    assert(/Password: \r?\r\nAgain: \r?\r\n/.test(result.log), JSON.stringify(result.log));
    assertCooked(result.stty);
  },
});

Deno.test({
  name: "terminal: stdin is the terminal even without a controlling one (setsid); mismatch",
  ignore: !hasTmux || !hasCommand("/usr/bin/setsid"),
  fn: async () => {
    const result = await inTmux("/usr/bin/setsid -w", ["--confirm"], async (pane) => {
      await pane.waitFor("Password:");
      await pane.literal("first-one");
      await pane.keys("Enter");
      await pane.waitFor("Again:");
      await pane.literal("first-onf");
      await pane.keys("Enter");
    });
    assertEquals(result.report.ok, false);
    assertEquals(result.report.message, "passwords do not match");
    assert(!result.log.includes("first-on"), "nothing echoed");
    assertCooked(result.stty);
  },
});

Deno.test({
  name: "terminal: stdin carries data → the prompt uses /dev/tty and leaves stdin intact",
  ignore: !hasTmux,
  fn: async () => {
    await withTempDir(async (dataDir) => {
      const data = "file data line\n".repeat(5000);
      await Deno.writeTextFile(`${dataDir}/data`, data);
      const prefix = `cat ${quote(`${dataDir}/data`)} |`;
      const result = await inTmux(prefix, ["--read-stdin"], async (pane) => {
        await pane.waitFor("Password:");
        await pane.literal("tty-secret");
        await pane.keys("Enter");
      });
      assertEquals(result.report.ok, true, JSON.stringify(result.report));
      assertEquals(result.report.sha256, await sha256Hex("tty-secret"));
      assertEquals(result.report.stdinLength, data.length);
      assertEquals(result.report.stdinSha256, await sha256Hex(data));
      assert(!result.log.includes("tty-secret"), "nothing echoed");
      assertCooked(result.stty);
    });
  },
});

Deno.test({
  name: "terminal: Ctrl-C → cancelled, terminal restored",
  ignore: !hasTmux,
  fn: async () => {
    const result = await inTmux("", ["--confirm"], async (pane) => {
      await pane.waitFor("Password:");
      await pane.literal("half-typed");
      await pane.keys("C-c");
    });
    assertEquals(result.report, {
      ok: false,
      passwordError: true,
      message: "cancelled",
      cancelled: true,
    });
    assert(!result.log.includes("half-typed"), "nothing echoed");
    assert(result.log.includes("Password: \r"), "the line was ended");
    assertCooked(result.stty);
  },
});
