/**
 * One client command timed as the network bench measures it: run under
 * bash, whose `times` builtin prints, after the client exited and was reaped,
 * the user and system time the kernel counted for it (wait4 rusage: every
 * thread, so the segment workers too); its peak RSS sampled every 20 ms; the
 * servers' /proc/PID/stat utime + stime, Redis' INFO cpu and the machine's
 * /proc/stat read just before and after.
 *
 * @module
 */

import { secshrnetArgs } from "../tests/harness/network.ts";
import {
  busyShare,
  machineTicks,
  parseChildTimes,
  procCpuSeconds,
  timedCommandArgs,
} from "./common.ts";

/** Peak RSS (VmHWM) of process `pid` in MiB, or 0 when it is gone. */
export function peakRss(pid: number): number {
  try {
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    return Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
  } catch {
    return 0;
  }
}

/** CPU use during one client command. */
export interface CommandCpu {
  /** Wall seconds of the command, process start included. */
  wallSeconds: number;
  /** CPU seconds (user + system, all threads) of the client, from bash `times` after it exits. */
  clientSeconds: number;
  /** CPU seconds of all servers together (/proc/PID/stat utime + stime, before and after). */
  serversSeconds: number;
  /** CPU seconds of each server. */
  perServerSeconds: number[];
  /** CPU seconds of Redis (INFO cpu used_cpu_user + used_cpu_sys, before and after); NaN unread. */
  redisSeconds: number;
  /** Non-idle share (0..1) of all cores during the command, from /proc/stat. */
  machineBusy: number;
}

/** Reads Redis' own CPU seconds so far (INFO cpu used_cpu_user + used_cpu_sys). */
export type RedisCpu = () => Promise<number>;

/** used_cpu_user + used_cpu_sys from one INFO cpu reply. */
export function redisCpuSeconds(info: unknown): number {
  const field = (name: string) =>
    Number(new RegExp(`^${name}:([\\d.]+)`, "m").exec(String(info))?.[1]);
  return field("used_cpu_user") + field("used_cpu_sys");
}

/** The CPU counters a command's budget is the difference of. */
async function cpuSnapshot(serverPids: number[], redisCpu: RedisCpu | undefined) {
  const redis = redisCpu === undefined ? NaN : await redisCpu();
  return { servers: serverPids.map(procCpuSeconds), machine: machineTicks(), redis };
}

/** The deno process bash started (its only child), or undefined before it has. */
function childOf(pid: number): number | undefined {
  try {
    const first = Deno.readTextFileSync(`/proc/${pid}/task/${pid}/children`).trim().split(" ")[0];
    return first ? Number(first) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Runs a client command under bash (which reports its CPU time through
 * `times`), sampling its VmHWM every 20 ms, and the servers', Redis' and the
 * machine's CPU counters just before and after; returns seconds, peak MiB and CPU.
 */
export async function timedClient(
  args: string[],
  env: Record<string, string>,
  serverPids: number[],
  redisCpu: RedisCpu | undefined,
) {
  const before = await cpuSnapshot(serverPids, redisCpu);
  const started = performance.now();
  const child = new Deno.Command("bash", {
    args: timedCommandArgs(Deno.execPath(), [...secshrnetArgs(), ...args]),
    env,
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let peak = 0;
  let client: number | undefined;
  const sampler = setInterval(() => {
    client ??= childOf(child.pid);
    if (client !== undefined) peak = Math.max(peak, peakRss(client));
  }, 20);
  const output = await child.output();
  clearInterval(sampler);
  const seconds = (performance.now() - started) / 1000;
  const machine = machineTicks();
  const servers = serverPids.map(procCpuSeconds);
  const redis = redisCpu === undefined ? NaN : await redisCpu();
  const stderr = new TextDecoder().decode(output.stderr);
  if (!output.success) throw new Error(`secshrnet ${args[0]} failed: ${stderr}`);
  const perServerSeconds = servers.map((s, i) => s - before.servers[i]);
  const cpu: CommandCpu = {
    wallSeconds: seconds,
    clientSeconds: parseChildTimes(stderr),
    serversSeconds: perServerSeconds.reduce((a, b) => a + b, 0),
    perServerSeconds,
    redisSeconds: redis - before.redis,
    machineBusy: busyShare(before.machine, machine),
  };
  return { seconds, peak, cpu };
}

/** A command's CPU seconds as a short progress line. */
export function cpuText(cpu: CommandCpu): string {
  const redis = Number.isNaN(cpu.redisSeconds) ? "" : `, redis ${cpu.redisSeconds.toFixed(1)}`;
  return `CPU s: client ${cpu.clientSeconds.toFixed(1)}, servers ${
    cpu.serversSeconds.toFixed(1)
  }${redis}; machine ${(100 * cpu.machineBusy).toFixed(0)} % busy`;
}
