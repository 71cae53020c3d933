/**
 * The trust list: the servers a client uses, pinned like SSH's known_hosts.
 * It lives beside the config in use, named after it with the extension
 * replaced by `.trusted` (`$HOME/.secshrnet/secshrnet.conf` →
 * `$HOME/.secshrnet/secshrnet.trusted`), so every `-c CONFIG` has its own.
 * One server per line: its id (64 hex digits), then free text (host name,
 * date); `#` starts a comment. Written atomically, mode 0600.
 *
 * @module
 */

import { ConfigError } from "../core/config.ts";

/** One pinned server. */
export interface TrustEntry {
  /** The server id: its X25519 public key, 64 lowercase hex digits. */
  readonly id: string;
  /** What the line says after the id (host name, when it was trusted). */
  readonly note: string;
}

const HEADER = `# secshrnet trusted servers: the only servers put, get, rm and ls use.
# One server id (64 hex digits) per line, then a note. Edit with 'secshrnet trust' and
# 'secshrnet untrust'; compare each id with ROOT/server-id on the server's own machine.
`;

/** The trust file of the config file `configPath`: its extension replaced by `.trusted`. */
export function trustFilePath(configPath: string): string {
  return configPath.replace(/(?<=[^/\\])\.[^./\\]*$/, "") + ".trusted";
}

/** Reads the trust file at `path`; a missing file is an empty list. Throws ConfigError on a bad line. */
export async function readTrust(path: string): Promise<TrustEntry[]> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw new ConfigError(`${path}: cannot read: ${(error as Error).message}`);
  }
  const entries: TrustEntry[] = [];
  for (const [i, raw] of text.split("\n").entries()) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const [id, ...note] = line.split(/\s+/);
    if (!/^[0-9a-f]{64}$/.test(id)) {
      throw new ConfigError(
        `${path}:${i + 1}: not a server id (64 lowercase hex digits): ${JSON.stringify(id)}; ` +
          `fix or delete the line, or use 'secshrnet untrust'`,
      );
    }
    if (!entries.some((e) => e.id === id)) entries.push({ id, note: note.join(" ") });
  }
  return entries;
}

/** Writes `entries` to `path` (mode 0600, its directory 0700 if new) by writing aside and renaming. */
export async function writeTrust(path: string, entries: readonly TrustEntry[]): Promise<void> {
  const dir = path.slice(0, Math.max(path.lastIndexOf("/"), 0)) || ".";
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  const lines = entries.map((e) => e.note === "" ? e.id : `${e.id} ${e.note}`);
  const temp = `${path}.${crypto.randomUUID()}.tmp`;
  try {
    await Deno.writeTextFile(temp, HEADER + lines.map((l) => l + "\n").join(""), { mode: 0o600 });
    await Deno.chmod(temp, 0o600);
    await Deno.rename(temp, path);
  } catch (error) {
    await Deno.remove(temp).catch(() => {});
    throw new ConfigError(`${path}: cannot write: ${(error as Error).message}`);
  }
}
