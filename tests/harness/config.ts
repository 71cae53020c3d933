/** Helpers of the config tests: the defaults, parsing a text as a file, refusals, a temp dir. */

import {
  type Config,
  ConfigError,
  DEFAULT_NETWORK,
  DEFAULT_REDIS_URL,
  parseConfig,
} from "../../core/config.ts";
import { assert, assertThrows } from "../assert.ts";

/** The path the texts are parsed as. */
export const FILE = "/etc/secshrnet/secshrnet.conf";

/** The config a file with no settings gives, read from `source`. */
export function defaults(source?: string): Config {
  const config: Config = {
    redis: { url: DEFAULT_REDIS_URL },
    network: { name: DEFAULT_NETWORK },
    client: {},
    server: {},
    kdf: { logN: 20, minLogN: 16 },
  };
  if (source !== undefined) config.source = source;
  return config;
}

/** Parses `text` as FILE, without environment. */
export const parsed = (text: string, env: Record<string, string> = {}) =>
  parseConfig(text, FILE, env);

/** Asserts that `text` is refused with a one-line ConfigError holding `message`; returns it. */
export function refused(text: string, message: string, env: Record<string, string> = {}): string {
  const error = assertThrows(() => parseConfig(text, FILE, env), ConfigError, message);
  assert(!error.message.includes("\n"), `message is not one line: ${error.message}`);
  return error.message;
}
