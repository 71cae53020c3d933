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
  assertEquals(codeOf(() => gate.proofOf({ nonce, proof }, mallory)), "forbidden");
  // Presenting it in the wrong name spent it.
  assertEquals(codeOf(() => gate.proofOf({ nonce, proof }, alice)), "forbidden");
  const second = gate.challenge(alice);
  assertEquals(gate.proofOf({ nonce: second, proof }, alice).nonce, second);
  assertEquals(codeOf(() => gate.proofOf({ nonce: second, proof }, alice)), "forbidden");
  assertEquals(
    codeOf(() => gate.proofOf({ nonce: new Uint8Array(32), proof }, alice)),
    "forbidden",
  );
});

Deno.test("ProofGate: one client's flood of challenges evicts only its own nonces", () => {
  const gate = new ProofGate();
  const kept = gate.challenge(alice);
  const flood = Array.from({ length: 5 * MAX_NONCES_PER_CLIENT }, () => gate.challenge(mallory));
  assertEquals(gate.proofOf({ nonce: kept, proof }, alice).nonce, kept);
  // Mallory's oldest are gone, the newest still valid.
  assertEquals(codeOf(() => gate.proofOf({ nonce: flood[0], proof }, mallory)), "forbidden");
  const newest = flood[flood.length - 1];
  assertEquals(gate.proofOf({ nonce: newest, proof }, mallory).nonce, newest);
});

Deno.test("ProofGate: failed proofs of a tag are counted, then the tag is refused unchecked", async () => {
  const failures: string[] = [];
  const gate = new ProofGate({ burst: 2, refillMs: 60_000 }, (tag) => failures.push(tag));
  const forbidden = () => Promise.reject(new StoreError("forbidden", "wrong password"));
  let checks = 0;
  const check = () => {
    checks++;
    return Promise.resolve("granted");
  };
  for (let i = 0; i < 2; i++) {
    const error = await assertRejects(() => gate.guard("/t", forbidden), StoreError);
    assertEquals((error as StoreError).code, "forbidden");
  }
  const limited = await assertRejects(() => gate.guard("/t", check), StoreError);
  assertEquals((limited as StoreError).code, "rate-limited");
  assertEquals(checks, 0, "a correct proof is not even checked while limited");
  assertEquals(await gate.guard("/other", check), "granted");
  // Errors other than forbidden (e.g. not-found) are not failures.
  const gate2 = new ProofGate({ burst: 1, refillMs: 60_000 });
  const notFound = () => Promise.reject(new StoreError("not-found", "gone"));
  await assertRejects(() => gate2.guard("/t", notFound));
  await assertRejects(() => gate2.guard("/t", notFound));
  assertEquals(await gate2.guard("/t", check), "granted");
  assertEquals(failures, ["/t", "/t"]);
});
