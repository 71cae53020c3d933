/**
 * Redis URL helpers shared by the config loader and the transport.
 *
 * @module
 */

/** Splits "scheme://userinfo@hostport/rest" the way URL parsers do (last "@" ends userinfo). */
export function splitAuthority(
  url: string,
): { prefix: string; userinfo?: string; hostport: string; rest: string } | undefined {
  const match = /^([A-Za-z][A-Za-z0-9+.-]*:\/\/)([^/?#]*)(.*)$/s.exec(url);
  if (!match) return undefined;
  const [, prefix, authority, rest] = match;
  const at = authority.lastIndexOf("@");
  if (at < 0) return { prefix, hostport: authority, rest };
  return { prefix, userinfo: authority.slice(0, at), hostport: authority.slice(at + 1), rest };
}

/** Replaces the password of a URL (even a malformed one) with "***", for logs and messages. */
export function redactUrl(url: string): string {
  const parts = splitAuthority(url);
  if (parts?.userinfo === undefined) return url;
  const colon = parts.userinfo.indexOf(":");
  if (colon < 0 || colon === parts.userinfo.length - 1) return url;
  return `${parts.prefix}${parts.userinfo.slice(0, colon)}:***@${parts.hostport}${parts.rest}`;
}

/** Whether `hostname` (as URL parsing gives it) names this machine's loopback interface. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/^\[(.*)\]$/, "$1");
  return host === "localhost" || host.endsWith(".localhost") || host === "::1" ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host) || /^::ffff:127\./.test(host) ||
    /^::ffff:7f[0-9a-f]{2}:/.test(host);
}

/**
 * The warning for a Redis that anyone who reaches it may use: connected to
 * without a password (so it needs none) at an address other than loopback
 * (so others can likely reach it too). Undefined when neither holds.
 */
export function openRedisWarning(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  if (parsed.password !== "" || isLoopbackHost(parsed.hostname)) return undefined;
  return `Redis at ${parsed.host} needs no password and is not reached over loopback: anyone ` +
    `who can reach it can read every message, send in any name and claim tags first; set a ` +
    `password and ACL users (docs/REDIS.md)`;
}
