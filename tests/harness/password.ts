/**
 * Helpers shared by the password tests: running children with a time limit,
 * temporary directories, and the fixture that reads a password.
 *
 * @module
 */

import { assertEquals } from "../assert.ts";

/** The repository root. */
const ROOT = new URL("../..", import.meta.url).pathname;
/** A script that reads a password with cli/password.ts and prints what happened as JSON. */
export const FIXTURE = new URL("../fixtures/read_password.ts", import.meta.url).pathname;
/** The deno binary running the tests. */
export const DENO = Deno.execPath();
/** `text` as UTF-8 bytes. */
export const encode = (text: string) => new TextEncoder().encode(text);

/** The SHA-256 of `text` in hex. */
export async function sha256Hex(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", encode(text)));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Whether `path` is an existing file (a command to run). */
export function hasCommand(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

/** Runs a command with a 20 s limit; fails the test if it had to be killed. */
export async function run(args: string[], stdin?: Uint8Array, env?: Record<string, string>) {
  const child = new Deno.Command(args[0], {
    args: args.slice(1),
    cwd: ROOT,
    env,
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(20_000),
  }).spawn();
  if (stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(stdin);
    await writer.close();
  }
  const output = await child.output();
  const decoder = new TextDecoder();
  const stderr = decoder.decode(output.stderr);
  assertEquals(output.signal, null, `child was killed (hung?); stderr: ${stderr}`);
  return { code: output.code, stdout: decoder.decode(output.stdout), stderr };
}
