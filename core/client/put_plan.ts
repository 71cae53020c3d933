/**
 * The first half of `put`, before any data moves: which trusted servers get
 * a share, n and k, what each of them holds of the tag (and the proof that
 * lets us replace it), and the tag version of the new object.
 *
 * @module
 */

import {
  ExistsError,
  NetworkUnavailableError,
  NotEnoughSharesError,
  UsageError,
} from "../errors.ts";
import { type Address, displayName } from "../net/envelope.ts";
import { unlock } from "../unlock.ts";
import { type AccessKeys, accessKeys } from "../access.ts";
import { type TagView, viewTag } from "./heads.ts";
import { type Client, type PasswordInput, resolvePassword } from "./session.ts";
import { type HeaderPolicy, nextVersion, vet } from "./vetting.ts";

/** What planning a put needs (a subset of the put's options). */
export interface PlanOptions extends HeaderPolicy {
  tag: string;
  password: PasswordInput;
  k?: number;
  n?: number;
  force?: boolean;
  onKdfProgress?: (fraction: number) => void;
}

/** The object a server holds as newest, with the keys that prove we may replace it. */
export interface Replaceable {
  readonly keys: AccessKeys;
  readonly objectId: Uint8Array;
}

/** Everything decided before sealing. */
export interface PutPlan {
  readonly k: number;
  readonly n: number;
  /** The n trusted servers chosen, those that answered first; share i + 1 goes to `chosen[i]`. */
  readonly chosen: Address[];
  /** Chosen servers that get no share, and why (silent, or holding an object not vouched for). */
  readonly excluded: Map<Address, string>;
  /** Trusted servers online that are not among the n: they did not answer, so are not counted. */
  readonly skipped: { server: Address; error: string }[];
  /** Proof material for the chosen servers that hold the tag. */
  readonly replace: Map<Address, Replaceable>;
  /** The new object's tag version. */
  readonly version: number;
  /** The tag as the servers held it when planned. */
  readonly view: TagView;
  /** The password, asked for only once the put is known to be possible. */
  readonly password: string;
}

/** Fewest trusted servers answering for which the default k and n leave a spare share. */
export const MIN_SPARE_SERVERS = 3;

/** Plans a put of `options.tag` on the trusted servers online. */
export async function planPut(client: Client, options: PlanOptions): Promise<PutPlan> {
  const online = await client.trustedServers();
  if (options.k !== undefined && options.k > online.length) {
    throw new NetworkUnavailableError(
      `k=${options.k} needs at least ${options.k} servers but only ${online.length} trusted ` +
        `servers are online`,
    );
  }
  if (options.n !== undefined && options.n > online.length) {
    throw new NetworkUnavailableError(
      `asked for n=${options.n} but only ${online.length} trusted servers are online`,
    );
  }
  const view = await viewTag(client, online, options.tag);
  // Servers that answer are counted; one online but silent (hung, or a ghost
  // on a trusted server's channel) only makes up an explicit -n.
  const silent = new Map(view.failed.map((f) => [f.server, `did not answer: ${f.error}`]));
  const answering = online.filter((server) => !silent.has(server));
  if (options.k === undefined && options.n === undefined && answering.length < MIN_SPARE_SERVERS) {
    // With 1 or 2 servers the default k is n: losing any one server would lose the file.
    throw new NetworkUnavailableError(
      `only ${answering.length} trusted server${answering.length === 1 ? " is" : "s are"} ` +
        `online, and the default k of n leaves no spare share (losing any server loses the ` +
        `file); start and trust more servers, or give -k explicitly to store without a spare`,
    );
  }
  const n = options.n ?? answering.length;
  const k = options.k ?? Math.floor(n / 2) + 1;
  if (k > n) throw new UsageError(`k=${k} is more than n=${n}`);
  const chosen = [...answering, ...online.filter((server) => silent.has(server))].slice(0, n);
  const holders = [...new Set(view.objects.flatMap((o) => o.newestOn))];
  if (holders.length > 0 && !options.force) {
    throw new ExistsError(
      `tag ${
        JSON.stringify(options.tag)
      } exists on ${holders.length} trusted servers; use --force (with its password) to replace it`,
    );
  }
  const vetted = vet(view, options);
  const excluded = new Map([...silent].filter(([server]) => chosen.includes(server)));
  for (const { object, reason, error } of vetted.doubted) {
    // Held by k servers but outside what this client accepts (k = 1, work factor), and
    // nothing vouched for besides: it is the user's own object, and the user must decide.
    const heldByK = !(error instanceof NotEnoughSharesError) && object.newestOn.length > 0;
    if (heldByK && vetted.vouched.length === 0) throw error;
    for (const server of object.newestOn.filter((s) => chosen.includes(s))) {
      excluded.set(server, `holds an object of the tag that is not vouched for (${reason})`);
    }
  }
  const usable = chosen.length - excluded.size;
  if (usable < k) {
    const why = [...excluded].map(([server, reason]) => `${displayName(server)} ${reason}`);
    throw new NetworkUnavailableError(
      `k=${k} servers are needed but only ${usable} can take a share; ${why.join("; ")}`,
    );
  }

  const password = await resolvePassword(options.password);
  const replace = new Map<Address, Replaceable>();
  const masterKeys = new Map<string, Promise<Uint8Array>>();
  for (const object of vetted.vouched.filter((o) => o.newestOn.length > 0)) {
    const unlocked = await unlock(object.headerBytes, {
      tag: options.tag,
      password,
      maxLogN: options.maxLogN,
      minLogN: options.minLogN,
      masterKeys,
      onKdfProgress: options.onKdfProgress,
    });
    const keys = await accessKeys(unlocked.keys.retrievalToken);
    for (const server of object.newestOn) {
      replace.set(server, { keys, objectId: object.header.objectId });
    }
  }
  const skipped = [...silent].filter(([server]) => !chosen.includes(server))
    .map(([server, error]) => ({ server, error }));
  return {
    k,
    n,
    chosen,
    excluded,
    skipped,
    replace,
    version: nextVersion(view, vetted),
    view,
    password,
  };
}

/** Whether two views of a tag show the same objects held as newest by the same servers. */
export function sameHolding(a: TagView, b: TagView): boolean {
  const holding = (view: TagView) =>
    view.objects.flatMap((o) => o.newestOn.map((server) => `${server}=${o.headerBytes.join(",")}`))
      .sort().join(";");
  return holding(a) === holding(b);
}
