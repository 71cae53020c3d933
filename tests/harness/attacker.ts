/**
 * Attackers for the attack tests (tests/attack_server_*_test.ts): hosts built
 * from the project's own modules, each with its own valid X25519 key pair, so
 * every message they send is correctly MAC'd and the servers treat them as
 * ordinary clients; outcomes of their requests as error codes, tallied; and
 * paced loops that run for the whole of a test and stop cleanly (no timer or
 * request left behind: the tests run with --sanitize-ops --sanitize-resources).
 *
 * @module
 */

import type { Address } from "../../core/net/envelope.ts";
import { Host, NetworkError, RemoteError } from "../../core/net/host.ts";
import { decodeHeader } from "../../core/header.ts";
import type { TestNetwork } from "./network.ts";

/** Every attacker host of one test, closed together. */
export class Attackers {
  readonly #redisUrl: string;
  readonly #hosts: Host[] = [];

  constructor(redisUrl: string) {
    this.#redisUrl = redisUrl;
  }

  /** How many identities (hosts) have been made. */
  get count(): number {
    return this.#hosts.length;
  }

  /** A new attacker identity on the network `secshrnet`, as a client. */
  async connect(): Promise<Host> {
    const host = await Host.connect({
      redisUrl: this.#redisUrl,
      network: "secshrnet",
      role: "client",
    });
    this.#hosts.push(host);
    return host;
  }

  /** `count` new identities, connected a few at a time. */
  async connectMany(count: number): Promise<Host[]> {
    const hosts: Host[] = [];
    while (hosts.length < count) {
      const batch = Math.min(8, count - hosts.length);
      hosts.push(...await Promise.all(Array.from({ length: batch }, () => this.connect())));
    }
    return hosts;
  }

  /** Closes every host (waits until their Redis connections have ended). */
  async close(): Promise<void> {
    await Promise.all(this.#hosts.splice(0).map((host) => host.close()));
  }
}

/** Runs `test` with a fresh {@linkcode Attackers} on `network`, always closing them after. */
export async function withAttackers(
  network: TestNetwork,
  test: (attackers: Attackers) => Promise<void>,
): Promise<void> {
  const attackers = new Attackers(network.redis.url);
  try {
    await test(attackers);
  } finally {
    await attackers.close();
  }
}

/**
 * What a request ended with: `ok`, the server's error code (`forbidden`,
 * `expired`, `busy`, ...), `no-reply` when none came, or the error's text.
 */
export async function outcome(request: Promise<unknown>): Promise<string> {
  try {
    await request;
    return "ok";
  } catch (error) {
    if (error instanceof RemoteError) return error.code;
    if (error instanceof NetworkError) return "no-reply";
    return String(error);
  }
}

/** Counts of outcomes. */
export class Tally {
  readonly #counts = new Map<string, number>();

  /** Counts one `code`. */
  add(code: string): void {
    this.#counts.set(code, (this.#counts.get(code) ?? 0) + 1);
  }

  /** How often `code` was counted. */
  get(code: string): number {
    return this.#counts.get(code) ?? 0;
  }

  /** Everything counted. */
  get total(): number {
    return [...this.#counts.values()].reduce((a, b) => a + b, 0);
  }

  /** The codes counted, sorted. */
  codes(): string[] {
    return [...this.#counts.keys()].sort();
  }

  /** `code: n` pairs, for logs. */
  toString(): string {
    return this.codes().map((code) => `${code}: ${this.get(code)}`).join(", ") || "nothing";
  }
}

/** A paced loop started by {@linkcode repeat}. */
export interface Loop {
  /** Rounds started so far. */
  readonly rounds: number;
  /** Stops starting rounds and waits until every round started has ended. */
  stop(): Promise<void>;
}

/**
 * Starts `round` every `intervalMs` (the first at once) without waiting for
 * the previous one, at most `maxInFlight` at a time (a round due while that
 * many run is skipped), until `stop`. A round that throws fails `stop`.
 */
export function repeat(
  intervalMs: number,
  round: (n: number) => Promise<void>,
  maxInFlight = 8,
): Loop {
  const running = new Set<Promise<void>>();
  const errors: unknown[] = [];
  let rounds = 0;
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const tick = () => {
    if (stopped) return;
    if (running.size < maxInFlight) {
      const started = round(rounds++).catch((error) => void errors.push(error));
      running.add(started);
      started.finally(() => running.delete(started));
    }
    timer = setTimeout(tick, intervalMs);
  };
  tick();
  return {
    get rounds() {
      return rounds;
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      while (running.size > 0) await Promise.all([...running]);
      if (errors.length > 0) throw errors[0];
    },
  };
}

/** The object id of the newest object `server` holds of `tag`, asked through `head`. */
export async function newestObjectId(
  host: Host,
  server: Address,
  tag: string,
): Promise<Uint8Array> {
  const head = await host.request(server, "head", { tag });
  const [newest] = head.objects as { header: Uint8Array }[];
  if (newest === undefined) throw new Error(`${server} holds nothing of ${tag}`);
  return decodeHeader(newest.header).objectId;
}

/** `server:<id>` of each server of `network`. */
export function serverAddresses(network: TestNetwork): Address[] {
  return network.servers.map((s) => `server:${s.id}` as Address);
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
