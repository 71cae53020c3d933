/**
 * A throwaway redis-server on a free loopback port, for tests, the demo and
 * benchmarks. Never touches a Redis the user runs. It may require a password
 * or an ACL user and serve TLS only; {@linkcode RedisProcess.command} then
 * talks to it with the harness's own credentials (RESP over TCP or TLS, no
 * redis-cli needed).
 *
 * @module
 */

/** A running redis-server started by {@linkcode startRedis}. */
export interface RedisProcess {
  /** Its URL: redis://127.0.0.1:PORT, rediss:// with TLS, with the `auth` credentials when given. */
  readonly url: string;
  /** Its port (the TLS port with TLS). */
  readonly port: number;
  /** Stops it (SIGTERM, then SIGKILL after 5 s) and waits for it to exit. */
  stop(): Promise<void>;
  /** Stops and starts it again on the same port (all pub/sub connections drop). */
  restart(): Promise<void>;
  /**
   * Runs one command as the harness's user (after AUTH when `auth` was given)
   * and resolves to its reply; an error reply rejects with a {@linkcode RedisReplyError}.
   */
  command(...args: string[]): Promise<RespReply>;
}

/** PEM files of a TLS-only redis-server. */
export interface RedisTlsFiles {
  /** The server's certificate. */
  certFile: string;
  /** The server's private key. */
  keyFile: string;
  /** The CA that signed it (also what the harness trusts). */
  caFile: string;
}

/** How to start redis-server. */
export interface RedisOptions {
  /** Extra redis-server arguments, e.g. `["--requirepass", "x"]` or `["--aclfile", path]`. */
  args?: string[];
  /** Reuse this port instead of picking a free one. */
  port?: number;
  /** Credentials that `url` carries and that `command` authenticates with. */
  auth?: { username?: string; password: string };
  /** Serve TLS only (plain port off) with these files; clients are not asked for certificates. */
  tls?: RedisTlsFiles;
}

/** A decoded RESP reply: simple and bulk strings as text, integers, nil, arrays. */
export type RespReply = string | number | null | RespReply[];

/** An error reply from Redis (`-NOPERM ...`, `-WRONGPASS ...`). */
export class RedisReplyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RedisReplyError";
  }
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** Whether `redis-server` is on the PATH. */
export async function haveRedisServer(): Promise<boolean> {
  try {
    const { success } = await new Deno.Command("redis-server", {
      args: ["--version"],
      stdout: "null",
    })
      .output();
    return success;
  } catch {
    return false;
  }
}

/** Starts redis-server on a free port and waits until it answers. */
export async function startRedis(options: RedisOptions = {}): Promise<RedisProcess> {
  const port = options.port ?? freePort();
  const args = [...tlsArgs(port, options.tls), ...options.args ?? []];
  let child = await spawn(port, args);
  const stop = () => stopChild(child);
  const { auth, tls } = options;
  const userinfo = auth === undefined
    ? ""
    : `${encodeURIComponent(auth.username ?? "")}:${encodeURIComponent(auth.password)}@`;
  return {
    url: `${tls ? "rediss" : "redis"}://${userinfo}127.0.0.1:${port}`,
    port,
    stop,
    restart: async () => {
      await stop();
      child = await spawn(port, args);
    },
    command: (...command) => runCommand(port, options, command),
  };
}

/** Stops `child`: SIGTERM, SIGKILL after 5 s, and waits for it to exit. */
export async function stopChild(child: Deno.ChildProcess): Promise<void> {
  try {
    child.kill("SIGTERM");
  } catch {
    // Already gone.
  }
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch {
      // Already gone.
    }
  }, 5000);
  await child.status;
  clearTimeout(timer);
}

/** The arguments that make redis-server listen with TLS only on `port`. */
function tlsArgs(port: number, tls: RedisTlsFiles | undefined): string[] {
  if (tls === undefined) return ["--port", String(port)];
  return [
    ["--port", "0"],
    ["--tls-port", String(port)],
    ["--tls-cert-file", tls.certFile],
    ["--tls-key-file", tls.keyFile],
    ["--tls-ca-cert-file", tls.caFile],
    ["--tls-auth-clients", "no"],
  ].flat();
}

async function spawn(port: number, args: string[]): Promise<Deno.ChildProcess> {
  const child = new Deno.Command("redis-server", {
    args: [
      "--bind",
      "127.0.0.1",
      "--save",
      "",
      "--appendonly",
      "no",
      "--loglevel",
      "warning",
      ...args,
    ],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    try {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      conn.close();
      return child;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  child.kill("SIGKILL");
  await child.status;
  throw new Error(`redis-server did not start on port ${port}`);
}

/** One command on a new connection, after AUTH with `options.auth` when given. */
async function runCommand(
  port: number,
  options: RedisOptions,
  command: string[],
): Promise<RespReply> {
  const conn = options.tls === undefined
    ? await Deno.connect({ hostname: "127.0.0.1", port })
    : await Deno.connectTls({
      hostname: "127.0.0.1",
      port,
      caCerts: [await Deno.readTextFile(options.tls.caFile)],
    });
  try {
    const { auth } = options;
    const commands = auth === undefined ? [command] : [
      ["AUTH", ...auth.username === undefined ? [] : [auth.username], auth.password],
      command,
    ];
    const encoder = new TextEncoder();
    let request = encoder.encode(commands.map(encodeCommand).join(""));
    while (request.length > 0) request = request.subarray(await conn.write(request));
    const replies = await readReplies(conn, commands.length);
    for (const reply of replies) if (reply instanceof RedisReplyError) throw reply;
    return replies[replies.length - 1] as RespReply;
  } finally {
    conn.close();
  }
}

function encodeCommand(args: string[]): string {
  const bulk = args.map((arg) => `$${new TextEncoder().encode(arg).length}\r\n${arg}\r\n`);
  return `*${args.length}\r\n${bulk.join("")}`;
}

/** Reads `count` whole replies from `conn`. */
async function readReplies(
  conn: Deno.Conn,
  count: number,
): Promise<(RespReply | RedisReplyError)[]> {
  let buffer = new Uint8Array(0);
  const chunk = new Uint8Array(65536);
  for (;;) {
    const replies: (RespReply | RedisReplyError)[] = [];
    let offset = 0;
    while (replies.length < count) {
      const parsed = parseReply(buffer, offset);
      if (parsed === undefined) break;
      replies.push(parsed.value);
      offset = parsed.end;
    }
    if (replies.length === count) return replies;
    const read = await conn.read(chunk);
    if (read === null) throw new Error("redis-server closed the connection mid-reply");
    const grown = new Uint8Array(buffer.length + read);
    grown.set(buffer);
    grown.set(chunk.subarray(0, read), buffer.length);
    buffer = grown;
  }
}

/** The RESP2 reply starting at `offset`, or undefined when `bytes` does not hold all of it yet. */
function parseReply(
  bytes: Uint8Array,
  offset: number,
): { value: RespReply | RedisReplyError; end: number } | undefined {
  const lineEnd = bytes.indexOf(0x0a, offset);
  if (lineEnd < 0) return undefined;
  const line = new TextDecoder().decode(bytes.subarray(offset + 1, lineEnd - 1));
  const next = lineEnd + 1;
  switch (String.fromCharCode(bytes[offset])) {
    case "+":
      return { value: line, end: next };
    case "-":
      return { value: new RedisReplyError(line), end: next };
    case ":":
      return { value: Number(line), end: next };
    case "$": {
      const length = Number(line);
      if (length < 0) return { value: null, end: next };
      if (bytes.length < next + length + 2) return undefined;
      const text = new TextDecoder().decode(bytes.subarray(next, next + length));
      return { value: text, end: next + length + 2 };
    }
    case "*": {
      const length = Number(line);
      if (length < 0) return { value: null, end: next };
      const items: RespReply[] = [];
      let end = next;
      for (let i = 0; i < length; i++) {
        const item = parseReply(bytes, end);
        if (item === undefined) return undefined;
        if (item.value instanceof RedisReplyError) throw item.value;
        items.push(item.value);
        end = item.end;
      }
      return { value: items, end };
    }
    default:
      throw new Error(`unexpected RESP reply: ${JSON.stringify(line)}`);
  }
}

/**
 * Makes a throwaway CA and a server certificate it signs, for 127.0.0.1 and
 * localhost (EC P-256, valid two days), with `openssl` into `dir`. The
 * certificate serves as a client's too: nodes of a cluster over TLS present
 * it to each other on the cluster bus, which always asks for one.
 */
export async function makeTestCertificates(dir: string): Promise<RedisTlsFiles> {
  const files = {
    caFile: `${dir}/ca.pem`,
    certFile: `${dir}/redis.pem`,
    keyFile: `${dir}/redis.key`,
  };
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  await openssl(["req", "-x509", ...ec, "-keyout", `${dir}/ca.key`, "-out", files.caFile].concat(
    ["-days", "2", "-subj", "/CN=secshrnet test CA"],
    ["-addext", "basicConstraints=critical,CA:TRUE"],
    ["-addext", "keyUsage=critical,keyCertSign,cRLSign"],
  ));
  await openssl(["req", ...ec, "-keyout", files.keyFile, "-out", `${dir}/redis.csr`].concat(
    ["-subj", "/CN=localhost"],
  ));
  await Deno.writeTextFile(
    `${dir}/redis.ext`,
    "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n" +
      "extendedKeyUsage=serverAuth,clientAuth\n",
  );
  await openssl(["x509", "-req", "-in", `${dir}/redis.csr`, "-CA", files.caFile].concat(
    ["-CAkey", `${dir}/ca.key`, "-CAcreateserial", "-out", files.certFile, "-days", "2"],
    ["-extfile", `${dir}/redis.ext`],
  ));
  return files;
}

async function openssl(args: string[]): Promise<void> {
  const { success, stderr } = await new Deno.Command("openssl", {
    args,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!success) {
    throw new Error(`openssl ${args[0]} failed: ${new TextDecoder().decode(stderr).trim()}`);
  }
}
