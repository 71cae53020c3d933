/**
 * The server log: one line per event, to stderr and to ROOT/secshrnetd.log.
 *
 * @module
 */

/** Severity of a log line. */
export type LogLevel = "info" | "warn" | "debug";

/** A logger writing `<ISO time> <level> <message>` lines. */
export interface Logger {
  (level: LogLevel, message: string): void;
  /** Closes the log file. */
  close(): void;
}

/** Opens (appending, 0600) the log file at `path`; `debug` lines are kept only when `verbose`. */
export function openLog(path: string, verbose = false): Logger {
  const file = Deno.openSync(path, { append: true, create: true, mode: 0o600 });
  const encoder = new TextEncoder();
  const log = ((level: LogLevel, message: string) => {
    if (level === "debug" && !verbose) return;
    const line = encoder.encode(`${new Date().toISOString()} ${level} ${message}\n`);
    try {
      file.writeSync(line);
    } catch {
      // A full or vanished disk must not stop the server; stderr still gets it.
    }
    Deno.stderr.writeSync(line);
  }) as Logger;
  log.close = () => file.close();
  return log;
}
