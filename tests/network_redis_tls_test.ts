/**
 * secshrnet through a TLS-only redis-server (`--port 0 --tls-port`, with
 * `requirepass`): a throwaway CA and a certificate for 127.0.0.1 and
 * localhost made with openssl for each test. `rediss://` with the config's
 * `ca_file` carries puts and gets; a certificate that does not verify makes
 * clients and `serve` fail at once on one line that names the certificate;
 * `tls_reject_unauthorized = false` connects anyway.
 */

import { assert, assertEquals } from "./assert.ts";
import { sameBytes } from "./objects.ts";
import { prng } from "./prng.ts";
import { makeTestCertificates, type RedisTlsFiles, startRedis } from "./harness/redis.ts";
import type { TestNetwork } from "./harness/network.ts";
import {
  FAST,
  getBytes,
  inputFile,
  putBytes,
  PW,
  runIsolated,
  serversJson,
  shareTrust,
  TEST_FLOOR,
} from "./harness/client.ts";
import { clientsRefused, refused, withSecuredNetwork } from "./harness/secured.ts";

/** The Redis password (TLS alone does not authenticate clients). */
const REDIS_PW = "tls-redis-pw-4242";
/** Environment that leaves the URL to the config file. */
const NO_URL = { SECSHRNET_REDIS_URL: "" };

/**
 * Makes certificates in a temporary directory, then a network of `servers`
 * on a TLS-only Redis (also listening on 127.0.0.2 when `extraAddress`)
 * whose clients and servers use rediss://:REDIS_PW@127.0.0.1:PORT and a
 * config file with `ca_file`; removes everything afterwards.
 */
async function withTlsNetwork(
  servers: number,
  test: (network: TestNetwork, certs: RedisTlsFiles & { dir: string }) => Promise<void>,
  extraAddress = false,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "secshrnet-tls-" });
  try {
    const certs = await makeTestCertificates(dir);
    const bind = extraAddress ? ["--bind", "127.0.0.1", "127.0.0.2"] : [];
    await withSecuredNetwork(servers, {
      redis: {
        tls: certs,
        args: ["--requirepass", REDIS_PW, ...bind],
        auth: { password: REDIS_PW },
      },
      config: `[redis]\nca_file = ${JSON.stringify(certs.caFile)}\n`,
    }, (network) => test(network, { ...certs, dir }));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Writes `text` (and the tests' scrypt floor) to `dir/name` and returns the path. */
async function writeConfig(dir: string, name: string, text: string): Promise<string> {
  await Deno.writeTextFile(`${dir}/${name}`, text + TEST_FLOOR);
  return `${dir}/${name}`;
}

Deno.test("TLS: rediss:// with ca_file carries put and get for servers and clients, by IP and by name; tls_reject_unauthorized = false connects", async () => {
  await withTlsNetwork(3, async (network, certs) => {
    const port = network.redis.port;
    assertEquals(network.env.SECSHRNET_REDIS_URL, `rediss://:${REDIS_PW}@127.0.0.1:${port}`);
    const data = prng(5103).bytes(300_000);
    const put = await putBytes(network, "/redis/tls", data);
    assertEquals(put.code, 0, put.stderr);
    assert(put.stdout.includes("on 3 of 3 servers"), put.stdout);
    const got = await getBytes(network, "/redis/tls");
    assertEquals(got.code, 0, got.stderr);
    assert(sameBytes(got.stdoutBytes, data));

    // The whole URL in the file, by host name, with ca_file relative to the file.
    const byName = await writeConfig(
      certs.dir,
      "by-name.conf",
      `[redis]\nurl = "rediss://:${REDIS_PW}@localhost:${port}"\nca_file = "ca.pem"\n`,
    );
    await shareTrust(network, byName);
    const list = await runIsolated(network, ["servers", "--json", "-c", byName], { env: NO_URL });
    assertEquals(list.code, 0, list.stderr);
    assertEquals(JSON.parse(list.stdout).length, 3);
    const again = await runIsolated(network, ["get", "/redis/tls", "-", "-c", byName], {
      env: { ...NO_URL, ...PW },
    });
    assertEquals(again.code, 0, again.stderr);
    assert(sameBytes(again.stdoutBytes, data));

    // No CA, no check: a server and a client still connect.
    const insecure = await writeConfig(
      certs.dir,
      "insecure.conf",
      `[redis]\nurl = "rediss://:${REDIS_PW}@127.0.0.1:${port}"\n` +
        "tls_reject_unauthorized = false\n",
    );
    await network.addServer({ configFile: insecure, env: NO_URL });
    await network.waitForServers(4);
    await shareTrust(network, insecure);
    const file = await inputFile(network, data);
    const unchecked = await runIsolated(network, [
      "put",
      "/redis/tls",
      file,
      ...FAST,
      "--force",
      "-c",
      insecure,
    ], {
      env: { ...NO_URL, ...PW },
    });
    assertEquals(unchecked.code, 0, unchecked.stderr);
    assert(unchecked.stdout.includes("on 4 of 4 servers"), unchecked.stdout);
    assert(
      /^secshrnet: warning: TLS certificate checks are off/m.test(unchecked.stderr),
      `warns that certificates go unchecked: ${unchecked.stderr}`,
    );
    assertEquals((await serversJson(network)).length, 4);
  });
});

Deno.test("TLS: an untrusted certificate or one for another address fails ls, servers, put, get and serve at once, one line naming the certificate", async () => {
  await withTlsNetwork(0, async (network, certs) => {
    const port = network.redis.port;
    const secrets = [REDIS_PW];
    // The system's CAs do not know the throwaway one.
    const untrusted = await writeConfig(
      certs.dir,
      "untrusted.conf",
      `[redis]\nurl = "rediss://:${REDIS_PW}@127.0.0.1:${port}"\n`,
    );
    // The right CA, but the certificate is for 127.0.0.1 and localhost only.
    const elsewhere = await writeConfig(
      certs.dir,
      "elsewhere.conf",
      `[redis]\nurl = "rediss://:${REDIS_PW}@127.0.0.2:${port}"\nca_file = "ca.pem"\n`,
    );
    for (const conf of [untrusted, elsewhere]) {
      await clientsRefused(network, NO_URL, "certificate", secrets, ["-c", conf]);
      const root = `${network.dir}/refused-server`;
      await refused(network, ["serve", "-r", root, "-c", conf], NO_URL, "certificate", secrets);
    }
    const reasons = await runIsolated(network, ["ls", "-c", untrusted], { env: NO_URL });
    assert(reasons.stderr.includes("self-signed certificate"), reasons.stderr);
    const name = await runIsolated(network, ["ls", "-c", elsewhere], { env: NO_URL });
    assert(name.stderr.includes("127.0.0.2"), name.stderr);
    assert(name.stderr.includes("certificate's altnames"), name.stderr);
  }, true);
});

Deno.test("TLS: a Redis that asks for client certificates fails ls and serve at once, one line saying so", async () => {
  await withTlsNetwork(0, async (network, certs) => {
    const mutual = await startRedis({
      tls: certs,
      args: ["--requirepass", REDIS_PW, "--tls-auth-clients", "yes"],
    });
    try {
      const conf = await writeConfig(
        certs.dir,
        "mutual.conf",
        `[redis]\nurl = "rediss://:${REDIS_PW}@127.0.0.1:${mutual.port}"\nca_file = "ca.pem"\n`,
      );
      // Under Deno the alert can arrive after the handshake; it must still end the command.
      for (let i = 0; i < 3; i++) {
        await refused(network, ["ls", "-c", conf], NO_URL, "client certificate", [REDIS_PW]);
      }
      const root = `${network.dir}/mutual-server`;
      await refused(network, ["serve", "-r", root, "-c", conf], NO_URL, "client certificate", [
        REDIS_PW,
      ]);
    } finally {
      await mutual.stop();
    }
  });
});
