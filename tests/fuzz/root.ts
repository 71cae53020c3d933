/**
 * What a server keeps on disk, for hostile-input tests: a snapshot of a tree
 * (every path with its size, mode and SHA-256), the shape every path under a
 * root must have, and a look for files an escaping tag would have made.
 *
 * @module
 */

import { toHex } from "../../core/bytes.ts";
import { entries, walk } from "../harness/client.ts";

/** Path (relative) → `dir <mode>` or `<mode> <size> <sha256>`. */
export type Snapshot = Map<string, string>;

/** Every path under `dir` with its mode, and for files their size and SHA-256. */
export async function snapshot(dir: string): Promise<Snapshot> {
  const result: Snapshot = new Map();
  for (const path of await walk(dir)) {
    const info = await Deno.lstat(`${dir}/${path}`);
    const mode = (info.mode! & 0o7777).toString(8);
    if (info.isDirectory) {
      result.set(path, `dir ${mode}`);
    } else {
      const bytes = await Deno.readFile(`${dir}/${path}`);
      const digest = toHex(new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)));
      result.set(path, `${mode} ${info.size} ${digest}`);
    }
  }
  return result;
}

/** The names a server root holds (secshrnet.conf only when a test writes one). */
export const ROOT_ENTRIES: readonly string[] = [
  "lock",
  "secshrnet.conf",
  "secshrnetd.log",
  "server-id",
  "server-key",
  "tags",
  "uploads",
];

/** Paths under ROOT/tags/ that have the shape of a stored object (and nothing else). */
const TAG_PATH = [
  /^[0-9a-f]{2}$/,
  /^[0-9a-f]{2}\/[0-9a-f]{64}$/,
  /^[0-9a-f]{2}\/[0-9a-f]{64}\/deleted$/,
  /^[0-9a-f]{2}\/[0-9a-f]{64}\/\d{15}-[0-9a-f]{32}$/,
  /^[0-9a-f]{2}\/[0-9a-f]{64}\/\d{15}-[0-9a-f]{32}\/(header|manifest|share|access|index|checksums|damaged)$/,
];

/**
 * What in a server root does not have the expected shape: unknown names at
 * the top, anything in tags/ but ROOT/tags/<2 hex>/<64 hex>/<object>/<file> or
 * ROOT/tags/<2 hex>/<64 hex>/deleted
 * (the 64-hex name starting with the 2-hex one), and
 * anything in uploads/ but `<16 hex>/share` staging files. Empty when all is well.
 */
export async function strangePaths(root: string): Promise<string[]> {
  const strange: string[] = [];
  for (const name of await entries(root)) {
    if (!ROOT_ENTRIES.includes(name)) strange.push(name);
  }
  for (const path of await walk(`${root}/tags`)) {
    const parts = path.split("/");
    const shaped = TAG_PATH.some((pattern) => pattern.test(path)) &&
      (parts.length < 2 || parts[1].startsWith(parts[0]));
    if (!shaped) strange.push(`tags/${path}`);
  }
  for (const path of await walk(`${root}/uploads`)) {
    if (!/^[0-9a-f]{16}(\/share)?$/.test(path)) strange.push(`uploads/${path}`);
  }
  return strange;
}

/** Paths among the entries of `dirs` whose name holds `marker` (a file made by an escaping tag). */
export async function markedEntries(dirs: string[], marker: string): Promise<string[]> {
  const found: string[] = [];
  for (const dir of dirs) {
    try {
      for await (const entry of Deno.readDir(dir)) {
        if (entry.name.includes(marker)) found.push(`${dir}/${entry.name}`);
      }
    } catch {
      // Not there or not readable: nothing was made in it either.
    }
  }
  return found;
}

/** Modes that break the rule: the root and every directory 0700, every file 0600. */
export async function wrongModes(root: string): Promise<string[]> {
  const wrong: string[] = [];
  const check = async (path: string, label: string) => {
    const info = await Deno.lstat(path);
    const mode = info.mode! & 0o777;
    const want = info.isDirectory ? 0o700 : 0o600;
    if (mode !== want || info.isSymlink) wrong.push(`${label} ${mode.toString(8)}`);
  };
  await check(root, ".");
  for (const path of await walk(root)) await check(`${root}/${path}`, path);
  return wrong;
}
