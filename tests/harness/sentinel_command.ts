/**
 * One command to a Redis Sentinel, for the Sentinel harness and its tests: a
 * sentinel has no password here, so this is plain RESP2 over one new TCP
 * connection, or TLS when the sentinels serve TLS only (the same wire format
 * as `RedisProcess.command` in redis.ts).
 *
 * @module
 */

import { RedisReplyError, type RespReply } from "./redis.ts";

/**
 * Runs one command on the sentinel at `address` ("127.0.0.1:PORT") on a new
 * connection and resolves to its reply; an error reply rejects with a
 * {@linkcode RedisReplyError}.
 */
export function sentinelCommand(address: string, ...command: string[]): Promise<RespReply> {
  return sentinelCommandOver(address, undefined, command);
}

/** {@linkcode sentinelCommand} over TLS, trusting the CA in `caFile`, when that is given. */
export async function sentinelCommandOver(
  address: string,
  caFile: string | undefined,
  command: string[],
): Promise<RespReply> {
  const [hostname, port] = address.split(":");
  const conn = caFile === undefined
    ? await Deno.connect({ hostname, port: Number(port) })
    : await Deno.connectTls({
      hostname,
      port: Number(port),
      caCerts: [await Deno.readTextFile(caFile)],
    });
  try {
    const encoder = new TextEncoder();
    const bulk = command.map((arg) => `$${encoder.encode(arg).length}\r\n${arg}\r\n`).join("");
    let request = encoder.encode(`*${command.length}\r\n${bulk}`);
    while (request.length > 0) request = request.subarray(await conn.write(request));
    let buffer = new Uint8Array(0);
    const chunk = new Uint8Array(65536);
    for (;;) {
      const parsed = parseReply(buffer, 0);
      if (parsed !== undefined) return parsed.value;
      const read = await conn.read(chunk);
      if (read === null) throw new Error(`sentinel ${address} closed the connection mid-reply`);
      const grown = new Uint8Array(buffer.length + read);
      grown.set(buffer);
      grown.set(chunk.subarray(0, read), buffer.length);
      buffer = grown;
    }
  } finally {
    conn.close();
  }
}

/** The RESP2 reply at `offset` (an error reply throws), or undefined while incomplete. */
function parseReply(
  bytes: Uint8Array,
  offset: number,
): { value: RespReply; end: number } | undefined {
  const lineEnd = bytes.indexOf(0x0a, offset);
  if (lineEnd < 0) return undefined;
  const line = new TextDecoder().decode(bytes.subarray(offset + 1, lineEnd - 1));
  const next = lineEnd + 1;
  const type = String.fromCharCode(bytes[offset]);
  if (type === "+") return { value: line, end: next };
  if (type === "-") throw new RedisReplyError(line);
  if (type === ":") return { value: Number(line), end: next };
  const length = Number(line);
  if (type !== "$" && type !== "*") throw new Error(`unexpected RESP reply: ${line}`);
  if (length < 0) return { value: null, end: next };
  if (type === "$") {
    if (bytes.length < next + length + 2) return undefined;
    return {
      value: new TextDecoder().decode(bytes.subarray(next, next + length)),
      end: next + length + 2,
    };
  }
  const items: RespReply[] = [];
  let end = next;
  for (let i = 0; i < length; i++) {
    const item = parseReply(bytes, end);
    if (item === undefined) return undefined;
    items.push(item.value);
    end = item.end;
  }
  return { value: items, end };
}
