/**
 * The command line as a user runs it: through `deno task secshrnet`, and as
 * a single bundled file run from an unrelated directory (what `deno compile`
 * embeds), which proves nothing is read from the source tree at run time.
 */

import { assert, assertEquals } from "./assert.ts";
import { VERSION } from "../mod.ts";

const root = new URL("..", import.meta.url).pathname;

async function run(args: string[], cwd = root) {
  const output = await new Deno.Command(Deno.execPath(), {
    args,
    cwd,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: output.code, stdout: decode(output.stdout), stderr: decode(output.stderr) };
}

Deno.test("deno task secshrnet --version prints the version and format", async () => {
  const { code, stdout } = await run(["task", "-q", "secshrnet", "--version"]);
  assertEquals(code, 0);
  assertEquals(stdout.trim(), `secshrnet ${VERSION} (format 2, protocol 4)`);
});

Deno.test("an unknown command is a one-line usage error with exit code 2", async () => {
  const { code, stdout, stderr } = await run(["task", "-q", "secshrnet", "frobnicate"]);
  assertEquals(code, 2);
  assertEquals(stdout, "");
  assertEquals(stderr.trim().split("\n").length, 1);
  assert(stderr.includes("unknown command 'frobnicate'"), stderr);
});

Deno.test("the bundled program runs from another directory with no source tree", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const bundled = await run(["bundle", "--quiet", "-o", `${dir}/secshrnet.js`, "cli/main.ts"]);
    assertEquals(bundled.code, 0, bundled.stderr);
    const { code, stdout } = await run(
      ["run", "--allow-all", `${dir}/secshrnet.js`, "--help"],
      dir,
    );
    assertEquals(code, 0);
    assert(stdout.startsWith(`secshrnet ${VERSION}`), stdout);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("every command has --help, exit 0, starting with its usage line", async () => {
  for (
    const name of [
      "serve",
      "put",
      "get",
      "ls",
      "servers",
      "rm",
      "check",
      "repair",
      "recover",
      "completions",
    ]
  ) {
    const { code, stdout } = await run(["task", "-q", "secshrnet", name, "--help"]);
    assertEquals(code, 0, name);
    assert(stdout.startsWith(`Usage: secshrnet ${name}`), `${name}: ${stdout.slice(0, 60)}`);
  }
});

Deno.test("a mistyped command or flag is refused with exit 2 and the closest valid one", async () => {
  const command = await run(["task", "-q", "secshrnet", "gett", "x"]);
  assertEquals(command.code, 2);
  assert(command.stderr.includes("did you mean 'get'?"), command.stderr);
  const flag = await run(["task", "-q", "secshrnet", "get", "x", "--forse"]);
  assertEquals(flag.code, 2);
  assert(flag.stderr.includes("unknown option --forse; did you mean --force?"), flag.stderr);
  const far = await run(["task", "-q", "secshrnet", "frobnicate"]);
  assert(!far.stderr.includes("did you mean"), far.stderr);
});

Deno.test("the bash completion script completes commands and flags", async () => {
  const script = await run(["task", "-q", "secshrnet", "completions", "bash"]);
  assertEquals(script.code, 0);
  const complete = async (words: string[]) => {
    const program = `${script.stdout}\nCOMP_WORDS=(${words.map((w) => `'${w}'`).join(" ")}); ` +
      `COMP_CWORD=${words.length - 1}; _secshrnet; echo "\${COMPREPLY[@]}"`;
    const output = await new Deno.Command("bash", { args: ["-c", program], stdout: "piped" })
      .output();
    return new TextDecoder().decode(output.stdout).trim();
  };
  assertEquals(await complete(["secshrnet", "ge"]), "get");
  assertEquals(await complete(["secshrnet", "put", "--fo"]), "--force");
  assertEquals(await complete(["secshrnet", "serve", "-"]).then((s) => s.split(" ").sort()), [
    "--config",
    "--help",
    "--root",
    "--verbose",
    "-c",
    "-h",
    "-r",
    "-v",
  ]);
});

Deno.test("the flags a shell uses to start commands are those of deno task secshrnet", async () => {
  const { RUN_FLAGS } = await import("../cli/self.ts");
  const tasks = JSON.parse(await Deno.readTextFile(`${root}deno.json`)).tasks;
  assertEquals(tasks.secshrnet, `deno run ${RUN_FLAGS.join(" ")} cli/main.ts`);
  // The compiled binary also embeds the segment workers' module (core/segment_workers.ts).
  assertEquals(
    tasks.compile,
    `deno compile ${RUN_FLAGS.join(" ")} --include core/segment_worker.ts --output secshrnet ` +
      "cli/main.ts",
  );
});

Deno.test("the zsh script parses and the fish script completes commands and flags", async () => {
  const script = async (shell: string) =>
    (await run(["task", "-q", "secshrnet", "completions", shell])).stdout;
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/c.zsh`, await script("zsh"));
    const zsh = await new Deno.Command("zsh", { args: ["-n", `${dir}/c.zsh`], stderr: "piped" })
      .output();
    assertEquals(zsh.code, 0, new TextDecoder().decode(zsh.stderr));
    await Deno.writeTextFile(`${dir}/c.fish`, await script("fish"));
    const fish = async (line: string) => {
      const output = await new Deno.Command("fish", {
        args: ["--no-config", "-c", `source ${dir}/c.fish; complete -C '${line}'`],
        stdout: "piped",
      }).output();
      return new TextDecoder().decode(output.stdout).trim();
    };
    assertEquals(await fish("secshrnet ge"), "get\tretrieve the file stored under a tag");
    assertEquals(await fish("secshrnet put --fo"), "--force");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
