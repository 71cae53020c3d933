/**
 * core/config.ts: loading secshrnet.conf, every key's checks and defaults,
 * unknown keys and syntax errors (the [redis] table: config_redis_test.ts).
 */

import {
  ConfigError,
  DEFAULT_NETWORK,
  DEFAULT_REDIS_URL,
  defaultRoot,
  loadConfig,
  parseByteSize,
  parseConfig,
} from "../core/config.ts";
import { SecshrnetError, UsageError } from "../core/errors.ts";
import { assert, assertEquals, assertRejects, assertThrows } from "./assert.ts";
import { defaults, FILE, parsed, refused } from "./harness/config.ts";
import { withTempDir } from "./harness/temp_dir.ts";

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
