/**
 * Attack: squatting a tag name (issue 9, #10). A documented limitation: tag
 * names are first come, first served, so anyone who may act as a client on
 * the Redis server can store a tag before its owner does, under a password
 * of their own. The owner is then refused clearly (exists; wrong password
 * with --force and rm), and the squatter's object stays intact. What stops
 * it is Redis: with the per-role ACL users of docs/REDIS.md, someone holding
 * only the server user's credentials cannot store anything.
 *
 * Real redis-server and `secshrnet serve` processes, clients through the CLI.
 */

import { assert, assertEquals, assertRejects } from "./assert.ts";
import { sameBytes } from "./objects.ts";
import { prng } from "./prng.ts";
import { freePort } from "./harness/redis.ts";
import {
  FAST,
  getBytes,
  inputFile,
  lsJson,
  objectDirs,
  putBytes,
  PW,
  withNetwork,
} from "./harness/client.ts";
import { refused, withSecuredNetwork } from "./harness/secured.ts";
import { Host, NetworkError } from "../core/net/host.ts";
import { randomBytes } from "../core/bytes.ts";

/** The squatter's password: not the owner's. */
const SQUATTER = { SECSHRNET_PASSWORD: "the squatter's own password" };

/** Whether `stderr` is one line of secshrnet's. */
function oneLine(stderr: string): boolean {
  const lines = stderr.trim().split("\n");
  return lines.length === 1 && lines[0].startsWith("secshrnet: ");
}

Deno.test("squatting (a documented limitation): a second user stores the tag first; the owner is refused clearly and the squatter's object stays intact", async () => {
  await withNetwork(3, async (network) => {
    const tag = "/attack/squat/wallet.dat";
    const random = prng(9401);
    const squatted = random.bytes(10_000);
    const owned = random.bytes(40_000);
    const squat = await putBytes(network, tag, squatted, [], SQUATTER);
    assertEquals(squat.code, 0, squat.stderr);
    const held = await Promise.all(network.servers.map((s) => objectDirs(s.root)));
    for (const dirs of held) assertEquals(dirs.length, 1, String(dirs));

    // The owner's put: exit 6, one line saying the tag exists and to use --force.
    const put = await putBytes(network, tag, owned);
    assertEquals(put.code, 6, put.stderr);
    assert(oneLine(put.stderr), put.stderr);
    assert(/exists/.test(put.stderr) && put.stderr.includes("--force"), put.stderr);
    // --force and rm need the squatter's password: wrong password, exit 5.
    const forced = await putBytes(network, tag, owned, ["--force"]);
    assertEquals(forced.code, 5, forced.stderr);
    assert(oneLine(forced.stderr) && forced.stderr.includes("wrong password"), forced.stderr);
    const rm = await network.run(["rm", tag], { env: PW });
    assertEquals(rm.code, 5, rm.stderr);
    assert(oneLine(rm.stderr) && rm.stderr.includes("wrong password"), rm.stderr);
    const get = await getBytes(network, tag);
    assertEquals(get.code, 5, get.stderr);

    // The squatter's object is intact: the same object directories, its own bytes.
    assertEquals(await Promise.all(network.servers.map((s) => objectDirs(s.root))), held);
    const theirs = await getBytes(network, tag, SQUATTER);
    assertEquals(theirs.code, 0, theirs.stderr);
    assert(sameBytes(theirs.stdoutBytes, squatted), "the squatter's bytes");
    assertEquals((await lsJson(network)).map((e) => [e.tag, e.size]), [[tag, squatted.length]]);
    console.log(
      `squat: owner's put exit ${put.code} (${put.stderr.trim()}); put --force exit ` +
        `${forced.code}, rm exit ${rm.code}, get exit ${get.code}; squatter's object intact`,
    );
  });
});

/** The harness's own ACL user (probes); secshrnet never uses it. */
const ADMIN = { username: "admin", password: "admin-pw-9" };
/** The per-role users of docs/REDIS.md ("One user for servers, one for clients"). */
const USERS = {
  "secshrnet-server": {
    password: "server-pw-9",
    rules: "resetchannels -@all +ping +info +pubsub|numsub " +
      "(+subscribe &secshrnet:server:* &secshrnet:broadcast) (+publish &secshrnet:client:*)",
  },
  "secshrnet-client": {
    password: "client-pw-9",
    rules: "resetchannels -@all +ping +info +pubsub|numsub +pubsub|channels " +
      "(+subscribe &secshrnet:client:*) (+publish &secshrnet:server:*)",
  },
};

Deno.test("squatting stopped by ACLs: with only the server user's credentials nothing can be stored; the owner, as the client user, stores", async () => {
  const dir = await Deno.makeTempDir({ prefix: "secshrnet-squat-acl-" });
  try {
    const lines = [
      "user default off",
      `user ${ADMIN.username} on >${ADMIN.password} ~* &* +@all`,
      ...Object.entries(USERS).map(([name, u]) => `user ${name} on >${u.password} ${u.rules}`),
    ];
    await Deno.writeTextFile(`${dir}/users.acl`, lines.join("\n") + "\n");
    const port = freePort();
    const url = (user: keyof typeof USERS) =>
      `redis://${user}:${USERS[user].password}@127.0.0.1:${port}`;
    const asServer = { SECSHRNET_REDIS_URL: url("secshrnet-server") };
    const asClient = { SECSHRNET_REDIS_URL: url("secshrnet-client") };
    const secrets = [ADMIN.password, ...Object.values(USERS).map((u) => u.password)];
    await withSecuredNetwork(3, {
      redis: { port, args: ["--aclfile", `${dir}/users.acl`], auth: ADMIN },
      env: asServer, // servers run as the server user
    }, async (network) => {
      const tag = "/attack/squat/acl";
      const random = prng(9402);
      const owned = random.bytes(30_000);

      // The attacker holds the server user's credentials: its put fails at once, one line.
      const file = await inputFile(network, random.bytes(5000));
      const channels = "NOPERM this user has no permissions to access one of the channels";
      await refused(network, ["put", tag, file, ...FAST], asServer, channels, secrets);
      // Built by hand, as a server (which that user may subscribe as), it still cannot
      // publish a single request to a server.
      const rogue = await Host.connect({
        redisUrl: url("secshrnet-server"),
        network: "secshrnet",
        role: "server",
      });
      try {
        const [target] = network.servers;
        const error = await assertRejects(
          () =>
            rogue.request(`server:${target.id}`, "put-begin", {
              tag,
              objectId: randomBytes(16),
              index: 1,
              accessKey: randomBytes(32),
            }),
          NetworkError,
        );
        assert(/NOPERM/.test(error.message), error.message);
      } finally {
        await rogue.close();
      }
      await assertRejects(
        () =>
          Host.connect({ redisUrl: url("secshrnet-server"), network: "secshrnet", role: "client" }),
        NetworkError,
        "NOPERM",
      );
      for (const server of network.servers) {
        assertEquals(await objectDirs(server.root), [], `nothing stored on ${server.name}`);
      }

      // The owner, as the client user, stores the tag and gets it back.
      const put = await putBytes(network, tag, owned, [], { ...PW, ...asClient });
      assertEquals(put.code, 0, put.stderr);
      const get = await getBytes(network, tag, { ...PW, ...asClient });
      assertEquals(get.code, 0, get.stderr);
      assert(sameBytes(get.stdoutBytes, owned), "the owner's bytes");
      // ...and the attacker cannot remove it either.
      await refused(network, ["rm", tag], asServer, channels, secrets);
      const ls = await network.run(["ls", "--json"], { env: asClient });
      assertEquals(JSON.parse(ls.stdout).map((e: { tag: string }) => e.tag), [tag]);
      console.log("squat with ACLs: server-user put and rm refused (NOPERM), owner's put exit 0");
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
