/**
 * What the topology harness tests (sentinel, cluster) check about the
 * processes they start: a redis-server's pid, whether a process still exists,
 * and whether a port still listens.
 *
 * @module
 */

import type { RespReply } from "./redis.ts";

/** The pid a redis-server or sentinel reports, asked through `command`. */
export async function pidOf(command: (...args: string[]) => Promise<RespReply>): Promise<number> {
  const info = String(await command("INFO", "server"));
  return Number(/^process_id:(\d+)/m.exec(info)?.[1]);
}

/** Whether a process with this pid exists (a zombie counts). */
export async function alive(pid: number): Promise<boolean> {
  try {
    await Deno.stat(`/proc/${pid}`);
    return true;
  } catch {
    return false;
  }
}

/** Whether something accepts connections on 127.0.0.1:`port`. */
export async function listening(port: number): Promise<boolean> {
  try {
    (await Deno.connect({ hostname: "127.0.0.1", port })).close();
    return true;
  } catch {
    return false;
  }
}
