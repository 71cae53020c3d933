/**
 * How this program starts another copy of itself (the shell runs each
 * command in a child, so Ctrl-C can stop it cleanly): the compiled binary
 * runs itself; from source, `deno run` with the flags of `deno task
 * secshrnet` (a test keeps the two in step).
 *
 * @module
 */

/** The permission and V8 flags of `deno task secshrnet` and `deno task compile`. */
export const RUN_FLAGS = ["--allow-all", "--v8-flags=--expose-gc,--max-semi-space-size=2"];

/** Executable and leading arguments that start this program. */
export function selfCommand(): { command: string; args: string[] } {
  if (Deno.build.standalone) return { command: Deno.execPath(), args: [] };
  const main = new URL("./main.ts", import.meta.url).pathname;
  return { command: Deno.execPath(), args: ["run", ...RUN_FLAGS, main] };
}
