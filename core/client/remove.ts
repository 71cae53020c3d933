/**
 * `rm`: delete a tag from every server that holds it, proving the password
 * with a signed access proof for the object each server holds as newest.
 *
 * @module
 */

import { NotFoundError, RateLimitedError, WrongPasswordError } from "../errors.ts";
import type { Address } from "../net/envelope.ts";
import { RemoteError } from "../net/host.ts";
import { unlock } from "../unlock.ts";
import { accessKeys } from "../access.ts";
import { viewTag } from "./heads.ts";
import { encodeTag } from "../tag.ts";
import { type Client, type PasswordInput, resolvePassword } from "./session.ts";

/** Options of {@linkcode removeTag}. */
export interface RemoveOptions {
  tag: string;
  password: PasswordInput;
  maxLogN?: number;
  onKdfProgress?: (fraction: number) => void;
}

/** Which servers deleted the tag, and which could not. */
export interface RemoveResult {
  tag: string;
  removed: Address[];
  failed: { server: Address; error: string }[];
}

/** Deletes `options.tag` everywhere; throws NotFoundError or WrongPasswordError. */
export async function removeTag(client: Client, options: RemoveOptions): Promise<RemoveResult> {
  encodeTag(options.tag);
  const online = await client.servers();
  const view = await viewTag(client, online, options.tag);
  const objects = view.objects.filter((o) => o.newestOn.length > 0);
  if (objects.length === 0) {
    throw new NotFoundError(
      `tag ${JSON.stringify(options.tag)} not found on any of ${online.length} servers`,
    );
  }
  const password = await resolvePassword(options.password);
  const removed: Address[] = [];
  const failed = [...view.failed];
  let forbidden = 0;
  let limited = 0;
  const masterKeys = new Map<string, Promise<Uint8Array>>();
  for (const object of objects) {
    const unlocked = await unlock(object.headerBytes, { ...options, password, masterKeys });
    const keys = await accessKeys(unlocked.keys.retrievalToken);
    const { objectId } = object.header;
    await Promise.all(object.newestOn.map(async (server) => {
      try {
        await client.request(server, "rm", {
          tag: options.tag,
          ...await client.prove(server, keys, "rm", objectId, options.tag),
        });
        removed.push(server);
      } catch (error) {
        if (error instanceof RemoteError && error.code === "forbidden") forbidden++;
        if (error instanceof RemoteError && error.code === "rate-limited") limited++;
        failed.push({ server, error: (error as Error).message });
      }
    }));
  }
  if (removed.length === 0 && limited > 0) {
    throw new RateLimitedError(
      "too many failed password attempts for this tag lately; the servers refuse it for now",
    );
  }
  if (removed.length === 0 && forbidden > 0) throw new WrongPasswordError();
  return { tag: options.tag, removed: removed.sort(), failed };
}
