/**
 * The hidden password prompt: {@linkcode promptHidden} drives any
 * {@linkcode PromptTerminal} (stdin when it is a TTY, else /dev/tty) with the
 * {@linkcode LineEditor} of cli/password_line_editor.ts. Nothing typed is
 * echoed, and Ctrl-C cancels.
 *
 * @module
 */

import { LineEditor } from "./password_line_editor.ts";
import { PasswordError } from "./password_error.ts";

const NO_PASSWORD = "no password: set SECSHRNET_PASSWORD or SECSHRNET_PASSWORD_COMMAND, or use " +
  "--password-file, --password-fd or --password-command, or run on a terminal";

/** What the prompt loop needs from a terminal; {@linkcode promptHidden} takes one. */
export interface PromptTerminal {
  /** Reads keystroke bytes into `buffer`; the count, or null at EOF. */
  read(buffer: Uint8Array): Promise<number | null>;
  /** Writes all of `bytes` (prompts and newlines; never the password). */
  write(bytes: Uint8Array): Promise<void>;
  /** Turns raw mode (no echo, no line editing, no signal keys) on or off. */
  setRaw(raw: boolean): void;
  /** Releases the terminal (e.g. closes /dev/tty); optional. */
  close?(): void;
}

/** The terminal to prompt on: stdin when it is a TTY, else /dev/tty, else a "no password" error. */
export function openTerminal(): PromptTerminal {
  if (Deno.stdin.isTerminal()) {
    return {
      read: (buffer) => Deno.stdin.read(buffer),
      write: (bytes) => writeAll(Deno.stderr, bytes),
      setRaw: (raw) => Deno.stdin.setRaw(raw),
    };
  }
  let tty: Deno.FsFile;
  try {
    tty = Deno.openSync("/dev/tty", { read: true, write: true });
  } catch (error) {
    if (error instanceof Deno.errors.NotCapable) throw error;
    throw new PasswordError(NO_PASSWORD);
  }
  if (!tty.isTerminal()) {
    tty.close();
    throw new PasswordError(NO_PASSWORD);
  }
  return {
    read: (buffer) => tty.read(buffer),
    write: (bytes) => writeAll(tty, bytes),
    setRaw: (raw) => tty.setRaw(raw),
    close: () => tty.close(),
  };
}

async function writeAll(
  writer: { write(p: Uint8Array): Promise<number> },
  bytes: Uint8Array,
): Promise<void> {
  for (let done = 0; done < bytes.length;) done += await writer.write(bytes.subarray(done));
}

/**
 * Shows each of `prompts` in turn on `terminal` in raw mode (nothing echoed) and
 * returns the lines typed, in order. Raw mode stays on across the prompts, so keys
 * typed ahead for the next prompt are neither echoed nor lost. Ctrl-C (the byte, or
 * SIGINT) → PasswordError("cancelled") with `cancelled` true; Ctrl-D on an empty
 * line or EOF → PasswordError("no password entered"). Raw mode is always turned
 * off again, and the cursor is left on a new line. An empty line → PasswordError("empty
 * password"), at once (before any further prompt).
 */
export async function promptHidden(terminal: PromptTerminal, prompts: string[]): Promise<string[]> {
  const encoder = new TextEncoder();
  const editor = new LineEditor();
  const buffer = new Uint8Array(256);
  const lines: string[] = [];
  let raw = false;
  let midLine = false;
  const { interrupted, stop } = cancelOnSigint();
  try {
    terminal.setRaw(true);
    raw = true;
    for (const prompt of prompts) {
      await terminal.write(encoder.encode(prompt));
      midLine = true;
      let event = editor.next();
      while (event === undefined) {
        const count = await Promise.race([terminal.read(buffer), interrupted]);
        if (count === null) {
          event = { kind: "eof" };
          break;
        }
        editor.push(buffer.subarray(0, count));
        event = editor.next();
      }
      if (event.kind === "cancel") throw new PasswordError("cancelled", { cancelled: true });
      if (event.kind === "eof") throw new PasswordError("no password entered");
      if (event.text === "") throw new PasswordError("empty password");
      lines.push(event.text);
      await terminal.write(encoder.encode("\r\n"));
      midLine = false;
    }
    return lines;
  } finally {
    buffer.fill(0);
    editor.clear();
    stop();
    if (raw) {
      try {
        terminal.setRaw(false);
      } catch { /* the terminal is gone; nothing left to restore */ }
    }
    if (midLine) await terminal.write(encoder.encode("\r\n")).catch(() => {});
  }
}

/**
 * A promise that rejects with a cancelled PasswordError on Ctrl-C (SIGINT),
 * and `stop` to stop listening (a no-op where signals cannot be listened to).
 */
export function cancelOnSigint(): { interrupted: Promise<never>; stop(): void } {
  let onSignal = () => {};
  const interrupted = new Promise<never>((_, reject) => {
    onSignal = () => reject(new PasswordError("cancelled", { cancelled: true }));
  });
  interrupted.catch(() => {});
  let listening = true;
  try {
    Deno.addSignalListener("SIGINT", onSignal);
  } catch {
    listening = false;
  }
  return {
    interrupted,
    stop: () => {
      if (listening) Deno.removeSignalListener("SIGINT", onSignal);
      listening = false;
    },
  };
}
