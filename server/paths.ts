/**
 * Where a server keeps things under its root. Tag directories are named by
 * the SHA-256 of the tag, never by the tag itself, so no tag can name a path.
 *
 * ```text
 * ROOT/lock                           flock'd by the running `serve` for its whole life; holds its pid
 * ROOT/server-key                     this server's X25519 private key (PKCS #8); its id is the public key
 * ROOT/server-id                      the id, for people and scripts (rewritten at start)
 * ROOT/secshrnetd.log                 log, unless [server] log names another file or "-" (stderr only)
 * ROOT/secshrnetd.log.1 … .N          rotated logs, newest first ([server] log_max_bytes, log_keep)
 * ROOT/tags/<h:2>/<h>/                one tag; h = hex SHA-256 of the tag's UTF-8 bytes
 * ROOT/tags/<h:2>/<h>/deleted         the tag's deletion record (core/deletion.ts), once it was removed:
 *                                     it covers every object of a tag version not above its own
 * ROOT/tags/<h:2>/<h>/<commit>-<oid>/ one committed object (commit time in ms, 15 digits; object id, hex):
 *     header, manifest, share, index  the header, the manifest, this server's share stream and its index
 *     access                          the object's 32-byte public access key
 *     checksums                       SHA-256 of each 256 KiB block of `share` (server/checksums.ts)
 *     damaged                         once the scrub found the share damaged: {"offset", "found"} (JSON)
 * ROOT/uploads/<upload id>/           uploads in progress (deleted at start and on timeout)
 * ```
 *
 * The newest object of a tag has the highest tag version; of equal versions,
 * the later commit.
 *
 * @module
 */

import { toHex, utf8 } from "../core/bytes.ts";
import { DEFAULT_LOG_FILE } from "../core/config.ts";

/** Paths of one server root. */
export class RootPaths {
  /** The root directory. */
  readonly root: string;
  constructor(root: string) {
    this.root = root.replace(/\/+$/, "") || "/";
  }
  /** The lock file held by the running server (server/lock.ts). */
  get lock(): string {
    return `${this.root}/lock`;
  }
  /** File holding the server's private key. */
  get serverKey(): string {
    return `${this.root}/server-key`;
  }
  /** File holding the server id (derived from the key). */
  get serverId(): string {
    return `${this.root}/server-id`;
  }
  /** The default log file. */
  get log(): string {
    return `${this.root}/${DEFAULT_LOG_FILE}`;
  }
  /**
   * The log file `[server] log` names: the default when unset, none (stderr
   * only) for "-", else the name, taken relative to the root unless absolute.
   */
  logFile(setting: string | undefined): string | undefined {
    if (setting === undefined) return this.log;
    if (setting === "-") return undefined;
    return setting.startsWith("/") ? setting : `${this.root}/${setting}`;
  }
  /** Directory of all tags. */
  get tags(): string {
    return `${this.root}/tags`;
  }
  /** Directory of uploads in progress. */
  get uploads(): string {
    return `${this.root}/uploads`;
  }
  /** Directory of the tag whose hash is `hash` (hex). */
  tagDir(hash: string): string {
    return `${this.tags}/${hash.slice(0, 2)}/${hash}`;
  }
}

/** Hex SHA-256 of the tag's UTF-8 bytes: the name of its directory. */
export async function tagHash(tag: string): Promise<string> {
  return toHex(new Uint8Array(await crypto.subtle.digest("SHA-256", utf8(tag))));
}

/** Creates `path` (and parents) private to the user (0700). */
export async function makePrivateDir(path: string): Promise<void> {
  await Deno.mkdir(path, { recursive: true, mode: 0o700 });
}

/** Writes `bytes` to `path` (0600) and fsyncs it. */
export async function writeDurable(path: string, bytes: Uint8Array): Promise<void> {
  const file = await Deno.open(path, { write: true, create: true, truncate: true, mode: 0o600 });
  try {
    let offset = 0;
    while (offset < bytes.length) offset += await file.write(bytes.subarray(offset));
    await file.sync();
  } finally {
    file.close();
  }
}

/**
 * Creates and removes a file in `dir`: throws the file system's error when
 * nothing can be created there (permissions, a read-only mount), which an
 * existing root's files being writable would not show.
 */
export async function probeWritable(dir: string): Promise<void> {
  const probe = await Deno.makeTempFile({ dir, prefix: ".probe-" });
  await Deno.remove(probe);
}

/** Fsyncs a directory so a rename or create inside it is durable. */
export async function syncDir(path: string): Promise<void> {
  const dir = await Deno.open(path, { read: true });
  try {
    await dir.sync();
  } finally {
    dir.close();
  }
}
