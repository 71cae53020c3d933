/** core/config_redis.ts: `[redis] sentinels`, `master_name`, `sentinel_password` (issue 12). */

import { ConfigError, parseConfig } from "../core/config.ts";
import { redisTarget } from "../core/config_redis.ts";
import { redisLabel } from "../core/net/redis_target.ts";
import { assert, assertEquals, assertThrows } from "./assert.ts";

const FILE = "/etc/secshrnet/secshrnet.conf";
const SENTINELS = 'sentinels = ["10.0.0.1:26379", "10.0.0.2:26379", "[::1]:26380"]';

/** Asserts that `text` is refused with one line holding `message`. */
function refused(text: string, message: string): void {
  const error = assertThrows(() => parseConfig(text, FILE), ConfigError, message);
  assert(!error.message.includes("\n"), error.message);
}

Deno.test("config: sentinels and master_name make a Sentinel target, with credentials for every node", () => {
  const config = parseConfig(
    `[redis]\n${SENTINELS}\nmaster_name = "secshrnet"\nusername = "srv"\npassword = "pw"\n` +
      `sentinel_password = "spw"\n`,
    FILE,
  );
  assertEquals(config.redis, {
    sentinel: {
      sentinels: ["10.0.0.1:26379", "10.0.0.2:26379", "[::1]:26380"],
      masterName: "secshrnet",
      username: "srv",
      password: "pw",
      sentinelPassword: "spw",
    },
  });
  const target = redisTarget(config.redis);
  assertEquals(target.sentinel?.tls, false);
  const label = redisLabel(target);
  assertEquals(
    label,
    'the Sentinel master "secshrnet" (sentinels 10.0.0.1:26379, 10.0.0.2:26379, [::1]:26380)',
  );
  assert(!label.includes("pw"), label);
});

Deno.test("config: Sentinel with tls = true and a ca_file speaks TLS to sentinels and nodes", () => {
  const config = parseConfig(
    `[redis]\n${SENTINELS}\nmaster_name = "m"\ntls = true\nca_file = "ca.pem"\n`,
    FILE,
  );
  assertEquals(config.redis.tls, { rejectUnauthorized: true, caFile: "/etc/secshrnet/ca.pem" });
  assertEquals(redisTarget(config.redis).sentinel?.tls, true);
});

Deno.test("config: SECSHRNET_REDIS_URL still overrides Sentinel with one node", () => {
  const config = parseConfig(`[redis]\n${SENTINELS}\nmaster_name = "m"\n`, FILE, {
    SECSHRNET_REDIS_URL: "redis://10.9.9.9:6379",
  });
  assertEquals(config.redis, { url: "redis://10.9.9.9:6379" });
});

Deno.test("config: Sentinel settings that conflict or are malformed are one line naming them", () => {
  refused(
    `[redis]\nurl = "redis://h:1"\n${SENTINELS}\nmaster_name = "m"`,
    `${FILE}: [redis] give exactly one of url, sentinels and cluster, not url and sentinels`,
  );
  refused(
    `[redis]\nhost = "h"\nport = 7\n${SENTINELS}\nmaster_name = "m"`,
    "not host and port and sentinels",
  );
  refused(`[redis]\n${SENTINELS}`, `${FILE}: [redis] sentinels needs master_name`);
  refused(
    `[redis]\nmaster_name = "m"\nsentinel_password = "x"`,
    `${FILE}: [redis] master_name, sentinel_password only go with sentinels`,
  );
  refused(
    `[redis]\nsentinels = []\nmaster_name = "m"`,
    'sentinels must be a list of 1 to 16 "host:port" strings, not a list of 0',
  );
  refused(`[redis]\nsentinels = "h:1"\nmaster_name = "m"`, "not a string");
  refused(`[redis]\nsentinels = ["h"]\nmaster_name = "m"`, 'not "h"');
  refused(`[redis]\nsentinels = ["h:0"]\nmaster_name = "m"`, "(port 1 to 65535)");
  refused(`[redis]\nsentinels = [1]\nmaster_name = "m"`, "not an integer");
  refused(`[redis]\n${SENTINELS}\nmaster_name = "a b"`, "[redis] master_name must be a name");
  refused(`[redis]\n${SENTINELS}\nmaster_name = "m"\nca_file = "x"`, "ca_file needs TLS");
});
