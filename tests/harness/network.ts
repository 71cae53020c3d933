/**
 * A throwaway secshrnet network for tests, the demo and benchmarks: one
 * redis-server on a free port and any number of real `secshrnet serve`
 * processes with temporary roots, started through the same entry point and
 * flags as `deno task secshrnet`, plus a runner for client commands.
 *
 * @module
 */

import { type RedisOptions, type RedisProcess, startRedis } from "./redis.ts";
import { readTrust, writeTrust } from "../../cli/trust.ts";

const ROOT = new URL("../..", import.meta.url).pathname;

/** The `deno` arguments of `deno task secshrnet` (from deno.json), so tests run exactly that. */
export function secshrnetArgs(): string[] {
  const config = JSON.parse(Deno.readTextFileSync(`${ROOT}deno.json`));
  const task: string = config.tasks.secshrnet;
  const args = task.split(/\s+/);
  if (args[0] !== "deno") throw new Error(`unexpected secshrnet task: ${task}`);
  return [...args.slice(1, -1), `${ROOT}${args[args.length - 1]}`];
}

/** One running `secshrnet serve`. */
export interface ServerProcess {
  /** Its root directory. */
  readonly root: string;
  /** The id it announced (server-id file): its public key in hex. */
  readonly id: string;
  /** The id as commands print it for people (its first 16 hex digits). */
  readonly name: string;
  /** The OS process id. */
  readonly pid: number;
  /** Sends `signal`; waits for exit unless it is SIGSTOP/SIGCONT. */
  signal(signal: Deno.Signal): Promise<void>;
  /** Stops it with SIGTERM and waits. */
  stop(): Promise<void>;
  /** Starts it again on the same root after a stop or kill. */
  restart(): Promise<void>;
  /** Whether it is running. */
  readonly running: boolean;
}

/**
 * How to start a server other than with `secshrnet serve`: through another
 * entry script (e.g. tests/harness/liar.ts) taking `-r ROOT` like `serve`,
 * with extra arguments and environment.
 */
/** A network: Redis, servers, and the environment a client needs to reach it. */
export interface TestNetwork {
  readonly redis: RedisProcess;
  readonly servers: ServerProcess[];
  /** A scratch directory removed by `stop`. */
  readonly dir: string;
  /** Environment for client commands (SECSHRNET_REDIS_URL, HOME in the scratch dir). */
  readonly env: Record<string, string>;
  /** `$HOME/.secshrnet/secshrnet.conf` when `config` was given: every server runs with `-c` it. */
  readonly configFile?: string;
  /** The clients' trust file, `$HOME/.secshrnet/secshrnet.trusted`. */
  readonly trustFile: string;
  /** Adds server ids to the clients' trust file (as `secshrnet trust ID` would). */
  trust(...ids: string[]): Promise<void>;
  /** Starts one more server (with `options`, else as the network's servers start). */
  addServer(options?: ServerOptions): Promise<ServerProcess>;
  /** Waits until exactly `count` servers are subscribed. */
  waitForServers(count: number): Promise<void>;
  /** Runs `secshrnet ARGS` as a client; resolves with exit code and output. */
  run(args: string[], options?: RunOptions): Promise<RunResult>;
  /** Stops every server and Redis and removes the scratch directory. */
  stop(): Promise<void>;
}

/** How to start the network. */
export interface NetworkOptions {
  /** Extra redis-server arguments (added after `redis.args`). */
  redisArgs?: string[];
  /** How to start redis-server: a password, an ACL file, TLS; `redis.url` carries `auth`. */
  redis?: RedisOptions;
  /** TOML text for `$HOME/.secshrnet/secshrnet.conf`: clients read it, servers get `-c` it. */
  config?: string;
  /** Environment for servers and clients over the defaults (e.g. another SECSHRNET_REDIS_URL). */
  env?: Record<string, string>;
  /**
   * A Redis topology the caller started and stops (e.g. tests/harness/sentinel.ts): no
   * redis-server is started, SECSHRNET_REDIS_URL is not set (`config` says how to reach
   * it), and `command` (asked where the servers subscribe) counts the servers online.
   */
  external?: RedisProcess;
  /** How every server starts unless `addServer` is given options. */
  server?: ServerOptions;
  /**
   * Whether clients trust each server as it starts (default true), as a user
   * would after `secshrnet trust --all`. The demo trusts them through the CLI.
   */
  trust?: boolean;
}

/** Extra settings of one server. */
export interface ServerOptions {
  /** Its config file (`serve -c`), instead of the network's `configFile`. */
  configFile?: string;
  /** Environment over the network's. */
  env?: Record<string, string>;
  /** Absolute path of another entry script, run with the same `deno run` flags as `secshrnet`. */
  script?: string;
  /** Arguments after `-r ROOT` (and `-c FILE`). */
  args?: string[];
  /** Whether clients trust it; default the network's `trust`. */
  trusted?: boolean;
}

/** Options of a client run. */
export interface RunOptions {
  /** Extra environment (e.g. SECSHRNET_PASSWORD). */
  env?: Record<string, string>;
  /** Bytes for standard input. */
  stdin?: Uint8Array;
  /** Kill the run after this long (default 120 s) and fail. */
  timeoutMs?: number;
}

/** What a client run did. */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  /** Raw stdout bytes (for `get -`). */
  stdoutBytes: Uint8Array;
}

/** Starts Redis and `servers` servers (started with `options.server`); waits until all are online. */
export async function startNetwork(
  servers: number,
  options: NetworkOptions = {},
): Promise<TestNetwork> {
  const dir = await Deno.makeTempDir({ prefix: "secshrnet-test-" });
  let redis: RedisProcess;
  try {
    const args = [...options.redis?.args ?? [], ...options.redisArgs ?? []];
    redis = options.external ?? await startRedis({ ...options.redis, args });
  } catch (error) {
    await Deno.remove(dir, { recursive: true });
    throw error;
  }
  // HOME points into the scratch directory (default roots and configs land there);
  // DENO_DIR keeps Deno's own cache where it was, so runs start fast and leave no trace.
  const denoDir = Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME")}/.cache/deno`;
  const env: Record<string, string> = {
    // An external Redis is reached through the config (e.g. sentinels), not the environment.
    ...options.external === undefined ? { SECSHRNET_REDIS_URL: redis.url } : {},
    HOME: dir,
    DENO_DIR: denoDir,
    NO_COLOR: "1",
    ...options.env,
  };
  // Clients read $HOME/.secshrnet/secshrnet.conf: the test's config, and a scrypt floor
  // low enough for the tests' cheap --log-n 10 (docs/SECURITY.md: the floor's default is 16).
  const clientConfig = `${dir}/.secshrnet/secshrnet.conf`;
  await Deno.mkdir(`${dir}/.secshrnet`, { mode: 0o700 });
  const text = options.config ?? "";
  await Deno.writeTextFile(
    clientConfig,
    /\bmin_log_n\b|^\[kdf\]/m.test(text) ? text : `${text}\n[kdf]\nmin_log_n = 10\n`,
  );
  const configFile = options.config === undefined ? undefined : clientConfig;
  const trustFile = `${dir}/.secshrnet/secshrnet.trusted`;
  const list: ServerProcess[] = [];
  const network: TestNetwork = {
    redis,
    servers: list,
    dir,
    env,
    configFile,
    trustFile,
    async trust(...ids) {
      const entries = await readTrust(trustFile);
      const added = ids.filter((id) => !entries.some((e) => e.id === id));
      await writeTrust(trustFile, [...entries, ...added.map((id) => ({ id, note: "test" }))]);
    },
    async addServer(serverOptions = options.server ?? {}) {
      const server = await spawnServer(`${dir}/server-${list.length + 1}`, env, {
        ...serverOptions,
        configFile: serverOptions.configFile ?? configFile,
      });
      list.push(server);
      if (serverOptions.trusted ?? options.trust ?? true) await network.trust(server.id);
      return server;
    },
    async waitForServers(count) {
      const deadline = Date.now() + 20_000;
      while (Date.now() < deadline) {
        if ((await serverChannels(redis)).size === count) return;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      throw new Error(
        `expected ${count} servers online, have ${(await serverChannels(redis)).size}` +
          await missingServerLogs(redis, list),
      );
    },
    run: (args, runOptions = {}) => runClient(args, { ...env, ...runOptions.env }, runOptions),
    async stop() {
      await Promise.all(list.map((s) => s.running ? s.stop() : undefined));
      if (options.external === undefined) await redis.stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
  try {
    for (let i = 0; i < servers; i++) await network.addServer();
    await network.waitForServers(servers);
  } catch (error) {
    await network.stop();
    throw error;
  }
  return network;
}

/** Number of servers subscribed on the default network, asked as the harness's Redis user. */
/** The server channels subscribed now. */
async function serverChannels(redis: RedisProcess): Promise<Set<string>> {
  const channels = await redis.command("PUBSUB", "CHANNELS", "secshrnet:server:*");
  return new Set(Array.isArray(channels) ? channels.map(String) : []);
}

/**
 * For a failure message: the last lines of the log (ROOT/secshrnetd.log) of
 * each server whose channel has no subscription, so a rare failure says why.
 */
async function missingServerLogs(redis: RedisProcess, servers: ServerProcess[]): Promise<string> {
  const online = await serverChannels(redis);
  const missing = servers.filter((s) => !online.has(`secshrnet:server:${s.id}`));
  const logs = await Promise.all(missing.map(async (server) => {
    const text = await Deno.readTextFile(`${server.root}/secshrnetd.log`).catch((e) => String(e));
    const tail = text.trimEnd().split("\n").slice(-40).join("\n");
    return `\n--- ${server.name} (not subscribed), end of its log:\n${tail}`;
  }));
  return logs.join("");
}

async function spawnServer(
  root: string,
  env: Record<string, string>,
  options: ServerOptions,
): Promise<ServerProcess> {
  const config = options.configFile === undefined ? [] : ["-c", options.configFile];
  const entry = options.script === undefined
    ? [...secshrnetArgs(), "serve"]
    : [...secshrnetArgs().slice(0, -1), options.script];
  const start = () =>
    new Deno.Command(Deno.execPath(), {
      args: [...entry, "-r", root, ...config, ...options.args ?? []],
      env: { ...env, ...options.env },
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
  let child = start();
  let running = true;
  child.status.then(() => running = false);
  const deadline = Date.now() + 20_000;
  const isId = (text: string) => /^[0-9a-f]{64}$/.test(text);
  let id = "";
  while (!isId(id) && Date.now() < deadline) {
    id = await Deno.readTextFile(`${root}/server-id`).then((t) => t.trim(), () => "");
    if (!isId(id)) await new Promise((resolve) => setTimeout(resolve, 50));
  }
  if (!isId(id)) throw new Error(`server in ${root} did not start`);
  const server: ServerProcess = {
    root,
    id,
    name: id.slice(0, 16),
    get pid() {
      return child.pid;
    },
    get running() {
      return running;
    },
    async signal(signal) {
      child.kill(signal);
      if (signal !== "SIGSTOP" && signal !== "SIGCONT") await child.status;
    },
    async stop() {
      if (!running) return;
      child.kill("SIGCONT"); // a stopped (SIGSTOP) process cannot act on SIGTERM
      child.kill("SIGTERM");
      await child.status;
    },
    async restart() {
      if (running) await server.stop();
      child = start();
      running = true;
      child.status.then(() => running = false);
    },
  };
  return server;
}

async function runClient(
  args: string[],
  env: Record<string, string>,
  options: RunOptions,
): Promise<RunResult> {
  return await runProcess(Deno.execPath(), {
    args: [...secshrnetArgs(), ...args],
    env,
    stdin: options.stdin,
    timeoutMs: options.timeoutMs ?? 120_000,
  });
}

/** What {@linkcode runProcess} runs, and how. */
export interface ProcessOptions extends Omit<Deno.CommandOptions, "stdin" | "stdout" | "stderr"> {
  /** Bytes for standard input (else none). */
  stdin?: Uint8Array;
  /** Killed (SIGKILL) after this long: a hang guard, never a timing claim. */
  timeoutMs: number;
  /** Runs while the process runs (e.g. sampling its memory); returns how to stop. */
  watch?: (child: Deno.ChildProcess) => () => void;
}

/** What a process did, how long it ran, and whether the hang guard killed it. */
export interface ProcessResult extends RunResult {
  elapsedMs: number;
  timedOut: boolean;
}

/** Runs `command` with its output collected, killed after `options.timeoutMs`. */
export async function runProcess(command: string, options: ProcessOptions): Promise<ProcessResult> {
  const { stdin, timeoutMs, watch, ...spawn } = options;
  const started = Date.now();
  const child = new Deno.Command(command, {
    ...spawn,
    stdin: stdin ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const unwatch = watch?.(child);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill("SIGKILL");
  }, timeoutMs);
  if (stdin) {
    const writer = child.stdin.getWriter();
    await writer.write(stdin);
    await writer.close();
  }
  const output = await child.output();
  clearTimeout(timer);
  unwatch?.();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return {
    code: output.code,
    stdout: decode(output.stdout),
    stderr: decode(output.stderr),
    stdoutBytes: output.stdout,
    elapsedMs: Date.now() - started,
    timedOut,
  };
}
