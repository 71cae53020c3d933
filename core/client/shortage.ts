/**
 * A shortage of shares restated for people: which servers hold the shares
 * that could not be used and why (rejected with a reason, silent, or no
 * server online holds them while trusted servers are offline), and what to
 * do next, on one line.
 *
 * @module
 */

import type { NotEnoughSharesError } from "../errors.ts";
import { type Address, displayName } from "../net/envelope.ts";
import type { ObjectView } from "./heads.ts";
import type { ServerRejection } from "./retrieve.ts";

/** What is known about where an object's shares are. */
export interface ShareWhereabouts {
  tag: string;
  /** The object that could not be opened. */
  object: ObjectView;
  /** Servers whose share was not used, and why. */
  rejected: readonly ServerRejection[];
  /** Trusted servers online that did not answer `head` (they may hold shares). */
  silent: readonly { server: Address; error: string }[];
  /** Ids of trusted servers offline now (they may hold the missing shares). */
  offline: readonly string[];
}

/**
 * `error` with the servers behind every share named (16-hex-digit ids) and,
 * last, the command that shows each share's state.
 */
export function explainShortage(
  error: NotEnoughSharesError,
  where: ShareWhereabouts,
): NotEnoughSharesError {
  const { object, rejected, silent } = where;
  const parts: string[] = [];
  const isRejected = (server: Address, index: number) =>
    rejected.some((r) => r.server === server && (r.index === undefined || r.index === index));
  const usable = object.holders.filter((h) => !isRejected(h.server, h.index));
  if (usable.length > 0) {
    parts.push(
      `held: ${usable.map((h) => `share ${h.index} on ${displayName(h.server)}`).join(", ")}`,
    );
  }
  for (const r of rejected) {
    const share = r.index === undefined ? "" : ` (share ${r.index})`;
    parts.push(`${displayName(r.server)}${share} not used: ${r.reason}`);
  }
  const held = new Set(object.holders.map((h) => h.index));
  const missing = Array.from({ length: object.header.n }, (_, i) => i + 1)
    .filter((index) => !held.has(index));
  const offline = missing.length > 0 ? where.offline : [];
  if (missing.length > 0) {
    const which = `${missing.length === 1 ? "share" : "shares"} ${missing.join(", ")}`;
    parts.push(
      `${which} on no server that answered` +
        (offline.length > 0
          ? `, maybe on the trusted servers offline: ${
            offline.map((id) => id.slice(0, 16)).join(", ")
          }`
          : ""),
    );
  }
  for (const { server, error } of silent) {
    parts.push(`${displayName(server)} did not answer: ${error}`);
  }
  const tag = shellWord(where.tag);
  const check = checkStep(where.tag);
  // Servers that come back may bring their shares: then repair rebuilds what is still missing.
  const first = offline.length > 0 && silent.length > 0
    ? "start the offline servers and check those that did not answer"
    : offline.length > 0
    ? "start the offline servers"
    : silent.length > 0
    ? "check the servers that did not answer"
    : undefined;
  const next = first === undefined
    ? check
    : `${first}, then ${check} (and 'secshrnet repair ${tag}' if it says degraded)`;
  return error.withDetail(parts.join("; "), next);
}

/** The step that ends a shortage's message: the `check` of `tag`. */
export function checkStep(tag: string): string {
  return `run 'secshrnet check ${shellWord(tag)}' to see each share's state`;
}

/** `tag` as one shell word inside a single-quoted command: as is when plain, else JSON-quoted. */
function shellWord(tag: string): string {
  return /^[\w/.,:@%+=-]+$/.test(tag) ? tag : JSON.stringify(tag);
}
