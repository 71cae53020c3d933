/**
 * Where the CLI gets a file's password: `--password-file`, `--password-fd`,
 * `--password-command`, the `SECSHRNET_PASSWORD` or
 * `SECSHRNET_PASSWORD_COMMAND` environment variable, or a hidden prompt on
 * the terminal (stdin when it is one, else `/dev/tty`). The password never
 * appears in an error message, and the prompt never echoes it.
 *
 * The sources live in their own modules: cli/password_sources.ts (file and
 * fd), cli/password_command.ts (a command's output), cli/password_terminal.ts
 * (the prompt) and cli/password_line_editor.ts (its pure line editor). This
 * module chooses between them and re-exports what the rest of the CLI uses.
 *
 * @module
 */

import { PasswordError } from "./password_error.ts";
import { readPasswordFd, readPasswordFile } from "./password_sources.ts";
import { readPasswordCommand } from "./password_command.ts";
import { openTerminal, promptHidden } from "./password_terminal.ts";

export { PasswordError } from "./password_error.ts";
export { promptHidden, type PromptTerminal } from "./password_terminal.ts";
export { LineEditor, type LineEvent } from "./password_line_editor.ts";

/** Where the password may come from; see {@linkcode readPassword} for the order. */
export interface PasswordSource {
  /** --password-file PATH */
  passwordFile?: string;
  /** --password-fd N */
  passwordFd?: number;
  /** --password-command CMD */
  passwordCommand?: string;
  /**
   * Environment, default Deno.env.toObject(); SECSHRNET_PASSWORD and
   * SECSHRNET_PASSWORD_COMMAND are read from it.
   */
  env?: Record<string, string | undefined>;
}

/** Name of the environment variable holding the password. */
export const PASSWORD_ENV = "SECSHRNET_PASSWORD";

/** Name of the environment variable holding a command that prints the password. */
export const PASSWORD_COMMAND_ENV = "SECSHRNET_PASSWORD_COMMAND";

/**
 * Returns the password. The first source present is used:
 *
 * 1. a flag: --password-file (whole file, one trailing "\n" or "\r\n"
 *    removed), --password-fd N (read to EOF from that descriptor, via
 *    /dev/fd/N; one trailing newline removed) or --password-command CMD (what
 *    CMD prints, as cli/password_command.ts). More than one flag is an error
 *    ("use only one of …"). A flag wins over the environment.
 * 2. the environment: SECSHRNET_PASSWORD (the password itself) or
 *    SECSHRNET_PASSWORD_COMMAND (a command, as --password-command). Set but
 *    empty is an error ("… is empty"); both set is an error ("unset one").
 * 3. a hidden prompt on the terminal: stdin if it is a TTY, else /dev/tty
 *    (stdin may be carrying file data, e.g. `cat f | secshrnet put tag -`);
 *    with `confirm` (used by put) it asks twice and the two must match
 *    ("passwords do not match"). No terminal → PasswordError("no password:
 *    …"): never hang.
 *
 * An empty password is an error ("empty password"). A password file that
 * cannot be read → error naming the path and the OS reason; a bad fd → error
 * naming it. A command is run once, even with `confirm`.
 */
export async function readPassword(options: {
  source: PasswordSource;
  prompt: string;
  confirm?: boolean;
  confirmPrompt?: string;
}): Promise<string> {
  const { source } = options;
  const flags = [
    source.passwordFile !== undefined ? "--password-file" : undefined,
    source.passwordFd !== undefined ? "--password-fd" : undefined,
    source.passwordCommand !== undefined ? "--password-command" : undefined,
  ].filter((flag) => flag !== undefined);
  if (flags.length > 1) {
    const list = `${flags.slice(0, -1).join(", ")} and ${flags[flags.length - 1]}`;
    throw new PasswordError(`use only one of ${list}`);
  }
  if (source.passwordFile !== undefined) return await readPasswordFile(source.passwordFile);
  if (source.passwordFd !== undefined) return await readPasswordFd(source.passwordFd);
  if (source.passwordCommand !== undefined) {
    return await readPasswordCommand(source.passwordCommand, "--password-command");
  }
  const env = source.env ?? Deno.env.toObject();
  const fromEnv = env[PASSWORD_ENV];
  const commandFromEnv = env[PASSWORD_COMMAND_ENV];
  if (fromEnv !== undefined && commandFromEnv !== undefined) {
    throw new PasswordError(
      `both ${PASSWORD_ENV} and ${PASSWORD_COMMAND_ENV} are set; unset one`,
    );
  }
  if (fromEnv !== undefined) {
    if (fromEnv === "") throw new PasswordError(`${PASSWORD_ENV} is empty`);
    return fromEnv;
  }
  if (commandFromEnv !== undefined) {
    return await readPasswordCommand(commandFromEnv, PASSWORD_COMMAND_ENV);
  }
  const prompts = [options.prompt];
  if (options.confirm) prompts.push(options.confirmPrompt ?? "Repeat password: ");
  const terminal = openTerminal();
  try {
    const [first, second] = await promptHidden(terminal, prompts);
    if (second !== undefined && second !== first) {
      throw new PasswordError("passwords do not match");
    }
    return first;
  } finally {
    terminal.close?.();
  }
}
