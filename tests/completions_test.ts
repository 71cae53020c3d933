/**
 * The scripts of `secshrnet completions bash|zsh|fish`, run by the real
 * shells: tags are listed by the `secshrnet` being completed (the command
 * word, not `deno task`) with the line's `-c`/`--config` in every form,
 * before or after the command; a tag named `$(...)` is never run; and at a
 * real bash prompt (tmux) Tab completes the tags of a real network reached
 * only through `-c`.
 *
 * @module
 */

import { assert, assertEquals } from "./assert.ts";
import { secshrnetArgs } from "./harness/network.ts";
import { putBytes, PW, shareTrust, withNetwork } from "./harness/client.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
/** Shell words for `text`, single-quoted. */
const quote = (text: string) => `'${text.replaceAll("'", `'\\''`)}'`;

/** The completion script for `shell`, from the CLI. */
async function script(shell: string): Promise<string> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: [...secshrnetArgs(), "completions", shell],
    stdout: "piped",
  }).output();
  assertEquals(output.code, 0);
  return decoder.decode(output.stdout);
}

/** A scratch dir with the three scripts and a fake `secshrnet` that logs its argv. */
interface Fixture {
  dir: string;
  /** Directory holding the fake `secshrnet` (for PATH). */
  bin: string;
  /** Runs `shell` with `program` on stdin; PATH starts with `bin` unless `path` is given. */
  shell(shell: string, args: string[], program?: string, path?: string): Promise<string>;
  /** The argv of the fake's last run (undefined when it did not run), then forgets it. */
  ranWith(): Promise<string[] | undefined>;
}

const TAGS = ["/alpha", "/beta two", "/gamma"];

async function withFixture(test: (fixture: Fixture) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "secshrnet-complete-" });
  try {
    const bin = `${dir}/bin`;
    await Deno.mkdir(bin);
    for (const shell of ["bash", "zsh", "fish"]) {
      await Deno.writeTextFile(`${dir}/c.${shell}`, await script(shell));
    }
    // A tag a hostile server could list: must be offered as text, never run.
    const hostile = [`$(touch ${dir}/pwned)`, `\`touch ${dir}/pwned\``, `(touch ${dir}/pwned)`];
    const json = JSON.stringify([...TAGS, ...hostile].map((tag) => ({ tag, size: 1 })), null, 2);
    await Deno.writeTextFile(`${dir}/ls.json`, json + "\n");
    await Deno.writeTextFile(
      `${bin}/secshrnet`,
      `#!/bin/sh\nprintf '%s\\n' "$@" > ${quote(`${dir}/argv`)}\ncat ${quote(`${dir}/ls.json`)}\n`,
    );
    await Deno.chmod(`${bin}/secshrnet`, 0o755);
    await Deno.mkdir(`${dir}/home`);
    await test({
      dir,
      bin,
      async shell(shell, args, program, path) {
        const child = new Deno.Command(shell, {
          args,
          env: {
            PATH: `${path ?? bin}:/usr/local/bin:/usr/bin:/bin`,
            HOME: `${dir}/home`,
            LANG: "C.UTF-8",
          },
          clearEnv: true,
          cwd: dir,
          stdin: program === undefined ? "null" : "piped",
          stdout: "piped",
          stderr: "piped",
          signal: AbortSignal.timeout(20_000), // hang guard only
        }).spawn();
        if (program !== undefined) {
          const writer = child.stdin.getWriter();
          await writer.write(encoder.encode(program));
          await writer.close();
        }
        const output = await child.output();
        const stderr = decoder.decode(output.stderr);
        assertEquals(output.code, 0, `${shell}: ${stderr}`);
        return decoder.decode(output.stdout);
      },
      async ranWith() {
        try {
          const argv = await Deno.readTextFile(`${dir}/argv`);
          await Deno.remove(`${dir}/argv`);
          return argv.split("\n").slice(0, -1);
        } catch (error) {
          if (error instanceof Deno.errors.NotFound) return undefined;
          throw error;
        }
      },
    });
    assert(!await exists(`${dir}/pwned`), "a tag was run as a command");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/** bash: COMP_WORDS as bash splits the line (it splits at "="), the cursor on word `cword`. */
async function bash(f: Fixture, words: string[], cword: number, path?: string) {
  const program = `source ./c.bash
COMP_WORDS=(${words.map(quote).join(" ")}); COMP_CWORD=${cword}
_secshrnet; printf '%s\\n' "\${COMPREPLY[@]}"
`;
  const replies = (await f.shell("bash", ["--norc", "--noprofile", "-s"], program, path))
    .split("\n").filter((line) => line !== "");
  return { replies, argv: await f.ranWith() };
}

/** zsh: `words` with the cursor on word `current` (1-based); compadd, _files, _values stubbed. */
async function zsh(f: Fixture, words: string[], current: number) {
  const program = `compdef() { :; }
compadd() { [[ $1 == -a ]] && print -rl -- "\${(@P)2}"; }
_files() { print -r -- _files; }
_values() { shift; print -rl -- "$@"; }
source ./c.zsh
words=(${words.map(quote).join(" ")}); CURRENT=${current}
_secshrnet
`;
  const replies = (await f.shell("zsh", ["-f", "-s"], program))
    .split("\n").filter((line) => line !== "");
  return { replies, argv: await f.ranWith() };
}

/** fish: `complete -C LINE` (the cursor at the end). */
async function fish(f: Fixture, line: string) {
  const output = await f.shell("fish", [
    "--no-config",
    "-c",
    `source ./c.fish; complete -C ${quote(line)}`,
  ]);
  const replies = output.split("\n").filter((l) => l !== "").map((l) => l.split("\t")[0]);
  return { replies, argv: await f.ranWith() };
}

const LS = ["ls", "--json"];
const ALL_TAGS = (dir: string) => [
  ...TAGS,
  `$(touch ${dir}/pwned)`,
  `\`touch ${dir}/pwned\``,
  `(touch ${dir}/pwned)`,
];

Deno.test("bash: -c/--config in every form, before or after the command, reaches ls", async () => {
  await withFixture(async (f) => {
    const conf = `${f.dir}/my conf`;
    const cases: [string[], number, string[]][] = [
      [["secshrnet", "-c", quote(conf), "get", ""], 4, ["--config", conf]],
      [["secshrnet", "--config", quote(conf), "rm", ""], 4, ["--config", conf]],
      [["secshrnet", "--config", "=", "/etc/c1", "get", ""], 5, ["--config", "/etc/c1"]],
      [["secshrnet", "-c", "=", "/etc/c2", "get", ""], 5, ["--config", "/etc/c2"]],
      [["secshrnet", "-c/etc/c3", "get", ""], 3, ["--config", "/etc/c3"]],
      [["secshrnet", "get", "-c", "~/c4", ""], 4, ["--config", `${f.dir}/home/c4`]],
      [["secshrnet", "check", "/alpha", "--config", "=", "/etc/c5", ""], 6, [
        "--config",
        "/etc/c5",
      ]],
      // After the cursor: `secshrnet get <TAB> -c /etc/c6`.
      [["secshrnet", "get", "", "-c", "/etc/c6"], 2, ["--config", "/etc/c6"]],
      // Flags with values before the tag do not hide it.
      [["secshrnet", "get", "--password-file", "/p", "-k", "2", ""], 6, []],
      [["secshrnet", "get", ""], 2, []],
    ];
    for (const [words, cword, config] of cases) {
      const { replies, argv } = await bash(f, words, cword);
      assertEquals(argv, [...LS, ...config], words.join(" "));
      assertEquals(replies, ALL_TAGS(f.dir), words.join(" "));
    }
    // Prefix matching as text: "/be" → the tag with a space, whole.
    assertEquals((await bash(f, ["secshrnet", "-c", "/c", "get", "/be"], 4)).replies, [
      "/beta two",
    ]);
  });
});

Deno.test("bash: the secshrnet on the command line runs, not one on PATH; no ls elsewhere", async () => {
  await withFixture(async (f) => {
    // Not on PATH: only the typed path can run it.
    const typed = `${f.bin}/secshrnet`;
    const { argv } = await bash(f, [typed, "-c", "/etc/c", "get", ""], 4, "/nonexistent");
    assertEquals(argv, [...LS, "--config", "/etc/c"]);
    // Where a tag is not wanted, nothing runs.
    const positions: [string[], number][] = [
      [["secshrnet", "get", "/alpha", ""], 3], // get's FILE
      [["secshrnet", "-c", ""], 2], // the config path
      [["secshrnet", "-c", "/etc/c", "g"], 3], // the command
      [["secshrnet", "put", ""], 2],
      [["secshrnet", "get", "--fo"], 2],
    ];
    for (const [words, cword] of positions) {
      const { replies, argv } = await bash(f, words, cword);
      assertEquals(argv, undefined, words.join(" "));
      if (words[cword] === "g") assertEquals(replies, ["get"]);
      if (words[cword] === "--fo") assertEquals(replies, ["--force"]);
    }
  });
});

Deno.test("zsh: -c/--config in every form, before or after the command, reaches ls", async () => {
  await withFixture(async (f) => {
    const conf = `${f.dir}/my conf`;
    const cases: [string[], number, string[]][] = [
      [["secshrnet", "-c", quote(conf), "get", ""], 5, ["--config", conf]],
      [["secshrnet", "--config=/etc/c1", "rm", ""], 4, ["--config", "/etc/c1"]],
      [["secshrnet", "-c/etc/c2", "check", ""], 4, ["--config", "/etc/c2"]],
      [["secshrnet", "get", "--config", "~/c3", ""], 5, ["--config", `${f.dir}/home/c3`]],
      [["secshrnet", "get", "", "-c", "/etc/c4"], 3, ["--config", "/etc/c4"]],
      [["secshrnet", "repair", "/a", "-k", "2", ""], 6, []],
    ];
    for (const [words, current, config] of cases) {
      const { replies, argv } = await zsh(f, words, current);
      assertEquals(argv, [...LS, ...config], words.join(" "));
      assertEquals(replies, ALL_TAGS(f.dir), words.join(" "));
    }
    const typed = await zsh(f, [`${f.bin}/secshrnet`, "get", ""], 3);
    assertEquals(typed.argv, LS);
    const file = await zsh(f, ["secshrnet", "-c", "/etc/c", "get", "/alpha", ""], 6);
    assertEquals(file, { replies: ["_files"], argv: undefined });
  });
});

Deno.test("fish: -c/--config in every form, before or after the command, reaches ls", async () => {
  await withFixture(async (f) => {
    const conf = `${f.dir}/my conf`;
    const cases: [string, string[]][] = [
      [`secshrnet -c ${quote(conf)} get `, ["--config", conf]],
      ["secshrnet --config=/etc/c1 rm ", ["--config", "/etc/c1"]],
      ["secshrnet -c/etc/c2 check /alpha ", ["--config", "/etc/c2"]],
      ["secshrnet get --config ~/c3 ", ["--config", `${f.dir}/home/c3`]],
      ["secshrnet repair -k 2 ", []],
    ];
    for (const [line, config] of cases) {
      const { replies, argv } = await fish(f, line);
      assertEquals(argv, [...LS, ...config], line);
      assertEquals(replies.sort(), ALL_TAGS(f.dir).sort(), line);
    }
    assertEquals((await fish(f, `${f.bin}/secshrnet get /g`)).replies, ["/gamma"]);
    assertEquals(await f.ranWith(), undefined);
    assertEquals(await fish(f, "secshrnet -c /etc/c g"), { replies: ["get"], argv: undefined });
  });
});

/** A tmux server of our own (never the user's), running one bash. */
class Terminal {
  readonly socket = `secshrnet-complete-${crypto.randomUUID().slice(0, 8)}`;

  async tmux(...args: string[]): Promise<string> {
    const output = await new Deno.Command("tmux", {
      args: ["-L", this.socket, "-f", "/dev/null", ...args],
      stdout: "piped",
      stderr: "piped",
    }).output();
    return decoder.decode(output.stdout);
  }

  /** Waits until the screen matches `pattern`; the hang guard fails it after 60 s. */
  async waitFor(pattern: RegExp): Promise<string> {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const screen = await this.tmux("capture-pane", "-p", "-S", "-200", "-t", "t");
      if (pattern.test(screen)) return screen;
      if (Date.now() > deadline) throw new Error(`screen never matched ${pattern}:\n${screen}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

Deno.test("a real bash at a real prompt: Tab completes the tags of the network that -c names", async () => {
  await withNetwork(3, async (network) => {
    for (const tag of ["/e2e/first", "/e2e/second"]) {
      const put = await putBytes(network, tag, encoder.encode(tag), [], PW);
      assertEquals(put.code, 0, put.stderr);
    }
    // A config the default location does not hold: only -c reaches the network.
    const dir = `${network.dir}/completion`;
    await Deno.mkdir(`${dir}/bin`, { recursive: true });
    await Deno.mkdir(`${dir}/home`);
    const conf = `${dir}/elsewhere.conf`;
    await Deno.writeTextFile(conf, `[redis]\nurl = "${network.redis.url}"\n`);
    await shareTrust(network, conf);
    const run = [Deno.execPath(), ...secshrnetArgs()].map(quote).join(" ");
    await Deno.writeTextFile(`${dir}/bin/secshrnet`, `#!/bin/sh\nexec ${run} "$@"\n`);
    await Deno.chmod(`${dir}/bin/secshrnet`, 0o755);
    await Deno.writeTextFile(`${dir}/c.bash`, await script("bash"));
    await Deno.writeTextFile(
      `${dir}/rc`,
      `PS1='$ '\nPATH=${quote(`${dir}/bin`)}:$PATH\nHOME=${quote(`${dir}/home`)}\n` +
        `unset SECSHRNET_REDIS_URL SECSHRNET_PASSWORD\nsource ${quote(`${dir}/c.bash`)}\n`,
    );
    const terminal = new Terminal();
    try {
      await terminal.tmux(
        "new-session",
        "-d",
        "-s",
        "t",
        "-x",
        "160",
        "-y",
        "40",
        `bash --noprofile --rcfile ${quote(`${dir}/rc`)} -i`,
      );
      await terminal.waitFor(/^\$/m);
      // Without -c the default config is used: no network, so no tag.
      await terminal.tmux("send-keys", "-t", "t", "-l", "secshrnet get /e2e/");
      await terminal.tmux("send-keys", "-t", "t", "Tab", "Tab");
      await terminal.tmux("send-keys", "-t", "t", "-l", "#end1");
      // Keys are handled in order: a list would be on screen before "#end1".
      const none = await terminal.waitFor(/secshrnet get \/e2e\/#end1/);
      assert(!none.includes("/e2e/first"), none);
      await terminal.tmux("send-keys", "-t", "t", "C-u");
      await terminal.tmux("send-keys", "-t", "t", "-l", `secshrnet -c ${conf} get /e2e/`);
      await terminal.tmux("send-keys", "-t", "t", "Tab", "Tab");
      await terminal.waitFor(/\/e2e\/first\s+\/e2e\/second/);
      // The config after the command, as --config=X, and a unique prefix.
      await terminal.tmux("send-keys", "-t", "t", "C-u");
      await terminal.tmux("send-keys", "-t", "t", "-l", `secshrnet rm --config=${conf} /e2e/s`);
      await terminal.tmux("send-keys", "-t", "t", "Tab");
      await terminal.waitFor(/secshrnet rm --config=\S+ \/e2e\/second/);
    } finally {
      await terminal.tmux("kill-server");
    }
  });
});
