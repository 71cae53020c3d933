/**
 * The bus over a Redis Cluster: sharded pub/sub (Redis 7.0+). A host
 * SSUBSCRIBEs to its channel, which lives on the master that owns the
 * channel's slot, and SPUBLISHes to a peer's channel on that peer's master,
 * so each message touches one shard (its master and replicas), never every
 * node as classic PUBLISH does in a cluster. ioredis's Cluster client keeps
 * one subscriber connection per master that holds a channel of ours and
 * moves the subscriptions when slots move or a replica takes over
 * (docs/PROTOCOL.md, "Redis Cluster").
 *
 * @module
 */

import { Cluster, type ClusterOptions, type Redis } from "ioredis";
import type { Buffer } from "node:buffer";
import type { Bus, BusLog } from "./bus.ts";
import { withTimeout } from "./connection.ts";
import { clusterFailureReason } from "./connect_failure.ts";
import { NetworkError } from "./errors.ts";
import { type ClusterTarget, hostAndPort, redisLabel } from "./redis_target.ts";
import { ThrottledLog } from "./throttled_log.ts";

/**
 * Connects to the cluster through `cluster.nodes` and SSUBSCRIBEs to
 * `channels`, within `timeoutMs` (see openBus).
 */
export async function openShardedBus(
  cluster: ClusterTarget,
  tls: { ca?: string; rejectUnauthorized?: boolean } | undefined,
  channels: string[],
  log: BusLog,
  timeoutMs: number,
): Promise<Bus> {
  let connected = false;
  let cause: Error | undefined;
  const useTls = cluster.tls || tls?.ca !== undefined;
  const options: ClusterOptions = {
    lazyConnect: true,
    shardedSubscribers: true,
    // Until the first connect succeeds, a failure is final; then retry for ever.
    clusterRetryStrategy: (times) => connected ? Math.min(100 * times, 2000) : null,
    retryDelayOnFailover: 200,
    retryDelayOnClusterDown: 200,
    retryDelayOnTryAgain: 200,
    slotsRefreshTimeout: Math.min(timeoutMs, 2000),
    redisOptions: {
      username: cluster.username,
      password: cluster.password,
      connectTimeout: timeoutMs,
      keepAlive: 10_000,
      maxRetriesPerRequest: 2,
      disableClientInfo: true,
      // No INFO on each node connection (one command fewer for an ACL to allow, and no
      // console line from ioredis when it is refused): the cluster's own check, CLUSTER INFO,
      // says when the cluster can serve.
      enableReadyCheck: false,
      tls: useTls
        ? { ca: tls?.ca, rejectUnauthorized: tls?.rejectUnauthorized ?? true }
        : undefined,
    },
  };
  const client = new Cluster(cluster.nodes.map(hostAndPort), options);
  const errors = new ThrottledLog(log);
  let timer: ReturnType<typeof setTimeout> | undefined;
  let timedOut = false;
  let giveUp: (error: Error) => void = () => {};
  const deadline = new Promise<never>((_, reject) => {
    giveUp = reject;
    timer = setTimeout(() => {
      timedOut = true;
      reject(new Error(`timed out after ${timeoutMs} ms`));
    }, timeoutMs);
  });
  const noted = (error: Error) => {
    // A node's own reply (WRONGPASS, NOAUTH, cluster support disabled) says more than the
    // "Failed to refresh slots cache" that follows it; a refusal will not change on retry.
    if (cause === undefined || /^(ERR|NOAUTH|WRONGPASS|NOPERM|CLUSTERDOWN)\b/.test(error.message)) {
      cause = error;
    }
    if (connected) errors.line(`redis cluster: ${error.message}`);
    else if (/^(NOAUTH|WRONGPASS|NOPERM)\b/.test(error.message)) giveUp(error);
  };
  client.on("error", noted);
  client.on("node error", noted);
  reportReadyCheckErrors(client, noted, () => connected, (error) => giveUp(error));
  deadline.catch(() => {});
  try {
    await Promise.race([client.connect(), deadline]);
    // Channels in different slots go in separate commands (SSUBSCRIBE takes one slot).
    for (const channel of channels) await Promise.race([client.ssubscribe(channel), deadline]);
  } catch (error) {
    client.disconnect();
    // A cluster that said it is down says more than the deadline it made us miss.
    const down = cause !== undefined && /^CLUSTERDOWN\b/.test(cause.message);
    const reason = clusterFailureReason(cluster, {
      error: timedOut && !down ? new Error("timed out") : cause ?? (error as Error),
      connected: false,
      timedOut,
      timeoutMs,
    });
    throw new NetworkError(`cannot reach Redis at ${redisLabel({ cluster })}: ${reason}`);
  } finally {
    clearTimeout(timer);
  }
  connected = true;
  return new ShardedBus(client, channels, errors, log);
}

/**
 * Makes `client` pass the error of its ready check (CLUSTER INFO) to
 * `onError`, and a `cluster_state:fail` as a CLUSTERDOWN error: ioredis
 * itself only reconnects, silently, so an ACL without `cluster|info`, or a
 * cluster waiting for a failover, would look like a cluster that never answers.
 *
 * Before the first connect, ioredis asks one node picked at random and never
 * settles its `connect()` when that check fails, so a check that could not
 * reach its node is tried again (on another random node) a few times, and a
 * check that still fails, or finds the cluster down, is handed to `onGiveUp`.
 */
function reportReadyCheckErrors(
  client: Cluster,
  onError: (error: Error) => void,
  isConnected: () => boolean,
  onGiveUp: (error: Error) => void,
): void {
  type Callback = (error: Error | null, state?: string) => void;
  const target = client as unknown as { readyCheck: (callback: Callback) => void };
  const readyCheck = target.readyCheck.bind(client);
  const check = (callback: Callback, triesLeft: number) =>
    readyCheck((error, state) => {
      const connecting = !isConnected();
      if (
        error && connecting && triesLeft > 0 && !/^(NOAUTH|WRONGPASS|NOPERM)\b/.test(error.message)
      ) {
        setTimeout(() => check(callback, triesLeft - 1), READY_CHECK_RETRY_MS);
        return;
      }
      const failure = error ??
        (state === "fail" ? new Error("CLUSTERDOWN cluster_state:fail") : null);
      if (failure) {
        onError(failure);
        if (connecting) onGiveUp(failure);
      }
      callback(error, state);
    });
  target.readyCheck = (callback: Callback) => check(callback, READY_CHECK_TRIES - 1);
}

/**
 * Removes the text-message listener ioredis puts on each of its sharded
 * subscriber connections (cluster/ShardedSubscriber.js): while one is there,
 * every message is also decoded to a string (DataHandler.js, "smessage"),
 * which for binary envelopes cost the servers about 4 times their CPU in a
 * put. Hosts take only `smessageBuffer`.
 */
function dropTextListeners(client: Cluster): void {
  type Subscriber = { getInstance(): Redis | null };
  const group = (client as unknown as {
    shardedSubscribers?: { shardedSubscribers?: Map<string, Subscriber> };
  }).shardedSubscribers;
  for (const subscriber of group?.shardedSubscribers?.values() ?? []) {
    subscriber.getInstance()?.removeAllListeners("smessage");
  }
}

/**
 * What ioredis reports when Redis drops a shard channel subscription by itself
 * (an `sunsubscribe` push, sent when the channel's slot moves to another
 * master): a "Command queue state error" naming the push, since it answers
 * no command of ours.
 */
const DROPPED_SUBSCRIPTION = /Last reply: sunsubscribe,([^,]+),/;

/**
 * How long after a change in the cluster (a node lost or added, a
 * subscriber connection moved, a master that did not answer) a channel
 * without subscribers counts as unknown rather than absent: its host may be
 * resubscribing on a promoted replica or a slot's new owner.
 */
export const SETTLE_MS = 10_000;

/** How long the subscribers must stay ready after a loss before the host is told they are back. */
const READY_SETTLE_MS = 1000;

/** How many times a first ready check that could not reach its node is asked, and how far apart. */
const READY_CHECK_TRIES = 5;
const READY_CHECK_RETRY_MS = 200;

/** The cluster client events that say its topology or its subscribers are changing. */
const UNSETTLING_EVENTS = [
  "-node",
  "+node",
  "node error",
  "nodeError",
  "-subscriber",
  "+subscriber",
];

/** A bus over an ioredis Cluster client with sharded subscribers. */
class ShardedBus implements Bus {
  readonly #client: Cluster;
  readonly #channels: readonly string[];
  readonly #log: BusLog;
  #unsettledUntil = 0;
  #lost = false;
  readonly #stopTimers: (() => void)[] = [];

  constructor(client: Cluster, channels: readonly string[], errors: ThrottledLog, log: BusLog) {
    this.#client = client;
    this.#channels = channels;
    this.#log = log;
    for (const event of UNSETTLING_EVENTS) client.on(event, () => this.#unsettled());
    dropTextListeners(client);
    client.on("+subscriber", () => dropTextListeners(client));
    // A subscriber connection's errors; a subscription Redis dropped is made again at once
    // on the slot's new owner (the heartbeat would find it only seconds later).
    client.on("nodeError", (error: Error) => {
      const dropped = DROPPED_SUBSCRIPTION.exec(error.message)?.[1];
      if (dropped !== undefined && this.#channels.includes(dropped)) {
        errors.line(`redis cluster: the slot of ${dropped} moved; subscribing on its new master`);
        this.resubscribe(dropped).catch((failure: Error) =>
          errors.line(`redis cluster: resubscribing failed: ${failure.message}`)
        );
      } else {
        errors.line(`redis cluster subscriber: ${error.message}`);
      }
    });
  }

  publish(channel: string, message: Buffer): Promise<number> {
    return this.#client.spublish(channel, message) as Promise<number>;
  }

  /**
   * Makes `channel`'s subscription again when every master answered and none
   * holds it. Never rejects: the cluster client reconnects by itself, and a
   * master that is down is its replica's to replace, not a reason to start over.
   */
  async keepAlive(channel: string): Promise<void> {
    if (this.#client.status !== "ready") return;
    try {
      const masters = this.#client.nodes("master").length;
      const answers = await this.#eachMaster((node) =>
        node.call("PUBSUB", "SHARDNUMSUB", channel) as Promise<[string, number]>
      );
      const count = answers.reduce((sum, { value }) => sum + Number(value[1]), 0);
      if (count > 0 || answers.length < masters) return;
      this.#log("warn", "own channel lost its subscription; resubscribing");
      await this.resubscribe(channel);
    } catch (error) {
      this.#log("warn", `redis cluster: checking own channel failed: ${(error as Error).message}`);
    }
  }

  /** Refreshes the slot map (the channel may have moved), then subscribes `channel` afresh. */
  async resubscribe(channel: string): Promise<void> {
    await new Promise<void>((resolve) => this.#client.refreshSlotsCache(() => resolve()));
    await this.#client.sunsubscribe(channel).catch(() => {});
    await this.#client.ssubscribe(channel);
  }

  async channels(pattern: string): Promise<Map<string, string | undefined>> {
    const found = new Map<string, string | undefined>();
    const answers = await this.#eachMaster((node) =>
      node.call("PUBSUB", "SHARDCHANNELS", pattern) as Promise<string[]>
    );
    for (const { node, value } of answers) {
      for (const name of value) found.set(String(name), node);
    }
    return found;
  }

  /**
   * Summed over every master. None is an answer only when every master
   * answered and the cluster has been settled for SETTLE_MS; otherwise this
   * rejects (unknown), since the channel's host may be moving its subscription.
   */
  async subscribers(channel: string): Promise<number> {
    const masters = this.#client.nodes("master").length;
    const answers = await this.#eachMaster((node) =>
      node.call("PUBSUB", "SHARDNUMSUB", channel) as Promise<[string, number]>
    );
    const count = answers.reduce((sum, { value }) => sum + Number(value[1]), 0);
    if (count === 0 && (answers.length < masters || Date.now() < this.#unsettledUntil)) {
      throw new Error("the cluster is changing: no subscriber found yet");
    }
    return count;
  }

  /** Notes that the cluster is changing now. */
  #unsettled(): void {
    this.#unsettledUntil = Date.now() + SETTLE_MS;
  }

  reconnect(): void {
    this.#client.disconnect(true);
  }

  nodes(): string[] {
    return this.#client.nodes("master").map(nodeName).sort();
  }

  onMessage(listener: (message: Buffer) => void): void {
    this.#client.on("smessageBuffer", (_channel: Buffer, message: Buffer) => listener(message));
  }

  /**
   * Once each time the subscribers are back after a loss: ioredis says so
   * after every reset of its subscribers, so only a ready state that holds
   * for READY_SETTLE_MS counts.
   */
  onReady(listener: () => void): void {
    let timer: ReturnType<typeof setTimeout> | undefined;
    this.#client.on("-subscriber", () => clearTimeout(timer));
    this.#client.on("subscribersReady", () => {
      clearTimeout(timer);
      if (!this.#lost) return;
      timer = setTimeout(() => {
        this.#lost = false;
        listener();
      }, READY_SETTLE_MS);
      Deno.unrefTimer(Number(timer));
    });
    this.#stopTimers.push(() => clearTimeout(timer));
  }

  /** Once per loss: while a master is down, ioredis drops and remakes a subscriber many times a second. */
  onLost(listener: () => void): void {
    this.#client.on("-subscriber", () => {
      if (this.#lost) return;
      this.#lost = true;
      listener();
    });
  }

  async close(): Promise<void> {
    for (const stop of this.#stopTimers) stop();
    if (this.#client.status === "end") return;
    const ended = new Promise<void>((resolve) => this.#client.once("end", () => resolve()));
    try {
      await withTimeout(this.#client.quit(), 2000);
      await withTimeout(ended, 2000);
    } catch {
      this.#client.disconnect();
    }
  }

  /**
   * `ask` of every master, in parallel, within 3 s: the answers of those
   * that gave one (a master that is down or failing over has none), and a
   * rejection only when no master answered.
   */
  async #eachMaster<T>(
    ask: (node: Redis) => Promise<T>,
  ): Promise<{ node: string; value: T }[]> {
    const masters = this.#client.nodes("master");
    const settled = await Promise.allSettled(
      masters.map(async (node) => ({
        node: nodeName(node),
        value: await withTimeout(ask(node), 3000),
      })),
    );
    const answers = settled.flatMap((result) =>
      result.status === "fulfilled" ? [result.value] : []
    );
    if (answers.length === 0) {
      const failure = settled.find((result) => result.status === "rejected");
      throw failure?.reason ?? new Error("no cluster master known");
    }
    return answers;
  }
}

/** "host:port" of a cluster node connection. */
function nodeName(node: Redis): string {
  const { host, port } = node.options;
  return `${host?.includes(":") ? `[${host}]` : host}:${port}`;
}
