/**
 * The two fault knobs: the client timeout (`[client] timeout`, `--timeout` on
 * put, get and rm) and the server upload timeout (`[server] upload_timeout`):
 * whole seconds, checked, unset by default (the built-in 20 s and 60 s).
 */

import { ConfigError, MAX_TIMEOUT_SECONDS, parseConfig } from "../core/config.ts";
import { clientTimeouts, configFrom } from "../cli/context.ts";
import { DEFAULT_TIMEOUTS } from "../core/client/session.ts";
import { UsageError } from "../core/errors.ts";
import { secshrnetArgs } from "./harness/network.ts";
import { assert, assertEquals, assertRejects, assertThrows } from "./assert.ts";

const FILE = "/etc/secshrnet/secshrnet.conf";
const parsed = (text: string) => parseConfig(text, FILE);

Deno.test("config: [client] timeout and [server] upload_timeout are whole seconds, unset by default", () => {
  assertEquals(parsed("").client, {});
  assertEquals(parsed("").server, {});
  assertEquals(parsed("[client]\ntimeout = 5").client, { timeoutMs: 5000 });
  assertEquals(parsed("[server]\nupload_timeout = 3").server, { uploadTimeoutMs: 3000 });
  assertEquals(
    parsed(`[client]\ntimeout = ${MAX_TIMEOUT_SECONDS}`).client.timeoutMs,
    86_400_000,
  );
  for (const value of ["0", "-1", String(MAX_TIMEOUT_SECONDS + 1), "1.5", '"5"', "true"]) {
    assertThrows(
      () => parsed(`[client]\ntimeout = ${value}`),
      ConfigError,
      `${FILE}: [client] timeout must be an integer from 1 to 86400`,
    );
    assertThrows(
      () => parsed(`[server]\nupload_timeout = ${value}`),
      ConfigError,
      `${FILE}: [server] upload_timeout must be an integer from 1 to 86400`,
    );
  }
  assertThrows(
    () => parsed("[client]\ntimeout_ms = 5"),
    ConfigError,
    "[client] timeout_ms: unknown key (known: timeout, workers)",
  );
});

Deno.test("--timeout overrides [client] timeout; the defaults stand unless one is set", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const config = `${dir}/secshrnet.conf`;
    await Deno.writeTextFile(config, "[client]\ntimeout = 7\n");
    const values = { config };
    assertEquals((await configFrom({ values, positionals: [] })).client.timeoutMs, 7000);
    const flagged = await configFrom({ values: { ...values, timeout: "2" }, positionals: [] });
    assertEquals(flagged.client.timeoutMs, 2000);
    await assertRejects(
      () => configFrom({ values: { ...values, timeout: "0" }, positionals: [] }),
      UsageError,
      "--timeout must be an integer from 1 to 86400",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  assertEquals(clientTimeouts(undefined), {});
  // The default timeout gives exactly the default timeouts; a short one bounds requests too.
  assertEquals({ ...DEFAULT_TIMEOUTS, ...clientTimeouts(20_000) }, DEFAULT_TIMEOUTS);
  assertEquals(clientTimeouts(3000), { transferIdleMs: 3000, requestMs: 1000 });
  assertEquals(clientTimeouts(120_000), { transferIdleMs: 120_000, requestMs: 3000 });
});

Deno.test("put, get and rm take --timeout (in --help, checked before any connection); the example documents both keys", async () => {
  for (const command of ["put", "get", "rm"]) {
    const output = await new Deno.Command(Deno.execPath(), {
      args: [
        ...secshrnetArgs(),
        command,
        "/t",
        ...(command === "rm" ? [] : ["-"]),
        "--timeout",
        "0",
      ],
      env: { NO_COLOR: "1", SECSHRNET_REDIS_URL: "redis://127.0.0.1:1" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(output.stderr);
    assertEquals(output.code, 2, `${command}: ${stderr}`);
    assert(stderr.includes("--timeout must be an integer from 1 to 86400"), stderr);
    const help = await new Deno.Command(Deno.execPath(), {
      args: [...secshrnetArgs(), command, "--help"],
      stdout: "piped",
    }).output();
    assert(new TextDecoder().decode(help.stdout).includes("--timeout S"), `${command} --help`);
  }
  const example = await Deno.readTextFile(new URL("../secshrnet.example.toml", import.meta.url));
  assert(example.includes("# timeout = 20"), "example documents [client] timeout");
  assert(example.includes("# upload_timeout = 60"), "example documents [server] upload_timeout");
});
