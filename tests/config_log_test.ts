/** core/config.ts: the server log keys `[server] log`, `log_max_bytes` and `log_keep`. */

import { ConfigError, MAX_LOG_KEEP, parseConfig } from "../core/config.ts";
import { assertEquals, assertThrows } from "./assert.ts";

const FILE = "/etc/secshrnet/secshrnet.conf";

Deno.test('config: [server] log takes a file name or "-"; absent means the default', () => {
  assertEquals(parseConfig("", FILE).server.log, undefined);
  assertEquals(parseConfig('[server]\nlog = "-"', FILE).server.log, "-");
  assertEquals(parseConfig('[server]\nlog = "logs/d.log"', FILE).server.log, "logs/d.log");
  assertThrows(
    () => parseConfig('[server]\nlog = ""', FILE),
    ConfigError,
    `${FILE}: [server] log must be a file name or "-" (stderr), not ""`,
  );
  assertThrows(() => parseConfig("[server]\nlog = 1", FILE), ConfigError, "not an integer");
});

Deno.test("config: [server] log_max_bytes is a byte size, 0 turns rotation off", () => {
  assertEquals(parseConfig("", FILE).server.logMaxBytes, undefined);
  assertEquals(parseConfig('[server]\nlog_max_bytes = "1 MiB"', FILE).server.logMaxBytes, 1048576);
  assertEquals(parseConfig("[server]\nlog_max_bytes = 4096", FILE).server.logMaxBytes, 4096);
  assertEquals(parseConfig("[server]\nlog_max_bytes = 0", FILE).server.logMaxBytes, 0);
  assertThrows(
    () => parseConfig('[server]\nlog_max_bytes = "lots"', FILE),
    ConfigError,
    "[server] log_max_bytes (0 = never rotate) must be a positive whole number of bytes",
  );
});

Deno.test("config: [server] log_keep is an integer from 1 to the maximum", () => {
  assertEquals(parseConfig("[server]\nlog_keep = 7", FILE).server.logKeep, 7);
  for (const bad of ["0", String(MAX_LOG_KEEP + 1), '"3"']) {
    assertThrows(
      () => parseConfig(`[server]\nlog_keep = ${bad}`, FILE),
      ConfigError,
      `[server] log_keep must be an integer from 1 to ${MAX_LOG_KEEP}`,
    );
  }
});
