/**
 * `--password-command CMD` and `SECSHRNET_PASSWORD_COMMAND`: the password is
 * what a command prints, as restic's `--password-command`, for `pass`,
 * keyrings and password managers.
 *
 * The command runs through the shell (`/bin/sh -c CMD`; `cmd.exe /d /s /c CMD`
 * on Windows), once, even for put (nothing to confirm). Its standard output
 * is the password; its standard error passes through to ours, so its own
 * messages (and a shell's "not found") are seen. Its standard input is ours
 * when that is a terminal, for helpers that ask there; otherwise it is
 * /dev/null, so a command can never swallow a file piped to
 * `secshrnet put TAG -`, nor wait on a pipe. (gpg's pinentry does not need
 * it: gpg-agent starts pinentry on GPG_TTY.) There is no timeout; Ctrl-C
 * stops the command and cancels. The command's text never appears in an
 * error: it may hold a secret.
 *
 * @module
 */

import { PasswordError } from "./password_error.ts";
import { decodeSecret, osReason } from "./password_sources.ts";
import { cancelOnSigint } from "./password_terminal.ts";

/** More output than this is not a password: the command is stopped and refused. */
export const MAX_COMMAND_OUTPUT = 64 * 1024;

/** The program and arguments that run `command` through the platform's shell. */
function throughShell(command: string): [string, string[]] {
  return Deno.build.os === "windows"
    ? ["cmd.exe", ["/d", "/s", "/c", command]]
    : ["/bin/sh", ["-c", command]];
}

/**
 * Runs `command` and returns its standard output with one trailing "\n" or
 * "\r\n" removed. `where` names the source in errors (`--password-command` or
 * `SECSHRNET_PASSWORD_COMMAND`). PasswordError, one line, when the command is
 * blank, cannot be started, exits non-zero or is killed, prints nothing,
 * prints more than one line or more than {@linkcode MAX_COMMAND_OUTPUT}
 * bytes, or prints text that is not UTF-8; "cancelled" (`cancelled` true) on
 * Ctrl-C, after the command is stopped. The output is zeroed once decoded.
 */
export async function readPasswordCommand(command: string, where: string): Promise<string> {
  if (command.trim() === "") {
    throw new PasswordError(`${where} is empty; give a command that prints the password`);
  }
  // Listening before the command starts: a Ctrl-C at any point cancels.
  const { interrupted, stop } = cancelOnSigint();
  try {
    return await collect(spawn(command, where), interrupted, where);
  } finally {
    stop();
  }
}

/** Starts `command` through the shell, stdout piped (see the module's notes on stdin). */
function spawn(command: string, where: string): Deno.ChildProcess {
  const [program, args] = throughShell(command);
  try {
    return new Deno.Command(program, {
      args,
      stdin: Deno.stdin.isTerminal() ? "inherit" : "null",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
  } catch (error) {
    if (error instanceof Deno.errors.NotCapable) throw error;
    throw new PasswordError(`cannot run ${where}: ${program}: ${osReason(error)}`);
  }
}

/**
 * The password `child` prints, checked; on any error or `interrupted` the
 * child is killed. Always waits for it to end.
 */
async function collect(
  child: Deno.ChildProcess,
  interrupted: Promise<never>,
  where: string,
): Promise<string> {
  let exited = false;
  const status = child.status.then((s) => (exited = true, s));
  const reader = child.stdout.getReader();
  const chunks: Uint8Array[] = [];
  try {
    const reading = readChunks(reader, chunks);
    reading.catch(() => {});
    const whole = await Promise.race([reading, interrupted]);
    if (!whole) {
      throw new PasswordError(
        `${where} printed more than ${MAX_COMMAND_OUTPUT} bytes; it must print only the password`,
      );
    }
    const ended = await Promise.race([status, interrupted]);
    if (!ended.success) throw failure(ended, where);
    const text = decodeSecret(concat(chunks), `the output of ${where}`);
    if (text === "") {
      throw new PasswordError(
        `empty password: ${where} printed nothing; it must print the password`,
      );
    }
    if (/[\r\n]/.test(text)) {
      throw new PasswordError(
        `${where} printed more than one line; it must print only the password (wrong command?)`,
      );
    }
    return text;
  } finally {
    for (const chunk of chunks) chunk.fill(0);
    if (!exited) {
      try {
        child.kill("SIGKILL");
      } catch { /* it has just exited */ }
    }
    await reader.cancel().catch(() => {});
    await status;
  }
}

/** Reads `reader` to EOF into `chunks`: true at EOF, false once past {@linkcode MAX_COMMAND_OUTPUT}. */
async function readChunks(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  chunks: Uint8Array[],
): Promise<boolean> {
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return true;
    chunks.push(value);
    size += value.length;
    if (size > MAX_COMMAND_OUTPUT) return false;
  }
}

/** `chunks` as one array (the chunks are zeroed by the caller). */
function concat(chunks: Uint8Array[]): Uint8Array {
  const bytes = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.length, 0));
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.length;
  }
  return bytes;
}

/** The error for a command that did not exit 0; its stderr is already on ours. */
function failure(status: Deno.CommandStatus, where: string): PasswordError {
  if (status.signal === "SIGINT" || status.code === 130) {
    return new PasswordError("cancelled", { cancelled: true });
  }
  if (status.signal !== null) {
    return new PasswordError(`${where} was killed by ${status.signal}; check the command`);
  }
  const seeAbove = `exit code ${status.code}; its error output, if any, is above`;
  if (status.code === 127) {
    return new PasswordError(`${where} failed: command not found (${seeAbove}); check the command`);
  }
  if (status.code === 126) {
    return new PasswordError(
      `${where} failed: command not executable (${seeAbove}); check its permissions`,
    );
  }
  return new PasswordError(`${where} failed (${seeAbove}); check the command`);
}
