/**
 * The test side of rogue servers (tests/harness/rogue.ts): starting one,
 * switching its mode, reading what it received and what it forged, and a
 * client run that records the client's peak memory (VmHWM, polled from
 * /proc while it runs).
 *
 * @module
 */

import { type ForgedRecord, type LoggedMessage, ROGUE_SCRIPT, type RogueMode } from "./rogue.ts";
import {
  type ProcessResult,
  runProcess,
  secshrnetArgs,
  type ServerProcess,
  type TestNetwork,
} from "./network.ts";

/** Starts one more server through {@linkcode ROGUE_SCRIPT} in `mode`; waits until all are online. */
export async function addRogue(
  network: TestNetwork,
  mode: RogueMode,
  trusted = true,
): Promise<ServerProcess> {
  const server = await network.addServer({ script: ROGUE_SCRIPT, args: ["--mode", mode], trusted });
  await network.waitForServers(network.servers.length);
  return server;
}

/** Makes `server` (started through {@linkcode ROGUE_SCRIPT}) act as `mode` from its next message on. */
export async function setRogue(server: ServerProcess, mode: RogueMode): Promise<void> {
  const temp = `${server.root}/rogue.tmp`;
  await Deno.writeTextFile(temp, mode + "\n");
  await Deno.rename(temp, `${server.root}/rogue`);
}

async function jsonLines<T>(path: string): Promise<T[]> {
  const text = await Deno.readTextFile(path).catch(() => "");
  return text.split("\n").filter((line) => line !== "").map((line) => JSON.parse(line) as T);
}

/** Every message `server` received so far (ROOT/requests.jsonl). */
export async function received(server: ServerProcess): Promise<LoggedMessage[]> {
  return await jsonLines<LoggedMessage>(`${server.root}/requests.jsonl`);
}

/** Every header `server` forged so far (ROOT/forged.jsonl). */
export async function forgedBy(server: ServerProcess): Promise<ForgedRecord[]> {
  return await jsonLines<ForgedRecord>(`${server.root}/forged.jsonl`);
}

/** Message types with counts, for failure messages and the log. */
export function typeCounts(messages: LoggedMessage[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const m of messages) counts[m.type] = (counts[m.type] ?? 0) + 1;
  return counts;
}

/** A client run with its peak resident memory (its wall time is for the log only, never asserted). */
export interface MeasuredRun extends ProcessResult {
  /** Highest VmHWM seen (peak resident set), in MiB; 0 if never read. */
  peakRssMiB: number;
}

/** VmHWM of process `pid` in KiB, or undefined once it is gone. */
function vmHwmKiB(pid: number): number | undefined {
  try {
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    const match = /^VmHWM:\s+(\d+)\s+kB/m.exec(status);
    return match === null ? undefined : Number(match[1]);
  } catch {
    return undefined;
  }
}

/**
 * `secshrnet ARGS` as the harness runs clients (network.ts runClient: the
 * same `deno run` flags, the network's environment), polling the client's
 * VmHWM every 25 ms. Killed after `timeoutMs` (a hang guard only).
 */
export async function runMeasured(
  network: TestNetwork,
  args: string[],
  options: { env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<MeasuredRun> {
  let peakKiB = 0;
  const run = await runProcess(Deno.execPath(), {
    args: [...secshrnetArgs(), ...args],
    env: { ...network.env, ...options.env },
    timeoutMs: options.timeoutMs ?? 120_000,
    watch: (child) => {
      const poll = setInterval(() => {
        peakKiB = Math.max(peakKiB, vmHwmKiB(child.pid) ?? 0);
      }, 25);
      return () => clearInterval(poll);
    },
  });
  return { ...run, peakRssMiB: Math.round(peakKiB / 1024) };
}

/** Prints a measured run for the docs: what, exit code, peak RSS, time. */
export function report(what: string, run: MeasuredRun): void {
  console.log(
    `  ${what}: exit ${run.code}, peak RSS ${run.peakRssMiB} MiB, ${
      (run.elapsedMs / 1000).toFixed(1)
    } s${run.timedOut ? " (killed by the hang guard)" : ""}`,
  );
}
