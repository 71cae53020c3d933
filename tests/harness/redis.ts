/**
 * A throwaway redis-server on a free loopback port, for tests, the demo and
 * benchmarks. Never touches a Redis the user runs.
 *
 * @module
 */

/** A running redis-server started by {@linkcode startRedis}. */
export interface RedisProcess {
  /** Its URL, redis://127.0.0.1:PORT. */
  readonly url: string;
  /** Its port. */
  readonly port: number;
  /** Stops it (SIGTERM, then SIGKILL after 5 s) and waits for it to exit. */
  stop(): Promise<void>;
  /** Stops and starts it again on the same port (all pub/sub connections drop). */
  restart(): Promise<void>;
}

/** Extra redis-server arguments, e.g. `["--requirepass", "x"]`. */
export interface RedisOptions {
  args?: string[];
  /** Reuse this port instead of picking a free one. */
  port?: number;
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** Whether `redis-server` is on the PATH. */
export async function haveRedisServer(): Promise<boolean> {
  try {
    const { success } = await new Deno.Command("redis-server", {
      args: ["--version"],
      stdout: "null",
    })
      .output();
    return success;
  } catch {
    return false;
  }
}

/** Starts redis-server on a free port and waits until it answers. */
export async function startRedis(options: RedisOptions = {}): Promise<RedisProcess> {
  const port = options.port ?? freePort();
  let child = await spawn(port, options.args ?? []);
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch {
      // Already gone.
    }
    const timer = setTimeout(() => {
      try {
        child.kill("SIGKILL");
      } catch {
        // Already gone.
      }
    }, 5000);
    await child.status;
    clearTimeout(timer);
  };
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    stop,
    restart: async () => {
      await stop();
      child = await spawn(port, options.args ?? []);
    },
  };
}

async function spawn(port: number, args: string[]): Promise<Deno.ChildProcess> {
  const child = new Deno.Command("redis-server", {
    args: [
      "--bind",
      "127.0.0.1",
      "--port",
      String(port),
      "--save",
      "",
      "--appendonly",
      "no",
      "--loglevel",
      "warning",
      ...args,
    ],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    try {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      conn.close();
      return child;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  child.kill("SIGKILL");
  await child.status;
  throw new Error(`redis-server did not start on port ${port}`);
}
