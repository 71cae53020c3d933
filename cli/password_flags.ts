/**
 * The password flags of the commands that need one (`PASSWORD_OPTIONS` in
 * cli/args.ts), turned into a password by cli/password.ts.
 *
 * @module
 */

import { intFlag, type Parsed } from "./args.ts";
import { readPassword } from "./password.ts";

/**
 * Reads the password for `tag` from --password-file, --password-fd,
 * --password-command, the environment or the terminal.
 */
export async function password(parsed: Parsed, tag: string, confirm: boolean): Promise<string> {
  const fd = intFlag(parsed.values["password-fd"], "password-fd", 0, 65535);
  const file = parsed.values["password-file"];
  const command = parsed.values["password-command"];
  return await readPassword({
    source: {
      passwordFile: typeof file === "string" ? file : undefined,
      passwordFd: fd,
      passwordCommand: typeof command === "string" ? command : undefined,
    },
    prompt: `Password for ${tag}: `,
    confirm,
    confirmPrompt: "Repeat the password: ",
  });
}
