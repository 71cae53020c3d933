/**
 * A pure line editor for a hidden password prompt: keystroke bytes in, line
 * events out, no I/O at all (the prompt in cli/password_terminal.ts drives it).
 *
 * @module
 */

import { PasswordError } from "./password_error.ts";

/** One event of {@linkcode LineEditor.next}. */
export type LineEvent =
  /** Enter (\r or \n) ended a line; `text` is what was typed ("" when nothing). */
  | { kind: "line"; text: string }
  /** Ctrl-D on an empty line (or the terminal reached EOF). */
  | { kind: "eof" }
  /** Ctrl-C. */
  | { kind: "cancel" };

const CTRL_C = 0x03, CTRL_D = 0x04, BACKSPACE = 0x08, LF = 0x0a, CR = 0x0d;
const CTRL_U = 0x15, ESC = 0x1b, DEL = 0x7f;

/**
 * A pure line editor for hidden input: bytes go in with {@linkcode LineEditor.push},
 * events come out of {@linkcode LineEditor.next}. It keeps the line as bytes and
 * decodes UTF-8 only at Enter, so multi-byte characters may arrive split across
 * reads. Keys: Enter (\r or \n; a \n right after \r is skipped), Backspace (0x7f or
 * 0x08: removes the last whole code point), Ctrl-U (clears the line), Ctrl-C
 * (cancel), Ctrl-D (eof on an empty line, else ignored). Escape sequences (arrow
 * keys, bracketed-paste markers) and other control bytes are dropped. Bytes after
 * an event stay queued for the next line.
 */
export class LineEditor {
  #line: number[] = [];
  #pending: Uint8Array = new Uint8Array(0);
  #offset = 0;
  /** 0 none, 1 after ESC, 2 inside CSI (ESC [), 3 after ESC O (one more byte). */
  #escape = 0;
  #afterCr = false;

  /** Queues keystroke bytes (copied). */
  push(bytes: Uint8Array): void {
    const rest = this.#pending.subarray(this.#offset);
    const joined = new Uint8Array(rest.length + bytes.length);
    joined.set(rest);
    joined.set(bytes, rest.length);
    this.#pending.fill(0);
    this.#pending = joined;
    this.#offset = 0;
  }

  /** Number of bytes in the line being typed (for tests; not the password). */
  get byteLength(): number {
    return this.#line.length;
  }

  /**
   * Consumes queued bytes up to the next event and returns it, or undefined when
   * the queue ran out first. Throws PasswordError when the line is not valid UTF-8.
   */
  next(): LineEvent | undefined {
    while (this.#offset < this.#pending.length) {
      const byte = this.#pending[this.#offset++];
      const afterCr = this.#afterCr;
      this.#afterCr = false;
      if (this.#escape !== 0) {
        this.#skipEscape(byte);
        continue;
      }
      if (byte === CR || byte === LF) {
        if (byte === LF && afterCr) continue;
        this.#afterCr = byte === CR;
        return { kind: "line", text: this.#takeLine() };
      }
      if (byte === CTRL_C) {
        this.#wipeLine();
        return { kind: "cancel" };
      }
      if (byte === CTRL_D) {
        if (this.#line.length === 0) return { kind: "eof" };
      } else if (byte === DEL || byte === BACKSPACE) {
        this.#eraseCodePoint();
      } else if (byte === CTRL_U) {
        this.#wipeLine();
      } else if (byte === ESC) {
        this.#escape = 1;
      } else if (byte >= 0x20) {
        this.#line.push(byte);
      }
    }
    return undefined;
  }

  /** Forgets (and zeroes) everything typed and queued. */
  clear(): void {
    this.#wipeLine();
    this.#pending.fill(0);
    this.#pending = new Uint8Array(0);
    this.#offset = 0;
    this.#escape = 0;
    this.#afterCr = false;
  }

  #skipEscape(byte: number): void {
    if (this.#escape === 1) {
      this.#escape = byte === 0x5b ? 2 : byte === 0x4f ? 3 : 0; // "[" or "O"
    } else if (this.#escape === 3 || (byte >= 0x40 && byte <= 0x7e) || byte < 0x20) {
      this.#escape = 0; // final byte of the sequence (or a control byte aborting it)
    }
  }

  /** Removes the last UTF-8 code point: its continuation bytes and its lead byte. */
  #eraseCodePoint(): void {
    const line = this.#line;
    const end = line.length;
    if (end === 0) return;
    let start = end - 1;
    while (start > 0 && end - start < 4 && (line[start] & 0xc0) === 0x80) start--;
    const lead = line[start];
    if ((lead & 0xc0) === 0x80 || (start < end - 1 && lead < 0xc0)) start = end - 1;
    line.fill(0, start);
    line.length = start;
  }

  #takeLine(): string {
    const bytes = Uint8Array.from(this.#line);
    this.#wipeLine();
    try {
      return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
    } catch {
      throw new PasswordError("password is not valid UTF-8");
    } finally {
      bytes.fill(0);
    }
  }

  #wipeLine(): void {
    this.#line.fill(0);
    this.#line.length = 0;
  }
}
