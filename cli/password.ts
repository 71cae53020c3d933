/**
 * Where the CLI gets a file's password: `--password-file`, `--password-fd`,
 * the `SECSHRNET_PASSWORD` environment variable, or a hidden prompt on the
 * terminal (stdin when it is one, else `/dev/tty`). The password never
 * appears in an error message, and the prompt never echoes it.
 *
 * The prompt loop is split in two testable pieces: {@linkcode LineEditor}
 * turns raw keystroke bytes into line events (no I/O at all), and
 * {@linkcode promptHidden} drives any {@linkcode PromptTerminal}.
 *
 * @module
 */

/** Where the password may come from, in priority order: file, fd, env, terminal. */
export interface PasswordSource {
  /** --password-file PATH */
  passwordFile?: string;
  /** --password-fd N */
  passwordFd?: number;
  /** Environment, default Deno.env.toObject(); SECSHRNET_PASSWORD is read from it. */
  env?: Record<string, string | undefined>;
}

/** A password could not be obtained; the message is one line and never holds the password. */
export class PasswordError extends Error {
  /** True when the user pressed Ctrl-C (or the process got SIGINT) at the prompt. */
  readonly cancelled: boolean;
  constructor(message: string, options: { cancelled?: boolean } = {}) {
    super(message);
    this.name = "PasswordError";
    this.cancelled = options.cancelled ?? false;
  }
}

/** Name of the environment variable holding the password. */
export const PASSWORD_ENV = "SECSHRNET_PASSWORD";

const NO_PASSWORD =
  "no password: set SECSHRNET_PASSWORD, or use --password-file or --password-fd, or run on a terminal";

/**
 * Returns the password. With `confirm` (used by put) a terminal prompt asks twice and the two must match
 * ("passwords do not match"). Sources: --password-file (whole file, one trailing "\n" or "\r\n" removed),
 * --password-fd N (read to EOF from that descriptor, via /dev/fd/N; one trailing newline removed),
 * SECSHRNET_PASSWORD (if set, even if empty → error "SECSHRNET_PASSWORD is empty"),
 * otherwise a hidden prompt on the terminal: if stdin is a TTY use it; else if /dev/tty can be opened
 * (stdin may be carrying file data, e.g. `cat f | secshrnet put tag -`) prompt on /dev/tty;
 * otherwise throw PasswordError("no password: …") — never hang.
 * Giving both passwordFile and passwordFd is an error. An empty password is an error ("empty password").
 * A password file that cannot be read → error naming the path and the OS reason. A bad fd → error naming it.
 */
export async function readPassword(options: {
  source: PasswordSource;
  prompt: string;
  confirm?: boolean;
  confirmPrompt?: string;
}): Promise<string> {
  const { source } = options;
  if (source.passwordFile !== undefined && source.passwordFd !== undefined) {
    throw new PasswordError("use only one of --password-file and --password-fd");
  }
  if (source.passwordFile !== undefined) {
    const path = source.passwordFile;
    const bytes = await readAll(path, `cannot read password file ${path}`);
    return nonEmpty(decodeSecret(bytes, `password file ${path}`), `password file ${path}`);
  }
  if (source.passwordFd !== undefined) {
    const fd = source.passwordFd;
    if (!Number.isSafeInteger(fd) || fd < 0) throw new PasswordError(`bad password fd ${fd}`);
    const notOpen = `not open; pass an open descriptor, e.g. --password-fd ${fd} ${fd}<passfile`;
    if (runtimeDescriptor(fd)) throw new PasswordError(`cannot read password fd ${fd}: ${notOpen}`);
    const bytes = await readAll(`/dev/fd/${fd}`, `cannot read password fd ${fd}`, notOpen);
    return nonEmpty(decodeSecret(bytes, `password fd ${fd}`), `password fd ${fd}`);
  }
  const env = source.env ?? Deno.env.toObject();
  const fromEnv = env[PASSWORD_ENV];
  if (fromEnv !== undefined) {
    if (fromEnv === "") throw new PasswordError(`${PASSWORD_ENV} is empty`);
    return fromEnv;
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

/** O_CLOEXEC in /proc/self/fdinfo's octal "flags". */
const O_CLOEXEC = 0o2000000;

/**
 * The descriptors Deno itself had open (close-on-exec) when this module was
 * loaded: its event loop and module caches. A descriptor the caller passed
 * (`9<file`) survived exec, so it is never close-on-exec; one the program
 * opens later is not in the set. Linux only (empty elsewhere or without
 * permission to read /proc/self).
 */
const RUNTIME_DESCRIPTORS: ReadonlySet<number> = snapshotRuntimeDescriptors();

function snapshotRuntimeDescriptors(): Set<number> {
  const found = new Set<number>();
  try {
    if (Deno.build.os !== "linux") return found;
    if (Deno.permissions.querySync({ name: "read", path: "/proc/self" }).state !== "granted") {
      return found;
    }
    for (const entry of Deno.readDirSync("/proc/self/fd")) {
      try {
        const info = Deno.readTextFileSync(`/proc/self/fdinfo/${entry.name}`);
        const flags = /^flags:\s*([0-7]+)/m.exec(info);
        if (flags !== null && (parseInt(flags[1], 8) & O_CLOEXEC) !== 0) {
          found.add(Number(entry.name));
        }
      } catch {
        // The descriptor of the listing itself, closed by now.
      }
    }
  } catch {
    // No /proc: nothing is known to be the runtime's.
  }
  return found;
}

/**
 * Whether `fd` is one of the runtime's own descriptors rather than one the
 * caller opened: still open, still close-on-exec, and open since startup.
 */
function runtimeDescriptor(fd: number): boolean {
  if (!RUNTIME_DESCRIPTORS.has(fd)) return false;
  try {
    const info = Deno.readTextFileSync(`/proc/self/fdinfo/${fd}`);
    const flags = /^flags:\s*([0-7]+)/m.exec(info);
    return flags !== null && (parseInt(flags[1], 8) & O_CLOEXEC) !== 0;
  } catch {
    return false; // closed meanwhile: the read reports "not open"
  }
}

/**
 * Reads `path` to EOF; a failure becomes a PasswordError: `what`, then `notFound`
 * (when given and the path does not exist) or the OS reason.
 */
async function readAll(path: string, what: string, notFound?: string): Promise<Uint8Array> {
  try {
    return await Deno.readFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotCapable) throw error;
    const reason = notFound !== undefined && error instanceof Deno.errors.NotFound
      ? notFound
      : osReason(error);
    throw new PasswordError(`${what}: ${reason}`);
  }
}

/** The OS part of a Deno I/O error ("No such file or directory (os error 2)"), one line. */
function osReason(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  const match = /^(.*?\(os error \d+\))/s.exec(text);
  return (match ? match[1] : text).split(/\r?\n/)[0];
}

/** UTF-8 text of a secret read from a file or fd, with one trailing "\n" or "\r\n" removed. */
function decodeSecret(bytes: Uint8Array, where: string): string {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    throw new PasswordError(`${where} is not valid UTF-8`);
  } finally {
    bytes.fill(0);
  }
  if (text.endsWith("\r\n")) return text.slice(0, -2);
  if (text.endsWith("\n")) return text.slice(0, -1);
  return text;
}

function nonEmpty(password: string, where: string): string {
  if (password === "") throw new PasswordError(`empty password (${where})`);
  return password;
}

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
function openTerminal(): PromptTerminal {
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
  let onSignal = () => {};
  const interrupted = new Promise<never>((_, reject) => {
    onSignal = () => reject(new PasswordError("cancelled", { cancelled: true }));
  });
  interrupted.catch(() => {});
  const listening = addSigintListener(onSignal);
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
    if (listening) Deno.removeSignalListener("SIGINT", onSignal);
    if (raw) {
      try {
        terminal.setRaw(false);
      } catch { /* the terminal is gone; nothing left to restore */ }
    }
    if (midLine) await terminal.write(encoder.encode("\r\n")).catch(() => {});
  }
}

/** Installs `handler` for SIGINT when the platform allows; whether it did. */
function addSigintListener(handler: () => void): boolean {
  try {
    Deno.addSignalListener("SIGINT", handler);
    return true;
  } catch {
    return false;
  }
}

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
