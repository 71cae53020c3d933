/**
 * The server log: one line per event, to stderr and (unless `[server] log`
 * is "-") to a file, by default ROOT/secshrnetd.log. The file is rotated
 * when a line would take it past its size cap (secshrnetd.log becomes
 * secshrnetd.log.1, .1 becomes .2, …, and the oldest beyond the number kept
 * is deleted), and reopened on demand (SIGHUP, after logrotate moved it).
 * Writing never throws: a full or vanished disk must not stop the server.
 *
 * @module
 */

import { DEFAULT_LOG_KEEP, DEFAULT_LOG_MAX_BYTES } from "../core/config.ts";

/** Severity of a log line. */
export type LogLevel = "info" | "warn" | "debug";

/** A logger writing `<ISO time> <level> <message>` lines. */
export interface Logger {
  (level: LogLevel, message: string): void;
  /**
   * Closes the log file and opens it again at its path (a new file if it was
   * moved away); `false` when there is no file (stderr only). Throws the file
   * system's error when it cannot be opened: lines then go to stderr only
   * until a reopen succeeds.
   */
  reopen(): boolean;
  /** Closes the log file. */
  close(): void;
}

/** Where and how a log is written. */
export interface LogOptions {
  /** The log file; `undefined` logs to stderr only. */
  file?: string;
  /** Size in bytes at which the file is rotated; 0 never rotates. Default {@linkcode DEFAULT_LOG_MAX_BYTES}. */
  maxBytes?: number;
  /** Rotated files kept (file.1 … file.keep). Default {@linkcode DEFAULT_LOG_KEEP}. */
  keep?: number;
  /** Whether `debug` lines are written. */
  verbose?: boolean;
}

/**
 * Opens the log: the file (appending, created 0600) when `options.file` is
 * set, and stderr. Throws the file system's error when the file cannot be
 * opened; once open, logging never throws.
 */
export function openLog(options: LogOptions = {}): Logger {
  const { file: path, verbose = false } = options;
  const maxBytes = options.maxBytes ?? DEFAULT_LOG_MAX_BYTES;
  const keep = options.keep ?? DEFAULT_LOG_KEEP;
  const encoder = new TextEncoder();
  let file = path === undefined ? undefined : new LogFile(path);
  const log = ((level: LogLevel, message: string) => {
    if (level === "debug" && !verbose) return;
    const line = encoder.encode(`${new Date().toISOString()} ${level} ${message}\n`);
    if (file !== undefined) {
      if (maxBytes > 0 && file.size > 0 && file.size + line.length > maxBytes) {
        file = rotate(file, keep);
      }
      file?.write(line);
    }
    writeAll(Deno.stderr, line);
  }) as Logger;
  log.reopen = () => {
    if (path === undefined) return false;
    file?.close();
    file = undefined;
    file = new LogFile(path);
    return true;
  };
  log.close = () => {
    file?.close();
    file = undefined;
  };
  return log;

  /**
   * Moves `current` to .1 (and older ones up) and returns a fresh file. When
   * that fails, lines go to stderr only until the next reopen: retrying on
   * every line would shift the older files away one by one.
   */
  function rotate(current: LogFile, keep: number): LogFile | undefined {
    current.close();
    try {
      shiftRotated(current.path, keep);
      Deno.renameSync(current.path, `${current.path}.1`);
      return new LogFile(current.path);
    } catch (error) {
      complain(
        `cannot rotate the log file ${current.path}: ${(error as Error).message}; logging to ` +
          `stderr only until SIGHUP`,
      );
      return undefined;
    }
  }
}

/** One open log file and its size, as far as this process wrote it. */
class LogFile {
  readonly path: string;
  readonly #file: Deno.FsFile;
  size: number;
  constructor(path: string) {
    this.path = path;
    this.#file = Deno.openSync(path, { append: true, create: true, mode: 0o600 });
    try {
      this.size = this.#file.statSync().size;
    } catch (error) {
      this.#file.close();
      throw error;
    }
  }
  /** Appends `line`; a failure (a full disk) is swallowed, the bytes written are counted. */
  write(line: Uint8Array): void {
    this.size += writeAll(this.#file, line);
  }
  close(): void {
    try {
      this.#file.close();
    } catch {
      // Already closed.
    }
  }
}

/**
 * Deletes `path.keep` (and any older file beyond it, left from a larger
 * `keep`) and renames `path.(keep-1)` … `path.1` one up, leaving `path.1` free.
 */
function shiftRotated(path: string, keep: number): void {
  const slash = path.lastIndexOf("/");
  const dir = slash < 0 ? "." : path.slice(0, slash) || "/";
  const base = path.slice(slash + 1);
  for (const entry of Deno.readDirSync(dir)) {
    const suffix = entry.name.startsWith(`${base}.`) ? entry.name.slice(base.length + 1) : "";
    if (/^[1-9]\d*$/.test(suffix) && Number(suffix) >= keep) removeIfThere(`${path}.${suffix}`);
  }
  for (let n = keep - 1; n >= 1; n--) {
    try {
      Deno.renameSync(`${path}.${n}`, `${path}.${n + 1}`);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
}

/** Removes `path`; fine when it is not there. */
function removeIfThere(path: string): void {
  try {
    Deno.removeSync(path);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
}

/** Writes all of `bytes` to `target`; returns how many were written before any failure. */
function writeAll(target: { writeSync(p: Uint8Array): number }, bytes: Uint8Array): number {
  let offset = 0;
  try {
    while (offset < bytes.length) offset += target.writeSync(bytes.subarray(offset));
  } catch {
    // A full or vanished disk, a closed stderr: the server goes on.
  }
  return offset;
}

/** Says on stderr what went wrong with the log file itself. */
function complain(message: string): void {
  writeAll(
    Deno.stderr,
    new TextEncoder().encode(`${new Date().toISOString()} warn ${message}\n`),
  );
}
