/**
 * What a server's error replies reveal. docs/PROTOCOL.md lists the error
 * codes a request can end with (`bad-request`, `not-found`, `forbidden`,
 * `expired`, ...). On commit 9a79753 a file system error inside a handler
 * went to the requester as it was: its `code` (`ENOENT`) and its message,
 * with the server's absolute paths. Now only the protocol's codes go out
 * (anything else is `internal`, without detail), and an object removed
 * while it is read is `not-found`.
 *
 * No fault is needed to trigger it: a `get-begin` that reads the object's
 * access key just after an `rm` renamed the tag away (authorize reads the
 * object list, then its files, without the tag's lock) got `ENOENT`; the
 * lockout attack (attack_server_lockout_test.ts) met it with wrong proofs.
 * Here, to hit the race often without spending the tag's failed-proof budget,
 * the racing `get-begin`s carry correct proofs (a correct proof is never
 * limited), sent around each `rm`.
 *
 * Real redis-server and `secshrnet serve` processes; the racer and the `rm`
 * are hosts built from the project's modules, the puts use the CLI.
 */

import { assert, assertEquals } from "./assert.ts";
import { prng } from "./prng.ts";
import { PASSWORD, putBytes, withNetwork } from "./harness/client.ts";
import { serverAddresses, Tally, withAttackers } from "./harness/attacker.ts";
import { type Host, RemoteError } from "../core/net/host.ts";
import type { Address } from "../core/net/envelope.ts";
import { randomBytes, toHex } from "../core/bytes.ts";
import { type AccessKeys, accessKeys, proveAccess } from "../core/access.ts";
import { decodeHeader } from "../core/header.ts";
import { makeDeletionRecord } from "../core/deletion.ts";
import { unlock } from "../core/unlock.ts";

/** The error codes of docs/PROTOCOL.md ("Requests and replies"). */
const PROTOCOL_CODES = [
  "bad-request",
  "not-found",
  "exists",
  "forbidden",
  "expired",
  "conflict",
  "in-progress",
  "full",
  "busy",
  "rate-limited",
  "internal",
];
/** Rounds of put, then rm raced by get-begins. */
const ROUNDS = 6;
/** Racing get-begins per server per round (a client may hold 64 nonces). */
const RACERS = 24;

Deno.test("errors: a get-begin racing an rm gets 'not-found', never a file system error or a server path", async () => {
  await withNetwork(2, async (network) => {
    const servers = serverAddresses(network);
    const codes = new Tally();
    const leaks: string[] = [];
    await withAttackers(network, async (attackers) => {
      const racer = await attackers.connect();
      racer.listen("get-data", () => {});
      for (let round = 1; round <= ROUNDS; round++) {
        const tag = `/attack/leak/${round}`;
        const put = await putBytes(network, tag, prng(9601 + round).bytes(2000), ["-k", "2"]);
        assertEquals(put.code, 0, put.stderr);
        const head = await racer.request(servers[0], "head", { tag });
        const header = (head.objects as { header: Uint8Array }[])[0].header;
        const { objectId } = decodeHeader(header);
        const unlocked = await unlock(header, { tag, password: PASSWORD });
        const keys = await accessKeys(unlocked.keys.retrievalToken);
        const record = await makeDeletionRecord(header, keys);
        await Promise.all(servers.map(async (server) => {
          const signed = await prepare(racer, server, keys, objectId, tag, RACERS + 1);
          const rm = signed.pop()!;
          // Half the get-begins before the rm, half after, all without waiting.
          const sent = signed.map(async (proof, i) => {
            const download = toHex(randomBytes(8));
            const body = { tag, objectId, download, ...proof };
            const settled = racer.request(server, "get-begin", body).then(
              () => undefined,
              (error: unknown) => error,
            );
            if (i === RACERS / 2) await racer.request(server, "rm", { tag, record, ...rm });
            const error = await settled;
            const code = error === undefined
              ? "ok"
              : error instanceof RemoteError
              ? error.code
              : String(error);
            if (code === "ok") await racer.send(server, "get-cancel", { download });
            codes.add(code);
            const root = network.servers.find((s) => `server:${s.id}` === server)!.root;
            if (error instanceof RemoteError && error.message.includes(root)) {
              leaks.push(`${error.code}: ${error.message}`);
            }
          });
          await Promise.all(sent);
        }));
      }
    });
    console.log(
      `leak: ${ROUNDS} rounds × ${servers.length} servers × ${RACERS} get-begins racing an rm: ` +
        `${codes}; ${leaks.length} replies named server paths${
          leaks.length > 0 ? `, e.g. ${leaks[0]}` : ""
        }`,
    );
    assert(codes.get("ok") > 0 && codes.get("not-found") > 0, `the race was run: ${codes}`);
    const unknown = codes.codes().filter((c) => c !== "ok" && !PROTOCOL_CODES.includes(c));
    assertEquals(unknown, [], `error codes outside the protocol's: ${codes}`);
    assertEquals(leaks, [], "error messages naming the server's files");
  });
});

/** `count` proofs of `get` (the last one of `rm`) for `server`, each on a nonce of its own. */
async function prepare(
  host: Host,
  server: Address,
  keys: AccessKeys,
  objectId: Uint8Array,
  tag: string,
  count: number,
): Promise<{ nonce: Uint8Array; proof: Uint8Array }[]> {
  const proofs = [];
  for (let i = 0; i < count; i++) {
    const nonce = (await host.request(server, "challenge", {})).nonce as Uint8Array;
    const op = i === count - 1 ? "rm" : "get";
    proofs.push({ nonce, proof: await proveAccess(keys, op, nonce, objectId, tag) });
  }
  return proofs;
}
