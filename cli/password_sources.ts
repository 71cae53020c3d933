/**
 * The password sources that read bytes: `--password-file PATH` and
 * `--password-fd N`, and the decoding every byte source shares (UTF-8, one
 * trailing newline removed, the bytes zeroed).
 *
 * @module
 */

import { PasswordError } from "./password_error.ts";

/** The password in the file at `path` (whole file, one trailing "\n" or "\r\n" removed). */
export async function readPasswordFile(path: string): Promise<string> {
  const bytes = await readAll(path, `cannot read password file ${path}`);
  return nonEmpty(decodeSecret(bytes, `password file ${path}`), `password file ${path}`);
}

/** The password read to EOF from descriptor `fd`, via /dev/fd/N (one trailing newline removed). */
export async function readPasswordFd(fd: number): Promise<string> {
  if (!Number.isSafeInteger(fd) || fd < 0) throw new PasswordError(`bad password fd ${fd}`);
  const notOpen = `not open; pass an open descriptor, e.g. --password-fd ${fd} ${fd}<passfile`;
  if (runtimeDescriptor(fd)) throw new PasswordError(`cannot read password fd ${fd}: ${notOpen}`);
  const bytes = await readAll(`/dev/fd/${fd}`, `cannot read password fd ${fd}`, notOpen);
  return nonEmpty(decodeSecret(bytes, `password fd ${fd}`), `password fd ${fd}`);
}

/** O_CLOEXEC in /proc/self/fdinfo's octal "flags". */
const O_CLOEXEC = 0o2000000;

/**
 * The descriptors Deno itself had open (close-on-exec) when this module was
 * loaded, each with what it pointed at: its event loop and module caches. A
 * descriptor the caller passed (`9<file`) survived exec, so it is never
 * close-on-exec; one the program opens later is not in the set, or reuses a
 * number whose target has changed. Linux only (empty elsewhere or without
 * permission to read /proc/self).
 */
const RUNTIME_DESCRIPTORS: ReadonlyMap<number, string> = snapshotRuntimeDescriptors();

function snapshotRuntimeDescriptors(): Map<number, string> {
  const found = new Map<number, string>();
  try {
    if (Deno.build.os !== "linux") return found;
    if (Deno.permissions.querySync({ name: "read", path: "/proc/self" }).state !== "granted") {
      return found;
    }
    for (const entry of Deno.readDirSync("/proc/self/fd")) {
      const fd = Number(entry.name);
      const target = closeOnExecTarget(fd);
      if (target !== undefined) found.set(fd, target);
    }
  } catch {
    // No /proc: nothing is known to be the runtime's.
  }
  return found;
}

/**
 * What close-on-exec descriptor `fd` points at ("anon_inode:[eventpoll]", a
 * path, "socket:[123]"), with its inode; undefined when it is closed or not
 * close-on-exec.
 */
function closeOnExecTarget(fd: number): string | undefined {
  try {
    const info = Deno.readTextFileSync(`/proc/self/fdinfo/${fd}`);
    const flags = /^flags:\s*([0-7]+)/m.exec(info);
    if (flags === null || (parseInt(flags[1], 8) & O_CLOEXEC) === 0) return undefined;
    const inode = /^ino:\s*(\d+)/m.exec(info)?.[1] ?? "";
    return `${Deno.readLinkSync(`/proc/self/fd/${fd}`)} ${inode}`;
  } catch {
    return undefined; // closed meanwhile (the descriptor of the listing itself)
  }
}

/**
 * Whether `fd` is one of the runtime's own descriptors rather than one the
 * caller opened: open since startup on the same target, and still
 * close-on-exec. `snapshot` is the startup set (a parameter for the tests).
 */
export function runtimeDescriptor(
  fd: number,
  snapshot: ReadonlyMap<number, string> = RUNTIME_DESCRIPTORS,
): boolean {
  const atStartup = snapshot.get(fd);
  return atStartup !== undefined && closeOnExecTarget(fd) === atStartup;
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
export function osReason(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  const match = /^(.*?\(os error \d+\))/s.exec(text);
  return (match ? match[1] : text).split(/\r?\n/)[0];
}

/**
 * UTF-8 text of a secret read from a file, fd or command, with one trailing
 * "\n" or "\r\n" removed; `bytes` are zeroed. Not UTF-8 → "`where` is not valid UTF-8".
 */
export function decodeSecret(bytes: Uint8Array, where: string): string {
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

/** `password`, or PasswordError("empty password (`where`)") when it is "". */
export function nonEmpty(password: string, where: string): string {
  if (password === "") throw new PasswordError(`empty password (${where})`);
  return password;
}
