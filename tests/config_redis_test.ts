/**
 * core/config.ts, the [redis] table: a url or host, port, user, password and
 * tls; the TLS extras; SECSHRNET_REDIS_URL; redaction.
 */

import { Redis } from "ioredis";
import { ConfigError, DEFAULT_REDIS_URL, loadConfig, redactUrl } from "../core/config.ts";
import { assert, assertEquals, assertRejects } from "./assert.ts";
import { FILE, parsed, refused } from "./harness/config.ts";
import { withTempDir } from "./harness/temp_dir.ts";

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
