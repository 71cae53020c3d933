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
