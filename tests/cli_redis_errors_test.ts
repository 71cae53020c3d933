/**
 * What the CLI says when Redis cannot be used, through the real command:
 * an address where something other than Redis answers (HTTP, SSH, TLS), where
 * nothing answers, or where nothing listens, each one line naming the URL,
 * what was found there, what to do, and where the URL came from; and a
 * password sent to a Redis that has none, one warning of ours (client and
 * server), never a "[WARN]" line of ioredis.
 */

import { assert, assertEquals, assertRejects } from "./assert.ts";
import { secshrnetArgs, startNetwork } from "./harness/network.ts";
import { freePort, startRedis } from "./harness/redis.ts";
import { redisUrlOrigin } from "../core/redis_origin.ts";
import { type Config, DEFAULT_REDIS_URL } from "../core/config.ts";
import { NetworkUnavailableError } from "../core/errors.ts";
import { configFrom, connect } from "../cli/context.ts";
import { runClean as run } from "./harness/clean_run.ts";

/** Nothing a library printed, no stack trace, no "unexpected error", no "Please report this". */
function assertOurs(text: string, label: string): void {
  assert(!text.includes("[WARN]"), `an ioredis warning: ${label}`);
  assert(!/unexpected error/i.test(text), `unexpected error: ${label}`);
  assert(!/^\s+at /m.test(text), `a stack trace: ${label}`);
  assert(!/Please report|Protocol error/.test(text), `ioredis' parser error: ${label}`);
}

/** The lines of `text`, empty ones left out. */
function lines(text: string): string[] {
  return text.split("\n").filter((line) => line !== "");
}

/** A TCP port on loopback where `serve` answers every connection; `close` ends them all. */
interface FakeEndpoint {
  readonly url: string;
  close(): Promise<void>;
}

/** Listens on a free loopback port and runs `serve` for each connection. */
function fakeEndpoint(serve: (conn: Deno.Conn) => Promise<void>): FakeEndpoint {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns = new Set<Deno.Conn>();
  const handlers: Promise<void>[] = [];
  const accepting = (async () => {
    for await (const conn of listener) {
      conns.add(conn);
      handlers.push(
        serve(conn).catch(() => {}).finally(() => {
          conns.delete(conn);
          try {
            conn.close();
          } catch {
            // closed already
          }
        }),
      );
    }
  })().catch(() => {});
  return {
    url: `redis://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
    async close() {
      listener.close();
      await accepting;
      for (const conn of conns) {
        try {
          conn.close();
        } catch {
          // closed by its handler meanwhile
        }
      }
      await Promise.all(handlers);
    },
  };
}

/** Reads (and drops) what the client sends until it closes. */
async function drain(conn: Deno.Conn): Promise<void> {
  const buffer = new Uint8Array(4096);
  while (await conn.read(buffer) !== null) {
    // what a client sends does not matter here
  }
}

const encode = (text: string) => new TextEncoder().encode(text);

/** A TLS alert record (fatal, protocol_version): what a TLS server answers to plain text. */
const TLS_ALERT = new Uint8Array([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x46]);

Deno.test("an address that is not Redis, or silent, or closed: one line with what is there, what to do and where the URL comes from", async () => {
  const home = await Deno.makeTempDir({ prefix: "secshrnet-redis-errors-" });
  const endpoints = {
    // Answers what the client sends, and leaves closing to it (so the answer is read).
    http: fakeEndpoint(async (conn) => {
      await conn.read(new Uint8Array(4096));
      await conn.write(encode("HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n"));
      await drain(conn);
    }),
    // Accepts and closes at once.
    closing: fakeEndpoint(async () => {}),
    ssh: fakeEndpoint(async (conn) => {
      await conn.write(encode("SSH-2.0-OpenSSH_9.6\r\n"));
      await drain(conn);
    }),
    // As a TLS server does with plain text for a ClientHello: an alert, then it closes.
    tls: fakeEndpoint(async (conn) => {
      await conn.read(new Uint8Array(4096));
      await conn.write(TLS_ALERT);
    }),
    silent: fakeEndpoint(drain),
  };
  try {
    const closed = `redis://127.0.0.1:${freePort()}`;
    const notRedis = "the server there does not speak the Redis protocol (check the host and port)";
    const cases: [string, string | RegExp][] = [
      [endpoints.http.url, notRedis],
      [endpoints.ssh.url, notRedis],
      [endpoints.tls.url, "the server there speaks TLS (use a rediss:// URL)"],
      [closed, "connection refused (start Redis there, or correct the host and port)"],
      [
        endpoints.closing.url,
        /^the server closed the connection \((?:(?:read ECONNRESET|write EPIPE): )?check that it is Redis; if that port speaks TLS, use a rediss:\/\/ URL\)$/,
      ],
      [
        endpoints.silent.url,
        "connected, but no Redis reply within 10 s (check that the server there is Redis; " +
        "if that port speaks TLS, use a rediss:// URL)",
      ],
    ];
    await Promise.all(cases.map(async ([url, reason]) => {
      const outcome = await run(["ls"], { HOME: home, SECSHRNET_REDIS_URL: url });
      const label = `${url}: ${JSON.stringify(outcome)}`;
      assertEquals(outcome.code, 1, label);
      assertOurs(outcome.stdout + outcome.stderr, label);
      assertEquals(outcome.stdout, "", label);
      const [line, ...more] = lines(outcome.stderr);
      assertEquals(more, [], label);
      const prefix = `secshrnet: cannot reach Redis at ${url}: `;
      const suffix = "; the URL comes from SECSHRNET_REDIS_URL";
      assert(line.startsWith(prefix) && line.endsWith(suffix), label);
      const said = line.slice(prefix.length, -suffix.length);
      if (typeof reason === "string") assertEquals(said, reason, label);
      else assert(reason.test(said), `${reason}: ${label}`);
    }));

    // The URL from a config file: the file is named, the password is not.
    const conf = `${home}/lab.conf`;
    const withPassword = endpoints.http.url.replace("//", "//:hunter2@");
    await Deno.writeTextFile(conf, `[redis]\nurl = "${withPassword}"\n`);
    const fromFile = await run(["servers", "-c", conf], { HOME: home });
    const label = JSON.stringify(fromFile);
    assertEquals(fromFile.code, 1, label);
    assertOurs(fromFile.stderr, label);
    assert(!fromFile.stderr.includes("hunter2"), label);
    assertEquals(lines(fromFile.stderr), [
      `secshrnet: cannot reach Redis at ${withPassword.replace("hunter2", "***")}: ${notRedis}; ` +
      `the URL comes from [redis] in ${conf}`,
    ], label);

    // The environment wins over the file, and says so.
    const both = await run(["ls", "-c", conf], { HOME: home, SECSHRNET_REDIS_URL: closed });
    assertEquals(lines(both.stderr).length, 1, JSON.stringify(both));
    assert(both.stderr.endsWith("; the URL comes from SECSHRNET_REDIS_URL\n"), both.stderr);
  } finally {
    await Promise.all(Object.values(endpoints).map((endpoint) => endpoint.close()));
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("where the Redis URL came from: the environment, [redis] in a file, a file that sets none, no file", () => {
  const config = (url: string, source?: string): Config => ({
    redis: { url },
    network: { name: "secshrnet" },
    client: {},
    server: {},
    kdf: { logN: 20, minLogN: 16 },
    ...(source === undefined ? {} : { source }),
  });
  const lookedAt = "/home/u/.secshrnet/secshrnet.conf";
  const env = { SECSHRNET_REDIS_URL: "redis://redis.lab:6379" };
  assertEquals(
    redisUrlOrigin(config("redis://redis.lab:6379", "/etc/secshrnet.conf"), lookedAt, { env }),
    "the URL comes from SECSHRNET_REDIS_URL",
  );
  assertEquals(
    redisUrlOrigin(config("redis://redis.lab:6379", "/etc/secshrnet.conf"), lookedAt, {
      env: { SECSHRNET_REDIS_URL: "" },
    }),
    "the URL comes from [redis] in /etc/secshrnet.conf",
  );
  assertEquals(
    redisUrlOrigin(config(DEFAULT_REDIS_URL, "/etc/secshrnet.conf"), lookedAt, { env: {} }),
    "/etc/secshrnet.conf sets no other Redis URL, so the default was used: set url under " +
      "[redis] there",
  );
  assertEquals(
    redisUrlOrigin(config(DEFAULT_REDIS_URL), lookedAt, { env: {} }),
    "no config file at /home/u/.secshrnet/secshrnet.conf, so the default URL was used: run " +
      "'secshrnet config init --redis URL' or pass -c",
  );
  assertEquals(
    redisUrlOrigin(config(DEFAULT_REDIS_URL), "/srv/a/secshrnet.conf", {
      env: {},
      init: "secshrnet config init -r /srv/a --redis URL",
    }),
    "no config file at /srv/a/secshrnet.conf, so the default URL was used: run " +
      "'secshrnet config init -r /srv/a --redis URL' or pass -c",
  );
});

Deno.test("no config file: the error of a client that cannot reach Redis names the file looked for and says the default was used", async () => {
  // In process, so the URL can be one where nothing listens whatever runs on the default port.
  const home = await Deno.makeTempDir({ prefix: "secshrnet-redis-default-" });
  const saved = { HOME: Deno.env.get("HOME"), URL: Deno.env.get("SECSHRNET_REDIS_URL") };
  try {
    Deno.env.set("HOME", home);
    Deno.env.delete("SECSHRNET_REDIS_URL");
    const config = await configFrom({ values: {}, positionals: [] });
    assertEquals(config.source, undefined);
    assertEquals(config.redis.url, DEFAULT_REDIS_URL);
    const url = `redis://127.0.0.1:${freePort()}`;
    const error = await assertRejects(
      () => connect({ ...config, redis: { url } }),
      NetworkUnavailableError,
    );
    assertEquals(
      error.message,
      `cannot reach Redis at ${url}: connection refused (start Redis there, or correct the ` +
        `host and port); no config file at ${home}/.secshrnet/secshrnet.conf, so the default ` +
        `URL was used: run 'secshrnet config init --redis URL' or pass -c`,
    );
  } finally {
    for (const [name, value] of [["HOME", saved.HOME], ["SECSHRNET_REDIS_URL", saved.URL]]) {
      if (value === undefined) Deno.env.delete(name!);
      else Deno.env.set(name!, value);
    }
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("a password sent to a Redis that needs none: one warning of ours from the client and the server, no ioredis [WARN]", async () => {
  const network = await startNetwork(1);
  try {
    const port = network.redis.port;
    const url = `redis://:spare-pw-9@127.0.0.1:${port}`;
    const warning = `secshrnet: warning: Redis at redis://:***@127.0.0.1:${port} needs no ` +
      `password, but one is configured; remove it from [redis] or set one on Redis ` +
      `(requirepass/ACL)`;
    const listed = await network.run(["servers", "--json"], { env: { SECSHRNET_REDIS_URL: url } });
    const label = JSON.stringify({ ...listed, stdoutBytes: undefined });
    assertEquals(listed.code, 0, label);
    assertOurs(listed.stderr, label);
    assert(!listed.stderr.includes("spare-pw-9"), label);
    assertEquals(lines(listed.stderr), [warning], label);
    assertEquals(JSON.parse(listed.stdout).length, 1, label);

    // Under the shell (which warned once already), commands do not repeat it.
    const quiet = await network.run(["servers"], {
      env: { SECSHRNET_REDIS_URL: url, SECSHRNET_WARNED: "1" },
    });
    assertEquals(quiet.code, 0, quiet.stderr);
    assertEquals(quiet.stderr, "");

    // The server connects with the same code: the warning goes to its log, once.
    const root = `${network.dir}/spare-pw-server`;
    const server = new Deno.Command(Deno.execPath(), {
      args: [...secshrnetArgs(), "serve", "-r", root],
      env: { ...network.env, SECSHRNET_REDIS_URL: url },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    try {
      await network.waitForServers(2);
    } finally {
      server.kill("SIGTERM");
    }
    const output = await server.output();
    const stderr = new TextDecoder().decode(output.stderr);
    assertOurs(stderr, stderr);
    assert(!stderr.includes("spare-pw-9"), stderr);
    const said = lines(stderr).filter((line) => line.includes("needs no password"));
    assertEquals(said.length, 1, stderr);
    assert(said[0].endsWith(warning.slice("secshrnet: warning: ".length)), stderr);
    const log = await Deno.readTextFile(`${root}/secshrnetd.log`);
    assertEquals(lines(log).filter((line) => line.includes("needs no password")).length, 1, log);
  } finally {
    await network.stop();
  }
});

Deno.test("a Redis that needs a password, given none: one line saying so, and where the URL comes from", async () => {
  const redis = await startRedis({ args: ["--requirepass", "needed-pw-3"] });
  const home = await Deno.makeTempDir({ prefix: "secshrnet-redis-noauth-" });
  try {
    const url = `redis://127.0.0.1:${redis.port}`;
    const outcome = await run(["ls", "--json"], { HOME: home, SECSHRNET_REDIS_URL: url });
    const label = JSON.stringify(outcome);
    assertEquals(outcome.code, 1, label);
    assertOurs(outcome.stdout + outcome.stderr, label);
    const [line, ...more] = lines(outcome.stderr);
    assertEquals(more, [], label);
    assert(line.startsWith(`secshrnet: cannot reach Redis at ${url}: NOAUTH`), label);
    assert(line.includes("(Redis needs a password: give it in the URL, or under [redis])"), label);
    assert(line.endsWith("; the URL comes from SECSHRNET_REDIS_URL"), label);
    assertEquals(JSON.parse(outcome.stdout), {
      error: { code: "network", message: line.slice("secshrnet: ".length) },
      exit: 1,
    });
  } finally {
    await redis.stop();
    await Deno.remove(home, { recursive: true });
  }
});
