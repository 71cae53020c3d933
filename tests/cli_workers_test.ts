/**
 * The segment worker pool as a user setting (issue 13): `[client] workers`
 * and `--workers N` on put, get, repair and check, through the real CLI
 * against a real network. Every pool size gives the same bytes; the setting
 * reaches the pool (the client's worker threads, on Linux); bad values are
 * one-line usage or config errors.
 */

import { assert, assertEquals } from "./assert.ts";
import { runProcess, secshrnetArgs, type TestNetwork } from "./harness/network.ts";
import { FAST, inputFile, PW, shareTrust, TEST_FLOOR, withNetwork } from "./harness/client.ts";
import { prng } from "./prng.ts";
import { sameBytes } from "./objects.ts";

/** Four segments of 1 MiB, the last 17 bytes: the pool starts from the second on. */
const SIZE = 3 * 2 ** 20 + 17;

/** One line from secshrnet on stderr, with no stack trace. */
function oneLine(stderr: string): boolean {
  const lines = stderr.trim().split("\n");
  return lines.length === 1 && lines[0].startsWith("secshrnet: ") &&
    !/unexpected error|\bat .*:\d+:\d+/.test(stderr);
}

/** `secshrnet ARGS` without a network (Redis on a closed port): for errors found before it. */
async function offline(args: string[], env: Record<string, string> = {}) {
  const output = await new Deno.Command(Deno.execPath(), {
    args: [...secshrnetArgs(), ...args],
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
    env: { NO_COLOR: "1", SECSHRNET_REDIS_URL: "redis://127.0.0.1:1", ...env },
  }).output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: output.code, stdout: decode(output.stdout), stderr: decode(output.stderr) };
}

/**
 * Runs `secshrnet ARGS` on `network`; its exit code, stderr, and the most
 * segment workers seen at once: Deno names a Web Worker's thread
 * `worker-N` (/proc/PID/task/TID/comm), so other threads the runtime starts
 * and ends as it likes (GC helpers, the blocking pool) do not count, and
 * distinct names are counted, not threads.
 */
async function withThreads(network: TestNetwork, args: string[]) {
  let peak = 0;
  const result = await runProcess(Deno.execPath(), {
    args: [...secshrnetArgs(), ...args],
    env: { ...network.env, ...PW },
    timeoutMs: 120_000,
    watch: (child) => {
      const sample = () => {
        // By name: a worker's thread may briefly have a second one under the same name.
        const workers = new Set<string>();
        let tasks: Deno.DirEntry[] = [];
        try {
          tasks = [...Deno.readDirSync(`/proc/${child.pid}/task`)];
        } catch {
          return; // The process has ended.
        }
        for (const task of tasks) {
          try {
            const comm = Deno.readTextFileSync(`/proc/${child.pid}/task/${task.name}/comm`);
            if (/^worker-\d+/.test(comm)) workers.add(comm.trim());
          } catch {
            // That thread ended after the listing (the runtime's own come and go).
          }
        }
        peak = Math.max(peak, workers.size);
      };
      const timer = setInterval(sample, 5);
      return () => clearInterval(timer);
    },
  });
  return { ...result, peak };
}

Deno.test("put and get with different --workers give back the same bytes", async () => {
  await withNetwork(3, async (network) => {
    const data = prng(1301).bytes(SIZE);
    const file = await inputFile(network, data);
    for (const [putWith, getWith] of [["0", "3"], ["3", "0"]]) {
      const tag = `/workers/${putWith}-${getWith}`;
      const put = await network.run(["put", tag, file, ...FAST, "--workers", putWith], { env: PW });
      assertEquals(put.code, 0, put.stderr);
      const get = await network.run(["get", tag, "-", "--workers", getWith], { env: PW });
      assertEquals(get.code, 0, get.stderr);
      assert(sameBytes(get.stdoutBytes, data), `put --workers ${putWith}, get ${getWith}`);
    }
    // check --verify and repair open the object too, with the flag.
    const verify = await network.run(
      ["check", "--verify", "/workers/0-3", "--workers", "2", "--json"],
      { env: PW },
    );
    assertEquals(verify.code, 0, verify.stderr);
    assertEquals(JSON.parse(verify.stdout)[0].status, "healthy");
    const repair = await network.run(["repair", "/workers/3-0", "--workers", "0"], { env: PW });
    assertEquals(repair.code, 0, repair.stderr);
    assert(repair.stdout.includes("healthy, nothing to rebuild"), repair.stdout);
  });
});

Deno.test("[client] workers = 1 in the config works, and config shows it", async () => {
  await withNetwork(3, async (network) => {
    const config = `${network.dir}/workers.conf`;
    await Deno.writeTextFile(config, `[client]\nworkers = 1\n${TEST_FLOOR}`);
    await shareTrust(network, config);
    const data = prng(1302).bytes(SIZE);
    const file = await inputFile(network, data);
    const put = await network.run(["put", "-c", config, "/workers/config", file, ...FAST], {
      env: PW,
    });
    assertEquals(put.code, 0, put.stderr);
    const get = await network.run(["get", "-c", config, "/workers/config", "-"], { env: PW });
    assertEquals(get.code, 0, get.stderr);
    assert(sameBytes(get.stdoutBytes, data));
    const shown = await network.run(["config", "-c", config]);
    assertEquals(shown.code, 0, shown.stderr);
    assert(/^workers = 1\s+#/m.test(shown.stdout), shown.stdout);
    const defaults = await network.run(["config"]);
    const cores = navigator.hardwareConcurrency;
    assert(
      new RegExp(`^workers = ${cores}\\s+# one per core; default$`, "m").test(defaults.stdout),
      defaults.stdout,
    );
  });
});

Deno.test({
  name: "the pool size reaches the client: threads with workers, none added with 0",
  ignore: Deno.build.os !== "linux",
  async fn() {
    await withNetwork(3, async (network) => {
      const config = `${network.dir}/six.conf`;
      await Deno.writeTextFile(config, `[client]\nworkers = 6\n${TEST_FLOOR}`);
      await shareTrust(network, config);
      // 24 segments: the pool lives for most of each command, long enough to be seen.
      const file = await inputFile(network, prng(1303).bytes(24 * 2 ** 20));
      const put = (tag: string, extra: string[]) =>
        withThreads(network, ["put", "-c", config, tag, file, ...FAST, ...extra]);
      const get = (tag: string, extra: string[]) =>
        withThreads(network, ["get", "-c", config, tag, "-", ...extra]);
      const none = await put("/threads/a", ["--workers", "0"]); // the flag beats the config
      const six = await put("/threads/b", []); // the config's 6
      const eight = await put("/threads/c", ["--workers", "8"]);
      const getNone = await get("/threads/a", ["--workers", "0"]);
      const getSix = await get("/threads/a", []);
      const all = { none, six, eight, getNone, getSix };
      for (const [name, run] of Object.entries(all)) assertEquals(run.code, 0, name + run.stderr);
      const peaks = Object.fromEntries(Object.entries(all).map(([name, r]) => [name, r.peak]));
      assertEquals(peaks, { none: 0, six: 6, eight: 8, getNone: 0, getSix: 6 });
    });
  },
});

Deno.test("--workers out of range or not a number: exit 2, one line, on every command", async () => {
  for (
    const command of [["put", "/t", "/nonexistent"], ["get", "/t", "-"], ["repair"], ["check"]]
  ) {
    for (const value of ["65", "x", "-1", "1.5", ""]) {
      const { code, stdout, stderr } = await offline([...command, `--workers=${value}`]);
      assertEquals([code, stdout], [2, ""], `${command[0]} --workers=${value}: ${stderr}`);
      assert(oneLine(stderr), stderr);
      assert(stderr.includes("--workers must be an integer from 0 to 64"), stderr);
    }
    const help = await offline([command[0], "--help"]);
    assert(help.stdout.includes("--workers N"), `${command[0]} --help`);
  }
  const spaced = await offline(["put", "/t", "/nonexistent", "--workers", "65"]);
  assertEquals(spaced.code, 2, spaced.stderr);
  assert(spaced.stderr.includes("--workers must be an integer from 0 to 64"), spaced.stderr);
});

Deno.test("[client] workers = -1 (or 65, or a string) is a one-line config error", async () => {
  const dir = await Deno.makeTempDir({ prefix: "secshrnet-workers-" });
  try {
    for (const value of ["-1", "65", '"4"', "2.0"]) {
      const config = `${dir}/bad.conf`;
      await Deno.writeTextFile(config, `[client]\nworkers = ${value}\n`);
      for (const args of [["put", "-c", config, "/t", config], ["config", "-c", config]]) {
        const { code, stderr } = await offline(args);
        assertEquals(code, 2, `${args[0]} workers = ${value}: ${stderr}`);
        assert(oneLine(stderr), stderr);
        assert(
          stderr.includes(`${config}: [client] workers must be an integer from 0 to 64, not `),
          stderr,
        );
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
