/**
 * One fuzz campaign against a live server: messages drawn from a seed and
 * published in batches, each batch awaited, with a round trip through the
 * server (an `info` request) every 2000 messages or 4 MiB, so the fuzzer
 * never runs far ahead of it (the server checks MACs in arrival order, so
 * the answer comes after everything sent before). Redis' output buffer for
 * the server's subscriber is sampled after every batch.
 *
 * @module
 */

import { prng } from "../prng.ts";
import type { Address } from "../../core/net/envelope.ts";
import type { Host } from "../../core/net/host.ts";
import { count, type FuzzDriver, type Tally } from "./driver.ts";
import { FuzzGenerator, type SeededObject } from "./generator.ts";

/** Messages published at once, then awaited. */
export const BATCH = 250;
/** Messages between two round trips through the server, at most. */
export const BARRIER_MESSAGES = 2000;
/** Bytes between two round trips through the server, at most (Redis cuts a subscriber at 32 MB). */
export const BARRIER_BYTES = 4 * 2 ** 20;
/** Near-limit (about 2 MiB) messages per 100,000, spread evenly. */
export const HEAVY_PER_100K = 36;

/** What one campaign sent and saw. */
export interface CampaignResult {
  readonly seed: number;
  readonly sent: number;
  /** Messages by category (`random`, `mutated`, `corrupted`, `bomb`). */
  readonly categories: Tally;
  /** Messages by kind, e.g. `mutated:put-begin`. */
  readonly kinds: Tally;
  /** Publishes that reached no subscriber (the server was not subscribed). */
  readonly unheard: number;
  /** Get proofs that were valid (real downloads started). */
  readonly validProofs: number;
  /** Largest output buffer Redis held for the server's subscriber, in bytes. */
  readonly peakOutputBuffer: number;
  /** Longest barrier round trip, in ms. */
  readonly slowestBarrierMs: number;
  readonly elapsedMs: number;
}

/** Where a campaign sends, and what it knows. */
export interface Target {
  readonly driver: FuzzDriver;
  /** A separate client host for the barrier round trips. */
  readonly prober: Host;
  readonly server: Address;
  readonly pid: number;
  readonly seeded: SeededObject[];
}

/** Sends `messages` fuzz messages drawn from `seed` to the target. */
export async function runCampaign(
  target: Target,
  seed: number,
  messages: number,
): Promise<CampaignResult> {
  const started = Date.now();
  const random = prng(seed);
  const generator = new FuzzGenerator(random, target.driver, target.seeded);
  const heavyCount = Math.round(messages * HEAVY_PER_100K / 100_000);
  const heavyAt = new Set(
    Array.from({ length: heavyCount }, (_, i) => Math.floor((i + 1) * messages / (heavyCount + 1))),
  );
  const categories: Tally = new Map();
  const kinds: Tally = new Map();
  let unheard = 0;
  let heavy = 0;
  let peakOutputBuffer = 0;
  let slowestBarrierMs = 0;
  let sent = 0;
  let sinceBarrier = { messages: 0, bytes: 0 };
  const barrier = async () => {
    const before = Date.now();
    await target.prober.request(target.server, "info", {}, { timeoutMs: 60_000, attempts: 1 });
    slowestBarrierMs = Math.max(slowestBarrierMs, Date.now() - before);
    sinceBarrier = { messages: 0, bytes: 0 };
  };
  while (sent < messages) {
    const batch: Promise<number>[] = [];
    while (batch.length < BATCH && sent < messages) {
      const message = heavyAt.has(sent) ? await generator.heavy(heavy++) : await generator.next();
      sent++;
      count(categories, message.category);
      count(kinds, message.kind);
      sinceBarrier.messages++;
      sinceBarrier.bytes += message.bytes.length;
      batch.push(target.driver.publish(message.bytes));
      if (sinceBarrier.bytes >= BARRIER_BYTES) break;
    }
    for (const receivers of await Promise.all(batch)) if (receivers === 0) unheard++;
    const subscriber = await target.driver.serverSubscriber();
    peakOutputBuffer = Math.max(peakOutputBuffer, subscriber?.omem ?? 0);
    const due = sinceBarrier.messages >= BARRIER_MESSAGES || sinceBarrier.bytes >= BARRIER_BYTES;
    if (due || sent === messages) await barrier();
  }
  return {
    seed,
    sent,
    categories,
    kinds,
    unheard,
    validProofs: generator.validProofs,
    peakOutputBuffer,
    slowestBarrierMs,
    elapsedMs: Date.now() - started,
  };
}

/** `tally` as `name=count` pairs, largest first. */
export function formatTally(tally: Tally): string {
  return [...tally].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k}=${v}`).join(" ");
}
