/**
 * Running the real CLI as a user's script would: no terminal, and no
 * environment but what the test gives (plus PATH, NO_COLOR, and DENO_DIR so
 * Deno's own cache stays where it is whatever HOME the test sets).
 *
 * @module
 */

import { runProcess, secshrnetArgs } from "./network.ts";

/** What one run printed and returned. */
export interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `secshrnet ARGS` with only `env` (and PATH, DENO_DIR, NO_COLOR); killed after `timeoutMs`. */
export async function runClean(
  args: string[],
  env: Record<string, string>,
  timeoutMs = 120_000,
): Promise<Outcome> {
  const { code, stdout, stderr } = await runProcess(Deno.execPath(), {
    args: [...secshrnetArgs(), ...args],
    env: {
      NO_COLOR: "1",
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      DENO_DIR: Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME")}/.cache/deno`,
      ...env,
    },
    clearEnv: true,
    timeoutMs,
  });
  return { code, stdout, stderr };
}
