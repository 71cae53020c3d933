/**
 * Error messages that name the next step (issue 11): a wrong password says
 * how many more tries the servers will check before they make you wait (the
 * fewest any server says, clamped, so a lying server can only lower it), and
 * "found 1 of 2 needed shares" names the servers behind the other shares and
 * says to run `secshrnet check`.
 */

import { assert, assertEquals, assertRejects } from "./assert.ts";
import { prng } from "./prng.ts";
import type { TestNetwork } from "./harness/network.ts";
import {
  closeSettled,
  getBytes,
  PASSWORD,
  putBytes,
  trustedServers,
  withNetwork,
  WRONG_PW,
} from "./harness/client.ts";
import {
  MAX_RETRY_AFTER,
  MAX_TRIES_LEFT,
  proofBudget,
  remoteErrorFrom,
} from "../core/net/errors.ts";
import type { Address } from "../core/net/envelope.ts";
import { rateLimited, wrongPassword } from "../core/client/refusals.ts";
import {
  NotEnoughSharesError,
  RateLimitedError,
  SecshrnetError,
  WrongPasswordError,
} from "../core/errors.ts";
import { ProofGate, ProofLimitError } from "../server/proofs.ts";
import { StoreError } from "../server/store.ts";
import { Client } from "../core/client/session.ts";
import { get as getObject } from "../core/client/get.ts";
import { explainShortage } from "../core/client/shortage.ts";
import type { ObjectView } from "../core/client/heads.ts";

const server = `server:${"c".repeat(64)}` as Address;
const alice = `client:${"a".repeat(64)}` as Address;
const bob = `client:${"b".repeat(64)}` as Address;

/** `remoteErrorFrom` for a `forbidden` body with `extra` fields. */
const forbidden = (extra: Record<string, unknown>) =>
  remoteErrorFrom(server, { code: "forbidden", message: "wrong password", ...extra });

Deno.test("error replies: a lying count is clamped or dropped where the reply is decoded", () => {
  assertEquals(forbidden({ triesLeft: 4 }).triesLeft, 4);
  assertEquals(forbidden({ triesLeft: 99999 }).triesLeft, MAX_TRIES_LEFT);
  assertEquals(forbidden({ triesLeft: -5 }).triesLeft, 0);
  assertEquals(forbidden({ triesLeft: 2.9 }).triesLeft, 2);
  for (const lie of ["4", NaN, Infinity, null, true, [3], { n: 3 }]) {
    assertEquals(forbidden({ triesLeft: lie }).triesLeft, undefined, String(lie));
  }
  assertEquals(forbidden({ triesLeft: 0, retryAfter: 1e9 }).retryAfter, MAX_RETRY_AFTER);
  assertEquals(forbidden({ triesLeft: 0, retryAfter: -1 }).retryAfter, 1);
  assertEquals(forbidden({ triesLeft: 0, retryAfter: "3" }).retryAfter, undefined);
  // An older server says nothing: no count, and the body's code and message as before.
  const old = forbidden({});
  assertEquals([old.code, old.message, old.triesLeft, old.retryAfter], [
    "forbidden",
    "wrong password",
    undefined,
    undefined,
  ]);
  assertEquals(proofBudget("not a body"), {});
  // The message the client then prints never carries more than the clamped number.
  assertEquals(
    wrongPassword([forbidden({ triesLeft: 99999 })]).message,
    `wrong password (${MAX_TRIES_LEFT} more tries before the servers make you wait; check the ` +
      `tag and password)`,
  );
  assertEquals(
    wrongPassword([forbidden({ triesLeft: "lots" })]).message,
    "wrong password (check the tag and password)",
  );
});

Deno.test("wrong password: the fewest tries any server says, so one liar can only lower it", () => {
  const honest = [forbidden({ triesLeft: 7 }), forbidden({ triesLeft: 9 })];
  const error = wrongPassword(honest);
  assertEquals(error.triesLeft, 7);
  assertEquals(
    error.message,
    "wrong password (7 more tries before the servers make you wait; check the tag and password)",
  );
  assertEquals(wrongPassword([...honest, forbidden({ triesLeft: 99999 })]).triesLeft, 7);
  assertEquals(wrongPassword([...honest, forbidden({})]).triesLeft, 7);
  assertEquals(
    wrongPassword([forbidden({ triesLeft: 1 })]).message,
    "wrong password (1 more try before the servers make you wait; check the tag and password)",
  );
  // At 0: how long the servers refuse (the longest wait of those at 0).
  const spent = wrongPassword([
    forbidden({ triesLeft: 0, retryAfter: 2 }),
    forbidden({ triesLeft: 0, retryAfter: 3 }),
    forbidden({ triesLeft: 5, retryAfter: 50 }),
  ]);
  assertEquals(
    spent.message,
    "wrong password; the servers will now refuse further tries for this tag for 3 s",
  );
  assertEquals(
    wrongPassword([forbidden({ triesLeft: 0 })]).message,
    "wrong password; the servers will now refuse further tries for this tag for a while",
  );
  // Found by the client (no manifest authenticates): no count, still a wrong password.
  assertEquals(new WrongPasswordError().message, "wrong password (check the tag and password)");
  assertEquals(new WrongPasswordError().code, "wrong-password");
  // Rate limited: the longest wait, from the field or an older server's message, clamped.
  const limited = (body: Record<string, unknown>) =>
    remoteErrorFrom(server, { code: "rate-limited", ...body });
  const waits = rateLimited([
    limited({ message: "try again in 2 s" }),
    limited({ message: "refused", retryAfter: 3 }),
  ]);
  assert(waits instanceof RateLimitedError);
  assert(waits.message.includes("refuse it for 3 s more"), waits.message);
  const liar = rateLimited([limited({ message: "refused for 99999 s" })]);
  assert(liar.message.includes(`refuse it for ${MAX_RETRY_AFTER} s more`), liar.message);
});

Deno.test("ProofGate: a failed proof says how many more it will check, then how long it refuses", async () => {
  const gate = new ProofGate({ client: { burst: 3, refillMs: 60_000 }, tag: { burst: 100 } });
  const fail = () => Promise.reject(new StoreError("forbidden", "access proof does not verify"));
  const budgets: unknown[] = [];
  for (let i = 0; i < 3; i++) {
    const error = await assertRejects(() => gate.guard("/t", alice, fail), ProofLimitError);
    budgets.push([error.code, error.triesLeft, error.retryAfter]);
  }
  // The tag's count (100 allowed) until this client's own limit (3) refuses it.
  assertEquals(budgets, [
    ["forbidden", 99, undefined],
    ["forbidden", 98, undefined],
    ["forbidden", 0, 60],
  ]);
  const refused = await assertRejects(() => gate.guard("/t", alice, fail), ProofLimitError);
  assertEquals([refused.code, refused.triesLeft, refused.retryAfter], [
    "rate-limited",
    undefined,
    60,
  ]);
  // Until this client is refused, the count is the tag's, which every client shares.
  const tagGate = new ProofGate({ tag: { burst: 5, refillMs: 60_000 } });
  const first = await assertRejects(() => tagGate.guard("/u", alice, fail), ProofLimitError);
  assertEquals(first.triesLeft, 4);
  const other = await assertRejects(() => tagGate.guard("/u", bob, fail), ProofLimitError);
  assertEquals(other.triesLeft, 3);
});

/** A library client of `network` (one identity for all its requests). */
async function libraryClient(network: TestNetwork): Promise<Client> {
  return await Client.connect(
    { redisUrl: network.redis.url, network: "secshrnet" },
    trustedServers(network),
  );
}

/** The error a library `get` of `tag` with a wrong password fails with. */
async function wrongGet(client: Client, tag: string): Promise<SecshrnetError> {
  const error = await assertRejects(
    () => getObject(client, { tag, password: "not the password", minLogN: 10 }),
    SecshrnetError,
  );
  return error as SecshrnetError;
}

Deno.test("wrong password over real servers: the tag's tries left, counting down, then the servers refuse for N s", async () => {
  await withNetwork(3, async (network) => {
    const data = prng(11_001).bytes(20_000);
    for (const tag of ["/next/get", "/next/rm"]) {
      assertEquals((await putBytes(network, tag, data, ["-k", "2"])).code, 0);
    }
    // A server checks 20 failures of one tag (then refills one each 3 s), and 10 of one client;
    // each CLI run is a new client, so the count is the tag's: 19 after the first failure (k = 2
    // servers answered, each says 19), fewer (or, had 3 s passed, as many) after the next.
    const tries = (stderr: string) =>
      Number(
        /^secshrnet: wrong password \((\d+) more tries before the servers make you wait; check the tag and password\)\n$/
          .exec(stderr)?.[1],
      );
    const once = await getBytes(network, "/next/get", WRONG_PW);
    assertEquals(once.code, 5, once.stderr);
    assertEquals(tries(once.stderr), 19, once.stderr);
    const twice = await getBytes(network, "/next/get", WRONG_PW);
    assertEquals(twice.code, 5, twice.stderr);
    assert(tries(twice.stderr) === 18 || tries(twice.stderr) === 19, twice.stderr);
    // rm, check --verify and repair say it too (they ask all 3 servers; the fewest counts).
    const rm = await network.run(["rm", "/next/rm"], { env: WRONG_PW });
    assertEquals(rm.code, 5, rm.stderr);
    assertEquals(tries(rm.stderr), 19, rm.stderr);
    const verify = await network.run(["check", "--verify", "/next/rm"], { env: WRONG_PW });
    assertEquals(verify.code, 5, verify.stderr);
    assert(tries(verify.stderr) <= 19, verify.stderr);
    const repair = await network.run(["repair", "/next/rm"], { env: WRONG_PW });
    assertEquals(repair.code, 5, repair.stderr);
    assert(tries(repair.stderr) <= tries(verify.stderr), repair.stderr);

    // One client identity, back to back: the tag's count going down (a token comes back every
    // 3 s, so it may pause), then at this client's 10th failure no tries left and how long the
    // servers refuse it, then refused.
    const client = await libraryClient(network);
    try {
      const counts: (number | undefined)[] = [];
      let last: SecshrnetError | undefined;
      for (let i = 0; i < 10; i++) {
        last = await wrongGet(client, "/next/get");
        assert(last instanceof WrongPasswordError, last.message);
        counts.push(last.triesLeft);
      }
      const going = counts.slice(0, 9) as number[];
      assert(
        going.every((n, i) => n >= 1 && n <= 18 && (i === 0 || n <= going[i - 1])),
        `${counts}`,
      );
      assert(going[8] < going[0], `${counts}`);
      assertEquals(counts[9], 0);
      assert(
        /^wrong password; the servers will now refuse further tries for this tag for [1-3] s$/
          .test(last!.message),
        last!.message,
      );
      const refused = await wrongGet(client, "/next/get");
      assert(refused instanceof RateLimitedError, refused.message);
      assert(/refuse it for [1-3] s more/.test(refused.message), refused.message);
    } finally {
      await closeSettled(client);
    }
    // The owner, another client, is never locked out.
    const owner = await getBytes(network, "/next/get");
    assertEquals(owner.code, 0, owner.stderr);
    assertEquals(owner.stdoutBytes, data);
  });
});

Deno.test("found 1 of 2 needed shares: names the stopped servers and says to run 'secshrnet check'", async () => {
  await withNetwork(3, async (network) => {
    const tag = "/next/short";
    const data = prng(11_002).bytes(30_000);
    const put = await putBytes(network, tag, data, ["-k", "2"]);
    assertEquals(put.code, 0, put.stderr);
    const [kept, ...stopped] = network.servers;
    for (const s of stopped) await s.stop();
    await network.waitForServers(1);
    const get = await getBytes(network, tag);
    assertEquals(get.code, 4, get.stderr);
    assertEquals(get.stdoutBytes.length, 0);
    const lines = get.stderr.trim().split("\n");
    assertEquals(lines.length, 1, get.stderr);
    const [line] = lines;
    assert(line.startsWith("secshrnet: found 1 of 2 needed shares ("), line);
    // The stopped servers are named as offline, by their 16-hex-digit ids; the one left as holding.
    const offline = /maybe on the trusted servers offline: ([0-9a-f, ]+)\)/.exec(line);
    assert(offline !== null, line);
    assertEquals(offline[1].split(", ").sort(), stopped.map((s) => s.name).sort(), line);
    assert(new RegExp(`\\(held: share \\d on ${kept.name};`).test(line), line);
    assert(
      line.endsWith(
        `start the offline servers, then run 'secshrnet check ${tag}' to see ` +
          `each share's state (and 'secshrnet repair ${tag}' if it says degraded)`,
      ),
      line,
    );
    // The typed error is unchanged underneath: exit 4, not enough shares.
    const client = await libraryClient(network);
    try {
      const error = await assertRejects(
        () => getObject(client, { tag, password: PASSWORD, minLogN: 10 }),
        NotEnoughSharesError,
      );
      assertEquals([error.needed, error.found], [2, 1]);
    } finally {
      await closeSettled(client);
    }
  });
});

Deno.test("a shortage names rejected servers with their reasons and ends with the check", () => {
  const holder = (c: string, index: number) => ({
    server: `server:${c.repeat(64)}` as Address,
    index,
  });
  const [a, b, c] = [holder("a", 1), holder("b", 2), holder("c", 3)];
  const object = { holders: [a, b, c], header: { n: 4, k: 3 } } as unknown as ObjectView;
  const error = new NotEnoughSharesError(3, 2, []);
  const plain = explainShortage(error, {
    tag: "/keys/a b",
    object,
    rejected: [{ server: b.server, index: 2, reason: "key share does not match the manifest" }],
    silent: [],
    offline: [],
  });
  assertEquals(
    plain.message,
    "found 2 of 3 needed shares (held: share 1 on aaaaaaaaaaaaaaaa, share 3 on cccccccccccccccc; " +
      "bbbbbbbbbbbbbbbb (share 2) not used: key share does not match the manifest; share 4 " +
      `on no server that answered); run 'secshrnet check "/keys/a b"' to see each share's state`,
  );
  assertEquals([plain.needed, plain.found, plain.code], [3, 2, "not-enough-shares"]);
  // A trusted server that did not answer head is named, and the step starts with it.
  const silent = explainShortage(error, {
    tag: "/t",
    object,
    rejected: [],
    silent: [{ server: `server:${"d".repeat(64)}` as Address, error: "no reply" }],
    offline: ["e".repeat(64)],
  });
  assert(silent.message.includes("dddddddddddddddd did not answer: no reply"), silent.message);
  assert(
    silent.message.includes("maybe on the trusted servers offline: eeeeeeeeeeeeeeee"),
    silent.message,
  );
  assert(
    silent.message.includes(
      "start the offline servers and check those that did not answer, then run 'secshrnet check /t'",
    ),
    silent.message,
  );
});
