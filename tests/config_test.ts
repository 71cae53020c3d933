/** core/config.ts: loading secshrnet.conf, every key's checks and defaults, the env override. */

import { Redis } from "ioredis";
import {
  type Config,
  ConfigError,
  DEFAULT_NETWORK,
  DEFAULT_REDIS_URL,
  defaultRoot,
  loadConfig,
  parseByteSize,
  parseConfig,
  redactUrl,
} from "../core/config.ts";
import { SecshrnetError, UsageError } from "../core/errors.ts";
import { assert, assertEquals, assertRejects, assertThrows } from "./assert.ts";

const FILE = "/etc/secshrnet/secshrnet.conf";

/** The config a file with no settings gives, read from `source`. */
function defaults(source?: string): Config {
  const config: Config = {
    redis: { url: DEFAULT_REDIS_URL },
    network: { name: DEFAULT_NETWORK },
    client: {},
    server: {},
    kdf: { logN: 20, minLogN: 16 },
  };
  if (source !== undefined) config.source = source;
  return config;
}

/** Parses `text` as FILE, without environment. */
const parsed = (text: string, env: Record<string, string> = {}) => parseConfig(text, FILE, env);

/** Asserts that `text` is refused with a one-line ConfigError holding `message`; returns it. */
function refused(text: string, message: string, env: Record<string, string> = {}): string {
  const error = assertThrows(() => parseConfig(text, FILE, env), ConfigError, message);
  assert(!error.message.includes("\n"), `message is not one line: ${error.message}`);
  return error.message;
}

/** Runs `fn` with a fresh temporary directory, removed afterwards. */
async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "secshrnet-config-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("config: without a file every default applies", async () => {
  await withTempDir(async (root) => {
    assertEquals(await loadConfig({ root, env: {} }), defaults());
  });
  assertEquals(DEFAULT_REDIS_URL, "redis://127.0.0.1:6379");
  assertEquals(DEFAULT_NETWORK, "secshrnet");
  assertEquals(parsed(""), defaults(FILE));
  assertEquals(parsed("# only a comment\n\n[redis]\n[network]\n[server]\n[kdf]\n"), defaults(FILE));
});

Deno.test("config: a -c path that does not exist is an error naming it", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/nope.toml`;
    const error = await assertRejects(() => loadConfig({ path, env: {} }), ConfigError);
    assertEquals(error.message, `config file ${path} not found`);
  });
});

Deno.test("config: a -c path is read, and ROOT/secshrnet.conf is ignored then", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/secshrnet.conf`, '[network]\nname = "from-root"\n');
    const path = `${dir}/other.toml`;
    await Deno.writeTextFile(path, '[network]\nname = "from-c"\n');
    const config = await loadConfig({ path, root: dir, env: {} });
    assertEquals(config.network.name, "from-c");
    assertEquals(config.source, path);
  });
});

Deno.test("config: ROOT/secshrnet.conf is picked up, root defaulting to $HOME/.secshrnet", async () => {
  await withTempDir(async (home) => {
    const root = `${home}/.secshrnet`;
    await Deno.mkdir(root);
    await Deno.writeTextFile(`${root}/secshrnet.conf`, '[network]\nname = "home-net"\n');
    const byRoot = await loadConfig({ root, env: {} });
    assertEquals(byRoot.network.name, "home-net");
    assertEquals(byRoot.source, `${root}/secshrnet.conf`);
    const byHome = await loadConfig({ env: { HOME: home } });
    assertEquals(byHome, byRoot);
  });
  assertEquals(defaultRoot({ HOME: "/home/alice" }), "/home/alice/.secshrnet");
  assertEquals(defaultRoot({ HOME: "/home/alice/" }), "/home/alice/.secshrnet");
  assertThrows(() => defaultRoot({}), ConfigError, "HOME is not set");
  await assertRejects(() => loadConfig({ env: {} }), ConfigError, "HOME is not set");
});

Deno.test("config: an unreadable config file (a directory) is an error naming it", async () => {
  await withTempDir(async (root) => {
    await Deno.mkdir(`${root}/secshrnet.conf`);
    await assertRejects(
      () => loadConfig({ root, env: {} }),
      ConfigError,
      `${root}/secshrnet.conf: cannot read`,
    );
  });
});

Deno.test("config: [redis] url is taken as given (normalised), rediss:// turns TLS on", () => {
  assertEquals(parsed('[redis]\nurl = "redis://user:pw@redis.example:6380/2"').redis, {
    url: "redis://user:pw@redis.example:6380/2",
  });
  assertEquals(parsed('[redis]\nurl = "REDIS://h"').redis.url, "redis://h");
  assertEquals(parsed('[redis]\nurl = "redis://h/"').redis.url, "redis://h/");
  assertEquals(parsed('[redis]\nurl = "redis://[::1]:7000"').redis.url, "redis://[::1]:7000");
  assertEquals(parsed('[redis]\nurl = "rediss://h:6380"').redis, {
    url: "rediss://h:6380",
    tls: { rejectUnauthorized: true },
  });
});

Deno.test("config: [redis] host/port/username/password/tls build a percent-encoded url", () => {
  const password = "p@ss:w/rd?#%[] é&=+";
  const config = parsed(
    `[redis]\nhost = "redis.example"\nport = 6380\nusername = "us er"\n` +
      `password = ${JSON.stringify(password)}\ntls = true\n`,
  );
  const url = new URL(config.redis.url!);
  assertEquals(url.protocol, "rediss:");
  assertEquals(url.hostname, "redis.example");
  assertEquals(url.port, "6380");
  assertEquals(decodeURIComponent(url.username), "us er");
  assertEquals(decodeURIComponent(url.password), password);
  assertEquals(new URL(config.redis.url!).href, config.redis.url);
  assertEquals(config.redis.tls, { rejectUnauthorized: true });

  assertEquals(parsed('[redis]\nhost = "10.0.0.5"').redis, { url: "redis://10.0.0.5:6379" });
  assertEquals(parsed("[redis]\nport = 7000").redis.url, "redis://127.0.0.1:7000");
  assertEquals(parsed("[redis]\ntls = false").redis, { url: "redis://127.0.0.1:6379" });
  assertEquals(parsed('[redis]\nhost = "::1"').redis.url, "redis://[::1]:6379");
  assertEquals(parsed('[redis]\npassword = "s3"').redis.url, "redis://:s3@127.0.0.1:6379");
  assertEquals(parsed('[redis]\nusername = "u"').redis.url, "redis://u@127.0.0.1:6379");
});

Deno.test("config: ioredis reads back exactly the host, port, user, password, db and TLS", () => {
  const password = "p@ss:w/rd?#%[] é";
  const built = parsed(
    `[redis]\nhost = "::1"\nport = 6380\nusername = "me"\n` +
      `password = ${JSON.stringify(password)}\ntls = true\n`,
  );
  const given = parsed('[redis]\nurl = "redis://:a%25b@redis.example:6390/3"');
  for (
    const [url, expected] of [
      [built.redis.url!, { host: "::1", port: 6380, username: "me", password, tls: true }],
      [given.redis.url!, { host: "redis.example", port: 6390, password: "a%b", db: 3 }],
    ] as const
  ) {
    const redis = new Redis(url, { lazyConnect: true });
    try {
      for (const [key, value] of Object.entries(expected)) {
        assertEquals(redis.options[key as keyof typeof redis.options], value, `${url} ${key}`);
      }
    } finally {
      redis.disconnect();
    }
  }
});

Deno.test("config: url with host, port, username, password or tls is a conflict naming both", () => {
  refused('[redis]\nurl = "redis://h"\nhost = "x"', "[redis] url conflicts with host");
  refused('[redis]\nurl = "redis://h"\nport = 1', "[redis] url conflicts with port");
  refused(
    '[redis]\nurl = "redis://h"\npassword = "x"\ntls = true',
    "[redis] url conflicts with password, tls",
  );
});

Deno.test("config: a url must be redis:// or rediss:// with a host, a valid port, at most a db", () => {
  refused(
    '[redis]\nurl = "http://h:6379"',
    `${FILE}: [redis] url "http://h:6379" must use redis://`,
  );
  refused('[redis]\nurl = "redis://h:0"', "port must be an integer from 1 to 65535");
  refused('[redis]\nurl = "redis://h:70000"', "port must be an integer from 1 to 65535");
  refused('[redis]\nurl = "redis://"', "has no host");
  refused('[redis]\nurl = "not a url"', "is not a valid URL");
  refused('[redis]\nurl = "redis://h/db0"', "has a path other than a database number");
  refused('[redis]\nurl = "redis://h?family=6"', "must not have a query");
  refused('[redis]\nurl = "redis://:100%zz@h"', "malformed %-escape");
  refused('[redis]\nurl = "redis://bücher.example"', "punycode");
  const message = refused('[redis]\nurl = "http://u:hunter2@h"', "must use redis://");
  assert(!message.includes("hunter2"), message);
  assert(message.includes("u:***@h"), message);
});

Deno.test("config: [redis] port must be an integer from 1 to 65535", () => {
  const expected = `${FILE}: [redis] port must be an integer from 1 to 65535`;
  assertEquals(refused("[redis]\nport = 0", expected), `${expected}, not 0`);
  assertEquals(refused("[redis]\nport = 70000", expected), `${expected}, not 70000`);
  assertEquals(refused("[redis]\nport = -1", expected), `${expected}, not -1`);
  assertEquals(refused('[redis]\nport = "6379"', expected), `${expected}, not a string`);
  assertEquals(refused("[redis]\nport = 6379.0", expected), `${expected}, not a float`);
  assertEquals(parsed("[redis]\nport = 1").redis.url, "redis://127.0.0.1:1");
  assertEquals(parsed("[redis]\nport = 65535").redis.url, "redis://127.0.0.1:65535");
});

Deno.test("config: [redis] keys of the wrong type and bad hosts are refused by name", () => {
  refused("[redis]\nurl = 5", `${FILE}: [redis] url must be a string, not an integer`);
  refused("[redis]\nhost = true", `${FILE}: [redis] host must be a string, not a boolean`);
  refused("[redis]\npassword = 1", `${FILE}: [redis] password must be a string, not an integer`);
  refused('[redis]\ntls = "yes"', `${FILE}: [redis] tls must be true or false, not a string`);
  refused("[redis]\nusername = []", `${FILE}: [redis] username must be a string, not an array`);
  refused('[redis]\nhost = ""', "[redis] host must be a host name or IP address");
  refused('[redis]\nhost = "a/b"', "[redis] host must be a host name or IP address");
  refused('[redis]\nhost = "a b"', "[redis] host must be a host name or IP address");
  refused('[redis]\nhost = "h:6379"', "[redis] host must be a host name or IP address");
  refused("redis = 1", `${FILE}: [redis] must be a table, not an integer`);
});

Deno.test("config: [network] name allows 1 to 64 of A-Z a-z 0-9 . _ -", () => {
  for (const name of ["a", "prod-1", "home_net.v2", "X".repeat(64)]) {
    assertEquals(parsed(`[network]\nname = "${name}"`).network.name, name);
  }
  for (const name of ["a:b", "a*", "a?", "a[b]", "my net", "", "X".repeat(65), "né"]) {
    const message = refused(
      `[network]\nname = ${JSON.stringify(name)}`,
      `${FILE}: [network] name ${JSON.stringify(name)} is not allowed`,
    );
    assert(message.includes('A-Z, a-z, 0-9, ".", "_" and "-"'), message);
  }
  refused("[network]\nname = 1", "[network] name must be a string, not an integer");
});

Deno.test("config: [server] byte sizes take every unit, decimals, spaces and any case", () => {
  const cases: [string, number][] = [
    ["123", 123],
    ["123 B", 123],
    ["2 KB", 2_000],
    ["2 MB", 2_000_000],
    ["2 GB", 2_000_000_000],
    ["2 TB", 2_000_000_000_000],
    ["100KiB", 102_400],
    ["512 MiB", 536_870_912],
    ["10GiB", 10_737_418_240],
    ["1 TiB", 1_099_511_627_776],
    ["1.5 GiB", 1_610_612_736],
    ["0.5 KiB", 512],
    ["1.0001 KB", 1000], // 1000.1 floored
    ["2.5 b", 2],
    ["3 mib", 3_145_728],
    ["3 gB", 3_000_000_000],
  ];
  for (const [text, bytes] of cases) {
    const config = parsed(`[server]\nmax_object_bytes = "${text}"\nmax_total_bytes = "${text}"`);
    assertEquals(config.server, { maxObjectBytes: bytes, maxTotalBytes: bytes }, text);
  }
  assertEquals(parsed("[server]\nmax_total_bytes = 4096").server, { maxTotalBytes: 4096 });
  assertEquals(parseByteSize(7, "k", FILE), 7);
  assertEquals(parseByteSize(" 1 kib ", "k", FILE), 1024);
});

Deno.test("config: [server] zero, negative, garbage and oversized byte sizes are refused", () => {
  const key = `${FILE}: [server] max_object_bytes must be a positive whole number of bytes`;
  const garbage = ["0", "-1", '"0 KiB"', '"0.4 B"', '"-5 MiB"', '"abc"', '""', '"12 XB"'];
  garbage.push('"1.5.5 MiB"', '"1e3"', '"5 K"', "1.5", "true", "[1]");
  for (const value of garbage) {
    refused(`[server]\nmax_object_bytes = ${value}`, key);
  }
  refused('[server]\nmax_total_bytes = "0"', "[server] max_total_bytes must be a positive");
  refused('[server]\nmax_total_bytes = "9999 TiB"', "[server] max_total_bytes is too large");
  refused(
    '[server]\nmax_object_bytes = "2 GiB"\nmax_total_bytes = "1 GiB"',
    "[server] max_object_bytes (2147483648) is larger than max_total_bytes (1073741824)",
  );
  assertThrows(() => parseByteSize(null, "size", "x"), ConfigError, "x: size must be a positive");
});

Deno.test("config: [kdf] log_n is an integer from 10 to 30", () => {
  assertEquals(parsed("[kdf]\nlog_n = 10\nmin_log_n = 10").kdf.logN, 10);
  assertEquals(parsed("[kdf]\nlog_n = 30").kdf.logN, 30);
  assertEquals(parsed("[kdf]\nlog_n = 17").kdf.logN, 17);
  const expected = `${FILE}: [kdf] log_n must be an integer from 10 to 30, not`;
  refused("[kdf]\nlog_n = 9", `${expected} 9`);
  refused("[kdf]\nlog_n = 31", `${expected} 31`);
  refused('[kdf]\nlog_n = "20"', `${expected} a string`);
  refused("[kdf]\nlog_n = 20.0", `${expected} a float`);
});

Deno.test("config: [kdf] min_log_n is the floor, 16 unless set, and log_n may not be below it", () => {
  assertEquals(parsed("").kdf.minLogN, 16);
  assertEquals(parsed("[kdf]\nmin_log_n = 10").kdf, { logN: 20, minLogN: 10 });
  assertEquals(parsed("[kdf]\nmin_log_n = 20\nlog_n = 20").kdf, { logN: 20, minLogN: 20 });
  refused("[kdf]\nmin_log_n = 9", `${FILE}: [kdf] min_log_n must be an integer from 10 to 30`);
  const below = refused("[kdf]\nlog_n = 12", `${FILE}: [kdf] log_n 12 is below min_log_n 16`);
  assert(below.includes("lower min_log_n"), below);
  refused("[kdf]\nmin_log_n = 21", `${FILE}: [kdf] log_n 20 is below min_log_n 21`);
});

Deno.test("config: unknown tables and top-level keys are refused by name", () => {
  refused(
    "[redis]\n[foo]\nx = 1",
    `${FILE}: [foo]: unknown table (known: [redis], [network], [client], [server], [kdf])`,
  );
  refused('url = "redis://h"', `${FILE}: url: unknown top-level key`);
  refused("[[network]]\nname = 'x'", `${FILE}: [network] must be a table, not an array`);
});

Deno.test("config: an unknown key in each table is refused, listing the known keys", () => {
  refused(
    "[redis]\nprot = 1",
    `${FILE}: [redis] prot: unknown key (known: url, host, port, username, password, tls, ` +
      "sentinels, master_name, sentinel_password, cluster, " +
      "ca_file, tls_reject_unauthorized)",
  );
  refused("[network]\nnmae = 'x'", `${FILE}: [network] nmae: unknown key (known: name)`);
  refused(
    "[server]\nmax_bytes = 1",
    `${FILE}: [server] max_bytes: unknown key (known: max_object_bytes, max_total_bytes, upload_timeout, scrub_rate, scrub_interval, log, log_max_bytes, log_keep)`,
  );
  refused("[kdf]\nlogN = 20", `${FILE}: [kdf] logN: unknown key (known: log_n, min_log_n)`);
  refused("[redis.extra]\nx = 1", `${FILE}: [redis] extra: unknown key`);
});

Deno.test("config: TOML syntax errors and duplicate keys are one line naming file and line", async () => {
  assertEquals(
    refused('[redis]\nurl = "redis://h', `${FILE}:2:`),
    `${FILE}:2:7: invalid TOML: unfinished string`,
  );
  refused("[kdf]\nlog_n = 12\nlog_n = 13\n", `${FILE}:3:1: invalid TOML:`);
  refused("[kdf]\n[kdf]\n", `${FILE}:2:`);
  refused("[redis\n", `${FILE}:1:`);
  await withTempDir(async (dir) => {
    const path = `${dir}/bad.toml`;
    await Deno.writeTextFile(path, "[network]\nname = = 1\n");
    const error = await assertRejects(() => loadConfig({ path, env: {} }), ConfigError);
    assert(error.message.startsWith(`${path}:2:`), error.message);
    assert(!error.message.includes("\n"), error.message);
  });
});

Deno.test("config: SECSHRNET_REDIS_URL replaces the file's url, validated the same way", async () => {
  const env = { SECSHRNET_REDIS_URL: "redis://env-host:7000/1" };
  assertEquals(
    parsed('[redis]\nurl = "redis://file-host"', env).redis.url,
    env.SECSHRNET_REDIS_URL,
  );
  assertEquals(parsed("[redis]\nport = 1234", env).redis.url, env.SECSHRNET_REDIS_URL);
  assertEquals(parsed("", { SECSHRNET_REDIS_URL: "" }).redis.url, DEFAULT_REDIS_URL);
  await withTempDir(async (root) => {
    assertEquals((await loadConfig({ root, env })).redis.url, env.SECSHRNET_REDIS_URL);
  });
  const message = refused("", "environment variable SECSHRNET_REDIS_URL", {
    SECSHRNET_REDIS_URL: "http://u:topsecret@h",
  });
  assert(message.includes("must use redis://"), message);
  assert(!message.includes("topsecret"), message);
  assert(!message.includes(FILE), message);
  refused("", 'SECSHRNET_REDIS_URL "redis://h:0" has port 0', {
    SECSHRNET_REDIS_URL: "redis://h:0",
  });
  // The file is still checked even when the environment overrides its url.
  refused('[redis]\nurl = "http://h"', `${FILE}: [redis] url`, env);
});

Deno.test("config: TLS extras apply with rediss:// or tls = true (also under the env url)", async () => {
  assertEquals(
    parsed('[redis]\ntls = true\nca_file = "/etc/ssl/ca.pem"\ntls_reject_unauthorized = false')
      .redis.tls,
    { caFile: "/etc/ssl/ca.pem", rejectUnauthorized: false },
  );
  assertEquals(
    parsed('[redis]\nurl = "rediss://h"\nca_file = "certs/ca.pem"').redis.tls,
    { caFile: "/etc/secshrnet/certs/ca.pem", rejectUnauthorized: true },
  );
  const env = { SECSHRNET_REDIS_URL: "rediss://env-host" };
  assertEquals(parsed('[redis]\nca_file = "/ca.pem"', env).redis, {
    url: "rediss://env-host",
    tls: { caFile: "/ca.pem", rejectUnauthorized: true },
  });
  refused('[redis]\nca_file = "/ca.pem"', `${FILE}: [redis] ca_file needs TLS`);
  refused('[redis]\nurl = "redis://h"\nca_file = "/ca.pem"', "[redis] ca_file needs TLS");
  refused("[redis]\ntls_reject_unauthorized = false", "[redis] tls_reject_unauthorized needs TLS");
  refused('[redis]\ntls = true\nca_file = "/ca.pem"', "SECSHRNET_REDIS_URL is set to a redis://", {
    SECSHRNET_REDIS_URL: "redis://h",
  });
  refused('[redis]\ntls = true\nca_file = ""', "[redis] ca_file must be a file name");
  refused("[redis]\ntls = true\nca_file = 1", "[redis] ca_file must be a string, not an integer");
  refused(
    '[redis]\ntls = true\ntls_reject_unauthorized = "no"',
    "[redis] tls_reject_unauthorized must be true or false, not a string",
  );
  await withTempDir(async (root) => {
    const text = '[redis]\ntls = true\nca_file = "ca.pem"\n';
    await Deno.writeTextFile(`${root}/secshrnet.conf`, text);
    await assertRejects(() => loadConfig({ root, env: {} }), ConfigError, "ca.pem not found");
    await Deno.writeTextFile(`${root}/ca.pem`, "-----BEGIN CERTIFICATE-----\n");
    const config = await loadConfig({ root, env: {} });
    assertEquals(config.redis.tls, { caFile: `${root}/ca.pem`, rejectUnauthorized: true });
  });
});

Deno.test("config: redactUrl hides the password and nothing else", () => {
  assertEquals(redactUrl("redis://u:secret@h:6379/0"), "redis://u:***@h:6379/0");
  assertEquals(redactUrl("rediss://:secret@h"), "rediss://:***@h");
  assertEquals(redactUrl("redis://:se@cr:et@h"), "redis://:***@h");
  assertEquals(redactUrl("redis://u@h"), "redis://u@h");
  assertEquals(redactUrl("redis://h:6379"), "redis://h:6379");
  assertEquals(redactUrl("redis://u:@h"), "redis://u:@h");
  assertEquals(redactUrl("not a url"), "not a url");
  assertEquals(redactUrl("redis://u:p/x@h"), "redis://u:p/x@h"); // "@" after the path is no userinfo
});

Deno.test("config: ConfigError is a usage error the CLI reports as it reports others", () => {
  const error = assertThrows(() => parsed("[kdf]\nlog_n = 1"), ConfigError);
  assert(error instanceof UsageError);
  assert(error instanceof SecshrnetError);
  assertEquals(error.code, "usage");
  assertEquals(error.name, "ConfigError");
  assertEquals(new ConfigError("a\n  b").message, "a b");
});

Deno.test("config: a UTF-8 byte order mark at the start is ignored", () => {
  assertEquals(parsed('\uFEFF[network]\nname = "bom"').network.name, "bom");
});

Deno.test("config: secshrnet.example.toml is valid and, all commented out, gives the defaults", async () => {
  const path = new URL("../secshrnet.example.toml", import.meta.url).pathname;
  const text = await Deno.readTextFile(path);
  assertEquals(parseConfig(text, path), defaults(path));
  for (const key of ["url", "host", "port", "username", "password", "tls", "ca_file"]) {
    assert(text.includes(`# ${key} = `), `example documents ${key}`);
  }
  for (const key of ["tls_reject_unauthorized", "name", "max_object_bytes", "max_total_bytes"]) {
    assert(text.includes(`# ${key} = `), `example documents ${key}`);
  }
  assert(text.includes("# log_n = 20"), "example documents log_n");
});
