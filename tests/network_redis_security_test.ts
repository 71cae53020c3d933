/**
 * secshrnet against a secured redis-server: `requirepass`, and ACL users
 * limited to the network's channels and to the commands secshrnet needs, one
 * user for everyone or one for servers and one for clients (docs/REDIS.md
 * gives the same ACL lines). Real redis-server and `secshrnet serve`
 * processes; every failing run must end by itself with a one-line error,
 * exit 1 and no password in its output. TLS is in network_redis_tls_test.ts.
 */

import { Identity } from "../core/net/identity.ts";
import { Redis } from "ioredis";
import { assert, assertEquals } from "./assert.ts";
import { closeConnection } from "../core/net/connection.ts";
import { sameBytes } from "./objects.ts";
import { prng } from "./prng.ts";
import { freePort } from "./harness/redis.ts";
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
  workDir,
} from "./harness/client.ts";
import { clientsRefused, refused, withSecuredNetwork } from "./harness/secured.ts";

/** The Redis password: characters a URL must escape, a space, a quote and non-ASCII. */
const REDIS_PW = `p@ss:w/rd?#% é"x`;
/** A wrong one, as distinctive, to check that it is not printed either. */
const WRONG_PW = "n0t-the-redis-pw-4711";

/** What no output may show. */
const SECRETS = [REDIS_PW, WRONG_PW];

Deno.test("requirepass: servers and clients get in with the password in the URL or in [redis] password", async () => {
  await withSecuredNetwork(2, {
    redis: { args: ["--requirepass", REDIS_PW], auth: { password: REDIS_PW } },
  }, async (network) => {
    // The harness gives servers and clients redis://:<escaped password>@127.0.0.1:PORT.
    assert(network.env.SECSHRNET_REDIS_URL.startsWith("redis://:p%40ss"));
    const data = prng(5101).bytes(150_000);
    const put = await putBytes(network, "/redis/url", data, ["-k", "2"]);
    assertEquals(put.code, 0, put.stderr);
    assert(put.stdout.includes("on 2 of 2 servers"), put.stdout);

    // The same password as a [redis] key, and no URL in the environment.
    const conf = `${await workDir(network)}/password.conf`;
    await Deno.writeTextFile(
      conf,
      `[redis]\nport = ${network.redis.port}\npassword = ${JSON.stringify(REDIS_PW)}\n` +
        TEST_FLOOR,
    );
    const noUrl = { SECSHRNET_REDIS_URL: "" };
    await network.addServer({ configFile: conf, env: noUrl });
    await network.waitForServers(3);
    await shareTrust(network, conf);
    const listed = await runIsolated(network, ["ls", "--json", "-c", conf], { env: noUrl });
    assertEquals(listed.code, 0, listed.stderr);
    assertEquals(JSON.parse(listed.stdout).map((e: { tag: string }) => e.tag), ["/redis/url"]);
    const got = await runIsolated(network, ["get", "/redis/url", "-", "-c", conf], {
      env: { ...noUrl, ...PW },
    });
    assertEquals(got.code, 0, got.stderr);
    assert(sameBytes(got.stdoutBytes, data));
    const file = await inputFile(network, data);
    const again = await runIsolated(network, ["put", "/redis/conf", file, ...FAST, "-c", conf], {
      env: { ...noUrl, ...PW },
    });
    assertEquals(again.code, 0, again.stderr);
    assert(again.stdout.includes("on 3 of 3 servers"), again.stdout);
    // ... and back through the URL, from all three servers' shares.
    const back = await getBytes(network, "/redis/conf");
    assertEquals(back.code, 0, back.stderr);
    assert(sameBytes(back.stdoutBytes, data));
    assertEquals((await serversJson(network)).length, 3);
  });
});

Deno.test("requirepass: a missing or wrong password fails ls, servers, put, get and serve at once, one line, exit 1", async () => {
  await withSecuredNetwork(0, {
    redis: { args: ["--requirepass", REDIS_PW], auth: { password: REDIS_PW } },
  }, async (network) => {
    const port = network.redis.port;
    const none = { SECSHRNET_REDIS_URL: `redis://127.0.0.1:${port}` };
    const wrong = { SECSHRNET_REDIS_URL: `redis://:${WRONG_PW}@127.0.0.1:${port}` };
    await clientsRefused(network, none, "NOAUTH", SECRETS);
    await clientsRefused(network, wrong, "WRONGPASS", SECRETS);
    const conf = `${await workDir(network)}/wrong.conf`;
    await Deno.writeTextFile(
      conf,
      `[redis]\nport = ${port}\npassword = "${WRONG_PW}"\n${TEST_FLOOR}`,
    );
    const noUrl = { SECSHRNET_REDIS_URL: "" };
    await clientsRefused(network, noUrl, "WRONGPASS", SECRETS, ["-c", conf]);

    // serve gives up at once (retrying cannot fix a password) and logs why.
    const root = `${network.dir}/refused-server`;
    await refused(network, ["serve", "-r", root], none, "NOAUTH", SECRETS);
    await refused(network, ["serve", "-r", root], wrong, "WRONGPASS", SECRETS);
    await refused(network, ["serve", "-r", root, "-c", conf], noUrl, "WRONGPASS", SECRETS);
    const log = await Deno.readTextFile(`${root}/secshrnetd.log`);
    assertEquals(log.trimEnd().split("\n").length, 3, log);
    assert(log.includes("cannot start: cannot reach Redis at redis://:***@127.0.0.1"), log);
    assert(!log.includes(WRONG_PW), log);
  });
});

/** The harness's own ACL user (probes, ACL LOG); secshrnet never uses it. */
const ADMIN = { username: "admin", password: "admin-pw-7" };
/** Passwords of the ACL users below. */
const ACL_PW: Record<string, string> = {
  "secshrnet": "net-pw-7",
  "secshrnet-server": "server-pw-7",
  "secshrnet-client": "client-pw-7",
  "secshrnet-noinfo": "noinfo-pw-7",
  "secshrnet-nolist": "nolist-pw-7",
  "secshrnet-noping": "noping-pw-7",
  "secshrnet-server-pinned": "pinned-pw-7",
};
/** What every user needs besides its channels (docs/REDIS.md): heartbeat, ready check. */
const BASE = "+ping +info +pubsub|numsub";
/** The one-user ACL of docs/REDIS.md: the network's channels, nothing else. */
const NETWORK_RULES =
  `resetchannels &secshrnet:* -@all +publish +subscribe ${BASE} +pubsub|channels`;
/** The per-role ACL of docs/REDIS.md: servers and clients each on their side of the bus. */
const SERVER_RULES = `resetchannels -@all ${BASE} ` +
  "(+subscribe &secshrnet:server:* &secshrnet:broadcast) (+publish &secshrnet:client:*)";
/** Clients also list the servers (PUBSUB CHANNELS); servers never do. */
const CLIENT_RULES = `resetchannels -@all ${BASE} +pubsub|channels ` +
  "(+subscribe &secshrnet:client:*) (+publish &secshrnet:server:*)";

/** The redis:// URL of ACL user `name` on `port`. */
function userUrl(port: number, name: string): string {
  return `redis://${name}:${ACL_PW[name]}@127.0.0.1:${port}`;
}

/**
 * A network on a Redis whose ACL file has the default user off, the
 * harness's admin, and `users` ([name, rules]); servers run as `serverUser`.
 */
async function withAclNetwork(
  servers: number,
  serverUser: string,
  users: [string, string][],
  test: (network: TestNetwork) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "secshrnet-acl-" });
  try {
    const lines = [
      "user default off",
      `user ${ADMIN.username} on >${ADMIN.password} ~* &* +@all`,
      ...users.map(([name, rules]) => `user ${name} on >${ACL_PW[name]} ${rules}`),
    ];
    await Deno.writeTextFile(`${dir}/users.acl`, lines.join("\n") + "\n");
    const port = freePort();
    await withSecuredNetwork(servers, {
      redis: { port, args: ["--aclfile", `${dir}/users.acl`], auth: ADMIN },
      env: { SECSHRNET_REDIS_URL: userUrl(port, serverUser) },
    }, test);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Waits until servers' heartbeats (PING, PUBSUB NUMSUB) have run, so the ACL saw them. */
async function heartbeatsSeen(network: TestNetwork): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const stats = String(await network.redis.command("INFO", "commandstats"));
    if (stats.includes("cmdstat_ping:") && stats.includes("cmdstat_pubsub|numsub:")) return;
    if (Date.now() > deadline) throw new Error(`no heartbeat in 30 s:\n${stats}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/** `ACL LOG`: every command or channel Redis refused, as objects. */
async function aclLog(network: TestNetwork): Promise<Record<string, unknown>[]> {
  const entries = await network.redis.command("ACL", "LOG") as unknown[][];
  return entries.map((entry) => {
    const fields: Record<string, unknown> = {};
    for (let i = 0; i < entry.length; i += 2) fields[String(entry[i])] = entry[i + 1];
    return fields;
  });
}

/** put, get, ls, servers and rm as `env` gives; the network has `servers` servers. */
async function roundTrip(network: TestNetwork, env: Record<string, string>, servers: number) {
  const data = prng(5102).bytes(200_000);
  const put = await putBytes(network, "/redis/acl", data, [], { ...PW, ...env });
  assertEquals(put.code, 0, put.stderr);
  assert(put.stdout.includes(`on ${servers} of ${servers} servers`), put.stdout);
  const got = await getBytes(network, "/redis/acl", { ...PW, ...env });
  assertEquals(got.code, 0, got.stderr);
  assert(sameBytes(got.stdoutBytes, data));
  const ls = await network.run(["ls", "--json"], { env });
  assertEquals(ls.code, 0, ls.stderr);
  assertEquals(JSON.parse(ls.stdout)[0].servers.length, servers);
  const list = await network.run(["servers", "--json"], { env });
  assertEquals(list.code, 0, list.stderr);
  assertEquals(JSON.parse(list.stdout).length, servers);
  const rm = await network.run(["rm", "/redis/acl"], { env: { ...PW, ...env } });
  assertEquals(rm.code, 0, rm.stderr);
  const after = await network.run(["ls", "--json"], { env });
  assertEquals(after.code, 0, after.stderr);
  assertEquals(JSON.parse(after.stdout), []);
}

Deno.test("ACL: one user limited to the network's channels runs servers and clients, nothing refused; another network gets NOPERM", async () => {
  await withAclNetwork(3, "secshrnet", [["secshrnet", NETWORK_RULES]], async (network) => {
    await roundTrip(network, {}, 3);
    await heartbeatsSeen(network);
    assertEquals(await aclLog(network), [], "Redis refused something secshrnet sent");

    const port = network.redis.port;
    const secrets = Object.values(ACL_PW);
    const noUser = { SECSHRNET_REDIS_URL: `redis://127.0.0.1:${port}` };
    await refused(network, ["ls"], noUser, "NOAUTH", secrets);
    const conf = `${await workDir(network)}/other.conf`;
    await Deno.writeTextFile(conf, `[network]\nname = "other"\n`);
    const channels = "NOPERM this user has no permissions to access one of the channels";
    await refused(network, ["ls", "-c", conf], {}, channels, secrets);
    await refused(
      network,
      ["serve", "-r", `${network.dir}/other`, "-c", conf],
      {},
      channels,
      secrets,
    );
    const denied = await aclLog(network);
    assertEquals(denied.map((entry) => entry.reason), ["channel", "channel"]);
    assert(denied.every((entry) => String(entry.object).startsWith("other:")), String(denied));
    assert(denied.every((entry) => entry.username === "secshrnet"));
  });
});

Deno.test("ACL: why each command is in it: without INFO the ready check is skipped (quietly for a client), without PUBSUB CHANNELS ls fails, without PING servers reconnect", async () => {
  const users: [string, string][] = [
    ["secshrnet", NETWORK_RULES],
    ["secshrnet-noinfo", NETWORK_RULES.replace(" +info", "")],
    ["secshrnet-nolist", NETWORK_RULES.replace(" +pubsub|channels", "")],
    ["secshrnet-noping", NETWORK_RULES.replace(" +ping", "")],
  ];
  await withAclNetwork(1, "secshrnet", users, async (network) => {
    const port = network.redis.port;
    // INFO is ioredis's ready check: refused, it is skipped; ioredis's own console warning
    // never reaches the user (a server logs why, core/net/connection.ts noInfoWarning).
    const noInfo = { SECSHRNET_REDIS_URL: userUrl(port, "secshrnet-noinfo") };
    const servers = await network.run(["servers", "--json"], { env: noInfo });
    assertEquals(servers.code, 0, servers.stderr);
    assertEquals(JSON.parse(servers.stdout).length, 1);
    assertEquals(servers.stderr, "");

    // PUBSUB CHANNELS finds the servers.
    const noList = { SECSHRNET_REDIS_URL: userUrl(port, "secshrnet-nolist") };
    await refused(network, ["ls"], noList, "'pubsub|channels'", Object.values(ACL_PW));

    // PING is the heartbeat: refused, the server drops and remakes its connections every 5 s.
    const server = await network.addServer({
      env: { SECSHRNET_REDIS_URL: userUrl(port, "secshrnet-noping") },
    });
    const log = `${server.root}/secshrnetd.log`;
    const deadline = Date.now() + 30_000;
    let text = "";
    while (!text.includes("heartbeat failed (NOPERM") && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      text = await Deno.readTextFile(log);
    }
    assert(text.includes("heartbeat failed (NOPERM"), text);
    assert(text.includes("'ping' command); reconnecting"), text);
  });
});

Deno.test("ACL: a server user and a client user, each on its side of the bus, run the network; neither can act as the other", async () => {
  const users: [string, string][] = [
    ["secshrnet-server", SERVER_RULES],
    ["secshrnet-client", CLIENT_RULES],
  ];
  await withAclNetwork(3, "secshrnet-server", users, async (network) => {
    const port = network.redis.port;
    const asClient = { SECSHRNET_REDIS_URL: userUrl(port, "secshrnet-client") };
    await roundTrip(network, asClient, 3);
    await heartbeatsSeen(network);
    assertEquals(await aclLog(network), [], "Redis refused something secshrnet sent");

    // A client cannot serve, a server cannot be a client (each subscribes on the other side).
    const secrets = Object.values(ACL_PW);
    const channels = "NOPERM this user has no permissions to access one of the channels";
    await refused(network, ["serve", "-r", `${network.dir}/x`], asClient, channels, secrets);
    await refused(network, ["ls"], {}, channels, secrets);

    // Nor can either read or forge the other side's traffic on the bus.
    const server = `secshrnet:server:${network.servers[0].id}`;
    const cases: [string, "subscribe" | "publish", string][] = [
      ["secshrnet-client", "subscribe", server],
      ["secshrnet-client", "publish", "secshrnet:client:0123456789abcdef"],
      ["secshrnet-client", "publish", "secshrnet:broadcast"],
      ["secshrnet-server", "subscribe", "secshrnet:client:0123456789abcdef"],
      ["secshrnet-server", "publish", server],
    ];
    for (const [user, command, channel] of cases) {
      const redis = new Redis(userUrl(port, user), {
        lazyConnect: true,
        retryStrategy: () => null,
      });
      try {
        await redis.connect();
        const sent = command === "publish" ? redis.publish(channel, "x") : redis.subscribe(channel);
        const error = await sent.then(() => undefined, (error: Error) => error);
        assert(error?.message.startsWith(channels), `${user} ${command} ${channel}: ${error}`);
      } finally {
        await closeConnection(redis);
      }
    }
  });
});

Deno.test("ACL: a user per server, made with ACL SETUSER, pins a server to its own channel; another server id gets NOPERM", async () => {
  const users: [string, string][] = [
    ["secshrnet-server", SERVER_RULES],
    ["secshrnet-client", CLIENT_RULES],
  ];
  await withAclNetwork(2, "secshrnet-server", users, async (network) => {
    // The server's key (and so its id) is made first, in its root, then its user.
    const identity = await Identity.generate();
    const id = identity.id;
    const root = `${network.dir}/server-${network.servers.length + 1}`; // where addServer starts it
    await Deno.mkdir(root, { mode: 0o700 });
    await Deno.writeFile(`${root}/server-key`, await identity.pkcs8(), { mode: 0o600 });
    const user = "secshrnet-server-pinned";
    const rules = [
      ...`resetchannels -@all ${BASE}`.split(" "),
      `(+subscribe &secshrnet:server:${id} &secshrnet:broadcast)`,
      "(+publish &secshrnet:client:*)",
    ];
    const setUser = ["ACL", "SETUSER", user, "on", `>${ACL_PW[user]}`, ...rules];
    assertEquals(await network.redis.command(...setUser), "OK");
    const port = network.redis.port;
    const pinned = { SECSHRNET_REDIS_URL: userUrl(port, user) };
    const server = await network.addServer({ env: pinned });
    assertEquals(server.id, id);
    await network.waitForServers(3);
    await roundTrip(network, { SECSHRNET_REDIS_URL: userUrl(port, "secshrnet-client") }, 3);

    const channels = "NOPERM this user has no permissions to access one of the channels";
    const other = `${network.dir}/other-server`;
    await refused(network, ["serve", "-r", other], pinned, channels, Object.values(ACL_PW));
    const otherId = (await Deno.readTextFile(`${other}/server-id`)).trim();
    const denied = await aclLog(network);
    assertEquals(denied.map((entry) => [entry.username, entry.object]), [
      [user, `secshrnet:server:${otherId}`],
    ]);
  });
});
