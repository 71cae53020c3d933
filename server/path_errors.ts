/**
 * A server root or log file that cannot be used, said in one line that names
 * it and what to do: a file system error (`EACCES`, `EEXIST`, …) becomes a
 * {@linkcode ServerPathError}, a usage error (exit 2), since only another
 * `-r`, `[server] log` or permissions fix it; retrying would not.
 *
 * @module
 */

import { UsageError } from "../core/errors.ts";

/** The server root or the log file cannot be used (exit 2: a config or command-line problem). */
export class ServerPathError extends UsageError {}

/** Short reasons for the file system errors a root or log path meets, by errno name. */
const REASONS: Record<string, string> = {
  EACCES: "permission denied",
  EPERM: "permission denied",
  EROFS: "read-only file system",
  ENOSPC: "no space left on device",
  EDQUOT: "disk quota exceeded",
  ENOTDIR: "a part of the path is a file, not a directory",
  ENOENT: "no such file or directory",
  EISDIR: "is a directory",
  ELOOP: "too many levels of symbolic links",
  ENAMETOOLONG: "file name too long",
};

/** The errno name of a Deno file system error (`EACCES`, …), or `undefined` for any other error. */
function errnoOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return error instanceof Error && typeof code === "string" && /^E[A-Z]+$/.test(code)
    ? code
    : undefined;
}

/** A short lower-case reason for a file system error. */
function reasonOf(error: Error, errno: string): string {
  return REASONS[errno] ?? error.message.replace(/\s*\(os error \d+\).*$/s, "").toLowerCase();
}

/** The path a Deno file system error names (`… open '/x/y'`), if any. */
function pathOf(error: Error): string | undefined {
  return /'([^']*)'\s*$/.exec(error.message)?.[1];
}

/** Whether `root` lies under /proc or /sys, where nothing can be stored. */
function isVirtual(root: string): boolean {
  const absolute = root.startsWith("/") ? root : `${Deno.cwd()}/${root}`;
  return /^\/+(proc|sys)(\/|$)/.test(absolute);
}

/**
 * The error to report for `error`, met while creating, locking or writing the
 * root `root`: a {@linkcode ServerPathError} for a file system error, else
 * `error` itself (e.g. a RootBusyError).
 */
export function rootError(root: string, error: unknown): unknown {
  const errno = errnoOf(error);
  if (errno === undefined) return error;
  const cause = error as Error;
  if (errno === "EEXIST") return notADirectory(root);
  // Naming the file helps unless it is the root itself, or the lock or probe made to test it.
  const path = pathOf(cause)?.replace(/\/+$/, "");
  const trimmed = root.replace(/\/+$/, "");
  const on = path === undefined || path === trimmed || path === `${trimmed}/lock` ||
      path.startsWith(`${trimmed}/.probe-`)
    ? ""
    : ` on ${path}`;
  const stem = `cannot use ${root} as the server root`;
  if (isVirtual(root)) {
    return new ServerPathError(
      `${stem}: it is under /proc or /sys, which store nothing (${reasonOf(cause, errno)}); ` +
        `choose a directory on a disk for -r`,
    );
  }
  if (errno === "EACCES" || errno === "EPERM") {
    return new ServerPathError(
      `${stem}: permission denied${on}; choose a root you can write (-r DIR) or fix its permissions`,
    );
  }
  if (errno === "EROFS") {
    return new ServerPathError(
      `${stem}: read-only file system; choose a root on a writable file system (-r DIR)`,
    );
  }
  return new ServerPathError(
    `${stem}: ${reasonOf(cause, errno)}${on}; choose another root with -r`,
  );
}

/**
 * Checks, before anything reads or creates under it, that `root` is a
 * directory or can become one; throws a {@linkcode ServerPathError} saying
 * why not (a file, a path through a file, under /proc).
 */
export function checkRoot(root: string): void {
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(root);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound && !isVirtual(root)) return;
    throw rootError(root, error);
  }
  if (!info.isDirectory) throw notADirectory(root);
}

/** The error for a root that exists and is not a directory. */
function notADirectory(root: string): ServerPathError {
  let what = "exists and is not a directory"; // e.g. a dangling symbolic link
  try {
    if (Deno.statSync(root).isFile) what = "is a file, not a directory";
  } catch {
    // Nothing more to say.
  }
  return new ServerPathError(`${root} ${what}; choose a directory for -r`);
}

/**
 * The error to report for `error`, met while opening the log file `file`: a
 * {@linkcode ServerPathError} for a file system error, else `error` itself.
 */
export function logFileError(file: string, error: unknown): unknown {
  const errno = errnoOf(error);
  if (errno === undefined) return error;
  const instead = `set [server] log to a file you can write, or "-" for stderr only`;
  const stem = `cannot open the log file ${file}`;
  switch (errno) {
    case "EISDIR":
      return new ServerPathError(`the log file ${file} is a directory; ${instead}`);
    case "ENOENT":
      return new ServerPathError(`${stem}: its directory does not exist; create it, or ${instead}`);
    case "EACCES":
    case "EPERM":
      return new ServerPathError(`${stem}: permission denied; fix its permissions, or ${instead}`);
    default:
      return new ServerPathError(`${stem}: ${reasonOf(error as Error, errno)}; ${instead}`);
  }
}

/**
 * Runs `action` (a step that creates or writes under the root `root`),
 * restating a file system error as {@linkcode rootError} does.
 */
export async function inRoot<T>(root: string, action: () => Promise<T> | T): Promise<T> {
  try {
    return await action();
  } catch (error) {
    throw rootError(root, error);
  }
}
