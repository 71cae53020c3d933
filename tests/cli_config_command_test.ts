/**
 * `secshrnet config` and `secshrnet config init` (issue 11), through the real
 * CLI with HOME in a temp dir: the settings in effect with and without a file,
 * masked passwords, the environment's URL, JSON; the written file's mode,
 * contents and refusals.
 */

import { parse } from "smol-toml";
import { type Config, loadConfig, parseConfig } from "../core/config.ts";
import { configTemplate, tomlString } from "../core/config_template.ts";
import { assert, assertEquals } from "./assert.ts";
import { runClean as run } from "./harness/clean_run.ts";

/** Runs `test` with a fresh empty HOME, removed afterwards. */
async function withHome(test: (home: string) => Promise<void>): Promise<void> {
  const home = await Deno.makeTempDir({ prefix: "secshrnet-config-" });
  try {
    await test(home);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
}

/** One line from secshrnet on stderr, with no stack trace. */
function oneLine(stderr: string): boolean {
  const lines = stderr.trim().split("\n");
  return lines.length === 1 && lines[0].startsWith("secshrnet: ") &&
    !/unexpected error|\bat .*:\d+:\d+/.test(stderr);
}

/** The permission bits of `path`. */
async function mode(path: string): Promise<number> {
  return (await Deno.stat(path)).mode! & 0o777;
}

/** `config` without its source: what two loads must agree on. */
function settings(config: Config): Omit<Config, "source"> {
  const { source: _, ...rest } = config;
  return rest;
}

Deno.test("config without a file: the defaults, said so, as valid TOML", async () => {
  await withHome(async (home) => {
    const { code, stdout, stderr } = await run(["config"], { HOME: home });
    assertEquals([code, stderr], [0, ""]);
    const path = `${home}/.secshrnet/secshrnet.conf`;
    assert(stdout.includes(`# no config file at ${path}; using the defaults`), stdout);
    assert(stdout.includes(`# trust file: ${home}/.secshrnet/secshrnet.trusted`), stdout);
    assert(stdout.includes(`# root: ${home}/.secshrnet (the default`), stdout);
    assert(/^url = "redis:\/\/127\.0\.0\.1:6379"\s+# default$/m.test(stdout), stdout);
    assert(!stdout.includes("SECSHRNET_REDIS_URL"), stdout);
    const doc = parse(stdout) as Record<string, Record<string, unknown>>;
    assertEquals(doc.network.name, "secshrnet");
    assertEquals(doc.client.timeout, 20);
    assertEquals(doc.server.upload_timeout, 60);
    assertEquals(doc.server.max_object_bytes, undefined); // no limit: commented out
    assertEquals({ ...doc.kdf }, { log_n: 20, min_log_n: 16 });
    assertEquals(doc.server.log, "secshrnetd.log");
  });
});

Deno.test("config with a file: its values, the rest marked default, no password anywhere", async () => {
  await withHome(async (home) => {
    const password = "Tr0ub4dor&3";
    await Deno.mkdir(`${home}/.secshrnet`);
    await Deno.writeTextFile(
      `${home}/.secshrnet/secshrnet.conf`,
      `[redis]\nurl = "redis://alice:${encodeURIComponent(password)}@redis.example.net:6380/2"\n` +
        `[network]\nname = "lab"\n[server]\nmax_object_bytes = "1 GiB"\n[kdf]\nlog_n = 18\n`,
    );
    const text = await run(["config"], { HOME: home });
    const json = await run(["config", "--json"], { HOME: home });
    for (const { code, stdout, stderr } of [text, json]) {
      assertEquals([code, stderr], [0, ""]);
      for (const secret of [password, encodeURIComponent(password)]) {
        assert(!stdout.includes(secret) && !stderr.includes(secret), stdout);
      }
    }
    const out = text.stdout;
    assert(out.includes(`# config file: ${home}/.secshrnet/secshrnet.conf`), out);
    assert(/^url = "redis:\/\/alice:\*\*\*@redis\.example\.net:6380\/2"$/m.test(out), out);
    assert(/^name = "lab"$/m.test(out), out);
    assert(/^max_object_bytes = 1073741824\s+# 1\.00 GiB$/m.test(out), out);
    assert(/^log_n = 18\s+# scrypt needs [^;]*$/m.test(out), out);
    assert(/^min_log_n = 16\s+# .*; default$/m.test(out), out);

    const shown = JSON.parse(json.stdout);
    assertEquals(shown.configFile, `${home}/.secshrnet/secshrnet.conf`);
    assertEquals(shown.configFileRead, true);
    assertEquals(shown.redisUrlFrom, "file");
    assertEquals(shown.trustFile, `${home}/.secshrnet/secshrnet.trusted`);
    assertEquals(shown.settings.redis, { url: "redis://alice:***@redis.example.net:6380/2" });
    assertEquals(shown.settings.network, { name: "lab" });
    assertEquals(shown.settings.server.max_object_bytes, 1073741824);
    assertEquals(shown.settings.server.max_total_bytes, null);
    assertEquals(shown.settings.kdf, { log_n: 18, min_log_n: 16 });
    assert(shown.defaults.includes("kdf.min_log_n") && !shown.defaults.includes("kdf.log_n"));
    assert(!shown.defaults.includes("redis.url") && !shown.defaults.includes("network.name"));
  });
});

Deno.test("config: a password given key by key is masked too, and -c names the file", async () => {
  await withHome(async (home) => {
    const password = "p@ss:w0rd/x";
    const path = `${home}/other.toml`;
    await Deno.writeTextFile(
      path,
      `[redis]\nhost = "10.0.0.5"\nusername = "bob"\npassword = ${tomlString(password)}\n`,
    );
    const { code, stdout, stderr } = await run(["config", "-c", path], { HOME: home });
    assertEquals([code, stderr], [0, ""]);
    for (const secret of [password, encodeURIComponent(password), "p%40ss", "w0rd"]) {
      assert(!stdout.includes(secret), stdout);
    }
    assert(stdout.includes(`# config file: ${path}`), stdout);
    assert(stdout.includes(`# trust file: ${home}/other.trusted`), stdout);
    assert(
      /^url = "redis:\/\/bob:\*\*\*@10\.0\.0\.5:6379"\s+# built from host\/port/m.test(stdout),
      stdout,
    );
  });
});

Deno.test("config: SECSHRNET_REDIS_URL replacing the file's URL is said, both masked", async () => {
  await withHome(async (home) => {
    await Deno.mkdir(`${home}/.secshrnet`);
    await Deno.writeTextFile(
      `${home}/.secshrnet/secshrnet.conf`,
      `[redis]\nurl = "redis://:filepw@file.example:6379"\n`,
    );
    const env = { HOME: home, SECSHRNET_REDIS_URL: "redis://:envpw@env.example:7000" };
    const text = await run(["config"], env);
    const json = await run(["config", "--json"], env);
    for (const { code, stdout, stderr } of [text, json]) {
      assertEquals([code, stderr], [0, ""]);
      assert(!/filepw|envpw/.test(stdout + stderr), stdout);
    }
    assert(text.stdout.includes("# SECSHRNET_REDIS_URL is set and replaces the Redis URL"));
    assert(
      text.stdout.includes(
        'url = "redis://:***@env.example:7000"  # from SECSHRNET_REDIS_URL, replacing the ' +
          "file's redis://:***@file.example:6379",
      ),
      text.stdout,
    );
    const shown = JSON.parse(json.stdout);
    assertEquals(shown.redisUrlFrom, "environment");
    assertEquals(shown.settings.redis.url, "redis://:***@env.example:7000");
    const without = JSON.parse((await run(["config", "--json"], { HOME: home })).stdout);
    assertEquals(without.redisUrlFrom, "file");
  });
});

Deno.test("config: a bad file is the one-line config error (exit 2), nothing on stdout", async () => {
  await withHome(async (home) => {
    const path = `${home}/bad.conf`;
    await Deno.writeTextFile(path, "[network]\nname = 5\n");
    const { code, stdout, stderr } = await run(["config", "-c", path], { HOME: home });
    assertEquals([code, stdout], [2, ""]);
    assert(oneLine(stderr) && stderr.includes(`${path}: [network] name must be a string`), stderr);
    const json = await run(["config", "-c", path, "--json"], { HOME: home });
    assertEquals(json.code, 2);
    assert(oneLine(json.stderr) && json.stderr.includes("[network] name"), json.stderr);
    const missing = await run(["config", "-c", `${home}/none.conf`], { HOME: home });
    assertEquals(missing.code, 2);
    assert(oneLine(missing.stderr) && missing.stderr.includes("not found"), missing.stderr);
  });
});

Deno.test("config: flags of the other form, and unknown subcommands, are usage errors", async () => {
  await withHome(async (home) => {
    const cases: [string[], string][] = [
      [["config", "init", "--json"], "--json is for 'secshrnet config'"],
      [["config", "--force"], "--force is for 'secshrnet config init'"],
      [["config", "--redis", "redis://h"], "--redis is for 'secshrnet config init'"],
      [["config", "int"], "unknown subcommand 'int'; did you mean 'init'?"],
      [["config", "show"], "unknown subcommand 'show'; usage: secshrnet config"],
      [["config", "init", "extra"], "usage: secshrnet config"],
    ];
    for (const [args, message] of cases) {
      const { code, stderr } = await run(args, { HOME: home });
      assertEquals(code, 2, args.join(" "));
      assert(oneLine(stderr) && stderr.includes(message), stderr);
    }
    assertEquals([...Deno.readDirSync(home)].map((e) => e.name), []);
  });
});

Deno.test("config init: writes a 0600 file in a new 0700 dir that loads to what was given", async () => {
  await withHome(async (home) => {
    const url = "rediss://server:s3cret@redis.example.net:6380";
    const { code, stdout, stderr } = await run(
      ["config", "init", "--redis", url, "--network", "lab"],
      { HOME: home },
    );
    const path = `${home}/.secshrnet/secshrnet.conf`;
    assertEquals([code, stdout], [0, ""]);
    assertEquals(
      stderr,
      `wrote ${path} (mode 0600); start a server with 'secshrnet serve' or check it with ` +
        `'secshrnet config'\n`,
    );
    assertEquals(await mode(path), 0o600);
    assertEquals(await mode(`${home}/.secshrnet`), 0o700);
    assertEquals([...Deno.readDirSync(`${home}/.secshrnet`)].map((e) => e.name), [
      "secshrnet.conf",
    ]);
    const text = await Deno.readTextFile(path);
    assertEquals(text, configTemplate({ redisUrl: url, network: "lab" }));
    const loaded = await loadConfig({ env: { HOME: home } });
    assertEquals(loaded.source, path);
    const expected = parseConfig(`[redis]\nurl = "${url}"\n[network]\nname = "lab"\n`, path);
    assertEquals(settings(loaded), settings(expected));
    assertEquals(loaded.redis.url, url);
    assertEquals(loaded.network.name, "lab");

    // And `secshrnet config` reads it back, the password masked.
    const shown = await run(["config", "--json"], { HOME: home });
    assertEquals(JSON.parse(shown.stdout).settings.redis.url, url.replace("s3cret", "***"));
    assert(!shown.stdout.includes("s3cret"), shown.stdout);
  });
});

Deno.test("config init: without flags, every setting is commented out and loads to the defaults", async () => {
  await withHome(async (home) => {
    const path = `${home}/a/b/secshrnet.conf`;
    const { code, stderr } = await run(["config", "init", "-c", path], { HOME: home });
    assertEquals(code, 0, stderr);
    assert(stderr.startsWith(`wrote ${path} (mode 0600); `), stderr);
    assert(stderr.includes(`'secshrnet config -c ${path}'`), stderr);
    assertEquals(await mode(`${home}/a`), 0o700);
    assertEquals(await mode(`${home}/a/b`), 0o700);
    assertEquals(await mode(path), 0o600);
    assertEquals(settings(await loadConfig({ path, env: {} })), settings(parseConfig("", path)));
  });
});

Deno.test("config init: an existing file is kept (exit 6) unless --force replaces it", async () => {
  await withHome(async (home) => {
    const path = `${home}/secshrnet.conf`;
    await Deno.writeTextFile(path, "# mine\n", { mode: 0o644 });
    await Deno.chmod(path, 0o644);
    const refused = await run(["config", "init", "-c", path, "--network", "lab"], { HOME: home });
    assertEquals(refused.code, 6);
    assertEquals(refused.stderr, `secshrnet: ${path} exists; use --force to replace it\n`);
    assertEquals(await Deno.readTextFile(path), "# mine\n");
    assertEquals(await mode(path), 0o644);

    const forced = await run(
      ["config", "init", "-c", path, "--network", "lab", "--force"],
      { HOME: home },
    );
    assertEquals(forced.code, 0, forced.stderr);
    assertEquals((await loadConfig({ path, env: {} })).network.name, "lab");
    assertEquals(await mode(path), 0o600);
    assertEquals([...Deno.readDirSync(home)].map((e) => e.name), ["secshrnet.conf"]);
  });
});

Deno.test("config init: a bad --redis or --network is a usage error and writes nothing", async () => {
  await withHome(async (home) => {
    const cases: [string[], string][] = [
      [["--redis", "http://redis.example.net"], '--redis "http://redis.example.net" must use'],
      [["--redis", "redis://u:sekrit@h:0"], '--redis "redis://u:***@h:0" has port 0'],
      [["--redis", ""], '--redis "" is not a valid URL'],
      [["--network", "my net"], '--network "my net" is not allowed'],
    ];
    for (const [flags, message] of cases) {
      const { code, stdout, stderr } = await run(["config", "init", ...flags], { HOME: home });
      assertEquals([code, stdout], [2, ""], flags.join(" "));
      assert(oneLine(stderr) && stderr.startsWith(`secshrnet: ${message}`), stderr);
      assert(!stderr.includes("sekrit"), stderr);
    }
    assertEquals([...Deno.readDirSync(home)].map((e) => e.name), []); // not even the directory
  });
});

Deno.test("config template: the settings are secshrnet.example.toml's, values set in place", async () => {
  const example = await Deno.readTextFile(new URL("../secshrnet.example.toml", import.meta.url));
  const plain = configTemplate();
  assert(plain.endsWith(example.slice(example.indexOf("\n[redis]\n") + 1)));
  assertEquals(settings(parseConfig(plain, "t")), settings(parseConfig("", "t")));
  const set = configTemplate({ redisUrl: 'redis://h:1/"0', network: "n" });
  assert(set.includes('\nurl = "redis://h:1/\\"0"\n') && set.includes('\nname = "n"\n'), set);
  assert(
    !set.includes('# url = "redis://127.0.0.1:6379"') && !set.includes('# name = "secshrnet"'),
  );
  for (const value of ['a"b\\c', "tab\there\nnl", "\x00\x1f\x7f", "é😀", ""]) {
    assertEquals(parse(`k = ${tomlString(value)}`).k, value);
  }
});
