/** The server's nonce book and failed-proof guard (server/proofs.ts), without a network. */

import { assertEquals, assertRejects, assertThrows } from "./assert.ts";
import { MAX_NONCES_PER_CLIENT, ProofGate } from "../server/proofs.ts";
import { StoreError } from "../server/store.ts";
import type { Address } from "../core/net/envelope.ts";

const alice = `client:${"a".repeat(64)}` as Address;
const mallory = `client:${"b".repeat(64)}` as Address;
const proof = new Uint8Array(64);

function codeOf(action: () => unknown): string {
  const error = assertThrows(action, StoreError);
  return (error as StoreError).code;
}

Deno.test("ProofGate: a nonce is single use and only for the client it was given to", () => {
  const gate = new ProofGate();
  const nonce = gate.challenge(alice);
  // Unknown, spent and foreign nonces are "expired": they say nothing about a password.
  assertEquals(codeOf(() => gate.proofOf({ nonce, proof }, mallory)), "expired");
  // Presenting it in the wrong name spent it.
  assertEquals(codeOf(() => gate.proofOf({ nonce, proof }, alice)), "expired");
  const second = gate.challenge(alice);
  assertEquals(gate.proofOf({ nonce: second, proof }, alice).nonce, second);
  assertEquals(codeOf(() => gate.proofOf({ nonce: second, proof }, alice)), "expired");
  assertEquals(
    codeOf(() => gate.proofOf({ nonce: new Uint8Array(32), proof }, alice)),
    "expired",
  );
});

Deno.test("ProofGate: one client's flood of challenges evicts only its own nonces", () => {
  const gate = new ProofGate();
  const kept = gate.challenge(alice);
  const flood = Array.from({ length: 5 * MAX_NONCES_PER_CLIENT }, () => gate.challenge(mallory));
  assertEquals(gate.proofOf({ nonce: kept, proof }, alice).nonce, kept);
  // Mallory's oldest are gone, the newest still valid.
  assertEquals(codeOf(() => gate.proofOf({ nonce: flood[0], proof }, mallory)), "expired");
  const newest = flood[flood.length - 1];
  assertEquals(gate.proofOf({ nonce: newest, proof }, mallory).nonce, newest);
});

const forbidden = () => Promise.reject(new StoreError("forbidden", "wrong password"));

/** The code `gate.guard(tag, from, check)` fails with. */
async function guardCode(
  gate: ProofGate,
  tag: string,
  from: Address,
  check: () => Promise<unknown>,
): Promise<string> {
  const error = await assertRejects(() => gate.guard(tag, from, check), StoreError);
  return (error as StoreError).code;
}

Deno.test("ProofGate: a client that fails too often is refused unchecked; others are not", async () => {
  const failures: string[] = [];
  const limits = { client: { burst: 2, refillMs: 60_000 }, tag: { burst: 100 } };
  const gate = new ProofGate(limits, (tag) => failures.push(tag));
  let checks = 0;
  const check = () => {
    checks++;
    return Promise.resolve("granted");
  };
  assertEquals(await guardCode(gate, "/t", mallory, forbidden), "forbidden");
  assertEquals(await guardCode(gate, "/u", mallory, forbidden), "forbidden");
  assertEquals(await guardCode(gate, "/t", mallory, check), "rate-limited");
  assertEquals(checks, 0, "mallory's next proof is not even checked");
  // Alice, with the right password for the same tag, gets through at once.
  assertEquals(await gate.guard("/t", alice, check), "granted");
  assertEquals(checks, 1);
  assertEquals(failures, ["/t", "/u"]);
});

Deno.test("ProofGate: a tag being guessed never locks out a correct proof", async () => {
  const gate = new ProofGate({ tag: { burst: 3, refillMs: 60_000 } });
  const check = () => Promise.resolve("granted");
  // A guesser with a new identity for every guess spends the tag's burst...
  const guesser = (i: number) => `client:${i.toString(16).padStart(64, "0")}` as Address;
  for (let i = 0; i < 3; i++) {
    assertEquals(await guardCode(gate, "/t", guesser(i), forbidden), "forbidden");
  }
  // ...after which every identity that fails on it is refused from then on,
  for (let i = 3; i < 6; i++) {
    assertEquals(await guardCode(gate, "/t", guesser(i), forbidden), "rate-limited");
    assertEquals(await guardCode(gate, "/other", guesser(i), check), "rate-limited");
  }
  // ...while the owner's correct proof is checked and granted, as is every other tag's.
  for (let i = 0; i < 5; i++) assertEquals(await gate.guard("/t", alice, check), "granted");
  assertEquals(await gate.guard("/other", mallory, check), "granted");
});

Deno.test("ProofGate: errors other than forbidden are not failures", async () => {
  const gate = new ProofGate({ client: { burst: 1, refillMs: 60_000 }, tag: { burst: 1 } });
  const check = () => Promise.resolve("granted");
  const expired = () => Promise.reject(new StoreError("expired", "unknown nonce"));
  const notFound = () => Promise.reject(new StoreError("not-found", "gone"));
  for (let i = 0; i < 5; i++) {
    assertEquals(await guardCode(gate, "/t", mallory, expired), "expired");
    assertEquals(await guardCode(gate, "/t", mallory, notFound), "not-found");
  }
  assertEquals(await gate.guard("/t", mallory, check), "granted");
});
