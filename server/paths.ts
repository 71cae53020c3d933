/**
 * Where a server keeps things under its root. Tag directories are named by
 * the SHA-256 of the tag, never by the tag itself, so no tag can name a path.
 *
 * ```text
 * ROOT/server-key                     this server's X25519 private key (PKCS #8); its id is the public key
 * ROOT/server-id                      the id, for people and scripts (rewritten at start)
 * ROOT/secshrnetd.log                 log
 * ROOT/tags/<h:2>/<h>/tag             the tag (UTF-8)
 * ROOT/tags/<h:2>/<h>/<commit>-<oid>/ one committed object: header, manifest, share, access, index
 * ROOT/uploads/<upload id>/           uploads in progress (deleted at start and on timeout)
 * ```
 *
 * @module
 */

import { toHex, utf8 } from "../core/bytes.ts";

/** Paths of one server root. */
export class RootPaths {
  /** The root directory. */
  readonly root: string;
  constructor(root: string) {
    this.root = root.replace(/\/+$/, "") || "/";
  }
  /** File holding the server's private key. */
  get serverKey(): string {
    return `${this.root}/server-key`;
  }
  /** File holding the server id (derived from the key). */
  get serverId(): string {
    return `${this.root}/server-id`;
  }
  /** The log file. */
  get log(): string {
    return `${this.root}/secshrnetd.log`;
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

/** Fsyncs a directory so a rename or create inside it is durable. */
export async function syncDir(path: string): Promise<void> {
  const dir = await Deno.open(path, { read: true });
  try {
    await dir.sync();
  } finally {
    dir.close();
  }
}
