/**
 * Fault injection for the network tests (tests/network_faults_*_test.ts):
 * watching a transfer until it is observably in progress (a server's staged
 * upload or a client's partial output growing, or a message on the bus), and
 * checking what a fault left behind (a digest of a server's committed
 * objects, its staging directory, its log).
 *
 * @module
 */

import { Redis } from "ioredis";
import type { Buffer } from "node:buffer";
import { statfs } from "node:fs/promises";
import { toHex } from "../../core/bytes.ts";
import { closeConnection } from "../../core/net/connection.ts";
import { decodeEnvelope, type Envelope } from "../../core/net/envelope.ts";
import { frameLength, segmentCount, segmentLength } from "../../core/header.ts";
import { defaultSegmentSize } from "../../core/seal.ts";
import type { RunResult, ServerProcess, TestNetwork } from "./network.ts";
import { secshrnetArgs } from "./network.ts";
import { walk } from "./client.ts";

/** One mebibyte. */
export const MiB = 2 ** 20;

/** Whether every server has an upload under way (the put is streaming). */
export function uploading(network: TestNetwork): () => Promise<boolean> {
  return () =>
    Promise.resolve(network.servers.every((s) => {
      try {
        return [...Deno.readDirSync(`${s.root}/uploads`)].length > 0;
      } catch {
        return false;
      }
    }));
}

/** Bytes of one server's share stream for a `size`-byte object stored with `k` of `n`. */
export function expectedShareBytes(size: number, k: number, n: number): number {
  const header = { size, segmentSize: defaultSegmentSize(k, n), k };
  const count = segmentCount(header);
  let bytes = 33;
  for (let i = 0; i < count; i++) bytes += frameLength(header, segmentLength(header, i));
  return bytes;
}

/** The largest share staged under `root/uploads` now (0 when none). */
export async function stagedShareBytes(root: string): Promise<number> {
  let largest = 0;
  try {
    for await (const entry of Deno.readDir(`${root}/uploads`)) {
      const size = await Deno.stat(`${root}/uploads/${entry.name}/share`).then(
        (info) => info.size,
        () => 0,
      );
      largest = Math.max(largest, size);
    }
  } catch {
    // The directory is being recreated (server start): nothing staged.
  }
  return largest;
}

/** Polls every 10 ms until `condition()` holds; throws `what` after `timeoutMs` (a hang guard). */
export async function poll(
  condition: () => Promise<boolean>,
  what: string,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!await condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Waits until a share staged on `server` holds at least `bytes`; returns its size then. */
export async function waitForStaged(server: ServerProcess, bytes: number): Promise<number> {
  let seen = 0;
  await poll(async () => (seen = await stagedShareBytes(server.root)) >= bytes, `${bytes} staged`);
  return seen;
}

/** The hidden partial output files `get` writes in `dir` (`.NAME.*.partial`), with their sizes. */
export async function partialFiles(dir: string): Promise<{ name: string; size: number }[]> {
  const found: { name: string; size: number }[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (!entry.name.endsWith(".partial")) continue;
    const size = await Deno.stat(`${dir}/${entry.name}`).then((info) => info.size, () => -1);
    if (size >= 0) found.push({ name: entry.name, size });
  }
  return found;
}

/** Waits until a partial output file in `dir` holds at least `bytes`. */
export async function waitForPartial(dir: string, bytes: number): Promise<void> {
  await poll(
    async () => (await partialFiles(dir)).some((f) => f.size >= bytes),
    `a partial output of ${bytes} bytes in ${dir}`,
  );
}

/**
 * SHA-256 of every file under `root/tags`, by relative path: two equal
 * digests mean the server's committed objects are byte for byte the same.
 */
export async function tagsDigest(root: string): Promise<Record<string, string>> {
  const digest: Record<string, string> = {};
  for (const path of await walk(`${root}/tags`)) {
    const full = `${root}/tags/${path}`;
    if (!(await Deno.stat(full)).isFile) continue;
    const hash = await crypto.subtle.digest("SHA-256", await Deno.readFile(full));
    digest[path] = toHex(new Uint8Array(hash));
  }
  return digest;
}

/** The object ids (hex) of the committed objects in a digest, sorted. */
export function objectIdsIn(digest: Record<string, string>): string[] {
  const ids = Object.keys(digest)
    .map((path) => /\/\d{15}-([0-9a-f]{32})\/header$/.exec(path)?.[1])
    .filter((id) => id !== undefined);
  return [...new Set(ids)].sort();
}

/** Every committed object of a digest has its five files (none half there). */
export function completeObjects(digest: Record<string, string>): boolean {
  const files = new Map<string, string[]>();
  for (const path of Object.keys(digest)) {
    const match = /^(.*\/\d{15}-[0-9a-f]{32})\/([a-z]+)$/.exec(path);
    if (match) files.set(match[1], [...(files.get(match[1]) ?? []), match[2]]);
  }
  return [...files.values()].every((names) =>
    names.sort().join(",") === "access,header,index,manifest,share"
  );
}

/** What `server` has logged so far. */
export async function serverLog(server: ServerProcess): Promise<string> {
  return await Deno.readTextFile(`${server.root}/secshrnetd.log`).catch(() => "");
}

/** Writes `toml` as the config of each of `servers` and restarts them on it. */
export async function configureServers(
  network: TestNetwork,
  servers: ServerProcess[],
  toml: string,
): Promise<void> {
  for (const server of servers) {
    await Deno.writeTextFile(`${server.root}/secshrnet.conf`, toml);
    await server.restart();
  }
  await network.waitForServers(network.servers.filter((s) => s.running).length);
}

/** A client command started in the background. */
export interface BackgroundClient {
  /** Its OS process id. */
  readonly pid: number;
  /** Sends it `signal`. */
  kill(signal: Deno.Signal): void;
  /** Resolves once it has exited. */
  readonly result: Promise<RunResult>;
}

/** Starts `secshrnet ARGS` as a client without waiting for it (killed after `timeoutMs`). */
export function startClient(
  network: TestNetwork,
  args: string[],
  env: Record<string, string> = {},
  timeoutMs = 120_000,
): BackgroundClient {
  const child = new Deno.Command(Deno.execPath(), {
    args: [...secshrnetArgs(), ...args],
    env: { ...network.env, ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  const result = child.output().then((output) => ({
    code: output.code,
    stdout: decode(output.stdout),
    stderr: decode(output.stderr),
    stdoutBytes: output.stdout,
  })).finally(() => clearTimeout(timer));
  return { pid: child.pid, kill: (signal) => child.kill(signal), result };
}

/**
 * Watches the messages published on the channels `pattern` matches (default:
 * all of the default network, to servers and to clients) and calls
 * `onMessage` with each, decoded, and its channel; `close` ends the watch.
 * (Bulk data through the watch makes ioredis' parser start a timer that
 * outlives a short test: watch `secshrnet:client:*` around large puts.)
 */
export async function watchBus(
  network: TestNetwork,
  onMessage: (message: Envelope, channel: string) => void,
  pattern = "secshrnet:*",
): Promise<{ close(): Promise<void> }> {
  const sniffer = new Redis(network.redis.url, { lazyConnect: true });
  await sniffer.connect();
  sniffer.on("pmessageBuffer", (_pattern: Buffer, channel: Buffer, message: Buffer) => {
    try {
      onMessage(decodeEnvelope(new Uint8Array(message)), channel.toString());
    } catch {
      // Not a secshrnet message.
    }
  });
  await sniffer.psubscribe(pattern);
  return { close: () => closeConnection(sniffer) };
}

/** A server whose root is on a small tmpfs of its own (a private mount namespace). */
export interface TmpfsServer {
  /** Its id. */
  readonly id: string;
  /** Its OS process id. */
  readonly pid: number;
  /** Its root as this process reaches it (through /proc/PID/root, into its mount namespace). */
  readonly root: string;
  /** Free bytes on its filesystem. */
  freeBytes(): Promise<number>;
  /** Stops it (the tmpfs goes with its namespace). */
  stop(): Promise<void>;
}

/**
 * Starts `secshrnet serve` with its root on a tmpfs of `size` (e.g. "8m"),
 * mounted in a private mount namespace (`unshare -rm`: root, or unprivileged
 * user namespaces, needed), with `toml` as its config. Stop it yourself.
 */
export async function startTmpfsServer(
  network: TestNetwork,
  name: string,
  size: string,
  toml = "",
): Promise<TmpfsServer> {
  const mountPoint = `${network.dir}/${name}`;
  await Deno.mkdir(mountPoint, { recursive: true });
  const script = 'mount -t tmpfs -o "size=$1" tmpfs "$0" || exit 97; ' +
    'printf "%s" "$2" > "$0/secshrnet.conf"; shift 2; exec "$@"';
  const child = new Deno.Command("unshare", {
    args: [
      "-rm",
      "sh",
      "-c",
      script,
      mountPoint,
      size,
      toml,
      Deno.execPath(),
      ...secshrnetArgs(),
      "serve",
      "-r",
      mountPoint,
    ],
    env: network.env,
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const root = `/proc/${child.pid}/root${mountPoint}`;
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    return s;
  });
  const stop = async () => {
    if (!exited) {
      child.kill("SIGCONT");
      child.kill("SIGTERM");
    }
    await status;
  };
  let id = "";
  try {
    await poll(
      async () => {
        if (exited) throw new Error(`tmpfs server exited with ${(await status).code}`);
        id = await Deno.readTextFile(`${root}/server-id`).then((t) => t.trim(), () => "");
        return id !== "";
      },
      "the tmpfs server started",
      20_000,
    );
  } catch (error) {
    await stop();
    throw error;
  }
  await network.trust(id); // as its user would, like every server the network starts
  return {
    id,
    pid: child.pid,
    root,
    async freeBytes() {
      const fs = await statfs(root);
      return fs.bavail * fs.bsize;
    },
    stop,
  };
}
