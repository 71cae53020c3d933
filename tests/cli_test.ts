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
  assertEquals(stdout.trim(), `secshrnet ${VERSION} (format 1, protocol 1)`);
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
