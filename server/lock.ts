/**
 * One server per root: `secshrnet serve` holds an exclusive `flock` on
 * `ROOT/lock` for its whole life, with its pid written in the file for
 * people. The kernel releases the lock when the process ends, however it
 * ends, so a crashed server never leaves its root taken.
 *
 * @module
 */

import type { RootPaths } from "./paths.ts";

/** How long a busy root is retried (a server that is just stopping lets go in this time). */
const LOCK_WAIT_MS = 300;

/** The root is held by another running server. */
export class RootBusyError extends Error {
  /** The root. */
  readonly root: string;
  /** The holder's pid, as its lock file says, if it says. */
  readonly pid?: number;
  constructor(root: string, pid: number | undefined) {
    super(
      `root ${root} is in use by another 'secshrnet serve' (pid ${pid ?? "unknown"}); ` +
        `stop it or use -r for another root`,
    );
    this.name = "RootBusyError";
    this.root = root;
    this.pid = pid;
  }
}

/** A root's lock, held. */
export interface RootLock {
  /** Lets it go (the process ending does too). */
  release(): void;
}

/**
 * Takes the lock of the root `paths` (which must exist), writing this
 * process's pid into it; throws {@linkcode RootBusyError} when another
 * process holds it for more than {@linkcode LOCK_WAIT_MS}.
 */
export async function lockRoot(paths: RootPaths): Promise<RootLock> {
  // Never truncated before the lock is ours: until then it names the holder.
  const file = await Deno.open(paths.lock, { read: true, write: true, create: true, mode: 0o600 });
  try {
    const deadline = Date.now() + LOCK_WAIT_MS;
    while (!await file.tryLock(true)) {
      if (Date.now() >= deadline) {
        const text = await Deno.readTextFile(paths.lock).catch(() => "");
        const pid = /^\d+$/.test(text.trim()) ? Number(text.trim()) : undefined;
        throw new RootBusyError(paths.root, pid);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await file.truncate(0);
    const line = new TextEncoder().encode(`${Deno.pid}\n`);
    let offset = 0;
    while (offset < line.length) offset += await file.write(line.subarray(offset));
  } catch (error) {
    file.close();
    throw error;
  }
  let held = true;
  return {
    release() {
      if (!held) return;
      held = false;
      file.close(); // closing the last descriptor releases the flock
    },
  };
}
