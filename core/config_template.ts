/**
 * The file `secshrnet config init` writes: the settings of secshrnet.example.toml, each
 * commented out with its default and explained, except the Redis URL and the network name
 * when they are given, which are set. tests/cli_config_command_test.ts checks that the
 * settings stay the same text as secshrnet.example.toml's.
 *
 * @module
 */

/** What `config init` sets; a value left undefined stays commented out at its default. */
export interface TemplateValues {
  /** `[redis] url`, as given (checked by the caller with parseConfig). */
  readonly redisUrl?: string;
  /** `[network] name`. */
  readonly network?: string;
}

const HEADER = `# secshrnet configuration (TOML), written by 'secshrnet config init'.
#
# Every key is optional: each one commented out below shows its default. 'secshrnet config'
# shows the settings in effect and where they come from. Unknown tables or keys, and values
# of the wrong type, are errors that name the file and the key. The Redis URL may hold a
# password: keep this file readable by its user alone (mode 0600).

`;

/** The settings, as in secshrnet.example.toml. */
const SETTINGS = `[redis]
# How to reach Redis. Give EITHER \`url\`, OR host/port/username/password/tls, OR sentinels,
# OR cluster (below); never two of them. The environment variable SECSHRNET_REDIS_URL, when set and
# non-empty, replaces what is given here with that one node (ca_file and
# tls_reject_unauthorized below still apply).

# Full URL: redis://[username:password@]host[:port][/db], or rediss://... for TLS.
# Percent-encode special characters in the username and password (write "%" as "%25",
# "@" as "%40", ":" in a password as "%3A"). No query (?...) or fragment (#...).
# url = "redis://127.0.0.1:6379"

# The same, key by key (the URL is built and percent-encoded for you):
# host = "127.0.0.1"        # host name or IP address; IPv6 as "::1"
# port = 6379               # integer from 1 to 65535
# username = ""             # Redis 6+ ACL user; unset = none
# password = ""             # unset = none
# tls = false               # true = connect with TLS (rediss://)

# Redis Sentinel instead of one node (docs/REDIS.md, "Sentinel"): the sentinels name the
# current master of the group master_name, and every host follows a failover by itself.
# username, password and tls then apply to the master and its replicas, and
# sentinel_password is the sentinels' own password, if they have one.
# sentinels = ["10.0.0.1:26379", "10.0.0.2:26379", "10.0.0.3:26379"]
# master_name = "secshrnet"
# sentinel_password = ""

# A Redis Cluster instead (Redis 7.0+; docs/REDIS.md, "Cluster"): some of its nodes, the
# rest are found through them. Hosts then use sharded pub/sub (SSUBSCRIBE/SPUBLISH): each
# host's channel lives on the master that owns its slot, so traffic is spread over the
# masters. username, password and tls apply to every node.
# cluster = ["10.0.0.1:7000", "10.0.0.2:7000", "10.0.0.3:7000"]

# TLS settings, allowed only when TLS is on (a rediss:// url, or tls = true):
# ca_file = "ca.pem"                # PEM CA certificate to trust instead of the system's;
#                                   # relative paths are taken beside this file; unset = system CAs
# tls_reject_unauthorized = true    # false accepts any server certificate (testing only)

[network]
# The network's name: every Redis channel name starts with it, so clients and servers
# meet only when they use the same name. 1 to 64 characters from A-Z a-z 0-9 . _ -
# name = "secshrnet"

[client]
# How long put, get and rm wait for a server that stays online but goes silent (hung):
# one that sends or acknowledges nothing for this many seconds in a transfer, or does not
# answer a request within it, is given up and named, and the command finishes with the
# others. An integer from 1 to 86400; --timeout SECONDS overrides it for one command.
# timeout = 20

# How many threads (Web Workers) put, get, repair and check --verify use to encrypt,
# decrypt and erasure-code the segments of a big file: more use more cores and go faster,
# up to the number of cores; the bytes stored are the same for every value. 0 keeps it all
# on one thread (e.g. on a shared machine). An integer from 0 to 64; unset = one per core;
# --workers N overrides it for one command.
# workers = 4               # an example: the default is one per core

[server]
# How long an upload may receive nothing before the server drops it (a client that died
# or hung): its partial share is deleted and was never visible. An integer from 1 to
# 86400 seconds; keep it above the clients' timeout, since a client commits its uploads
# together and a finished one waits while the client gives up on a hung server.
# upload_timeout = 60

# Storage limits of \`secshrnet serve\`; unset = no limit. A positive number of bytes, or a
# string with a unit: B, KB, MB, GB, TB (powers of 1000) or KiB, MiB, GiB, TiB (powers of
# 1024), any case, space optional, decimals allowed ("1.5 GiB"). max_object_bytes may not
# exceed max_total_bytes.
# max_object_bytes = "4 GiB"    # largest single object this server accepts (default: no limit)
# max_total_bytes = "100 GiB"   # total stored on this server (default: no limit)

# The scrub: the server re-reads every share it stores in the background and compares it
# with the checksums written when it was stored; a share that no longer matches is marked
# damaged, which \`secshrnet check\` reports and \`secshrnet repair\` replaces. No password is
# needed. scrub_rate is the most bytes read per second: a number, or a size like "4 MiB"
# (units as above, "/s" optional); 0 turns the scrub off. scrub_interval is the pause in
# seconds from the end of one pass to the start of the next (1 to 2592000); the first pass
# starts when the server starts.
# scrub_rate = "4 MiB"
# scrub_interval = 3600

# The server log. log is a file name, relative to the root, or "-" to log to stderr only
# (for journald under systemd); default "secshrnetd.log" in the root, written to stderr too.
# The file is rotated when it reaches log_max_bytes (a size as above; 0 = never, for
# logrotate): secshrnetd.log becomes secshrnetd.log.1, and log_keep (1 to 100) rotated files
# are kept. SIGHUP makes the server reopen the file, as logrotate expects.
# log = "secshrnetd.log"
# log_max_bytes = "10 MiB"
# log_keep = 3

[kdf]
# scrypt work factor for new objects, as log2 N: an integer from 10 to 30. scrypt needs
# 2^(log_n + 10) bytes of memory (20 = 1 GiB), and each step up doubles the time and memory
# that opening, and every password guess, costs. Objects above 22 must be opened with a
# raised limit.
# log_n = 20

# The lowest work factor this client acts on, as log2 N (10 to 30, not above log_n). A
# header is a claim any server can forge: one with a cheap work factor would make every
# password guess cheap. Below this floor the client derives no key and signs nothing, and
# says which value to set for an object you stored cheaper on purpose (--log-n).
# min_log_n = 16
`;

/** The commented-out default that a given value replaces, by what it sets. */
const DEFAULT_LINES = {
  redisUrl: { line: '# url = "redis://127.0.0.1:6379"', key: "url" },
  network: { line: '# name = "secshrnet"', key: "name" },
} as const;

/** The config text with `values` set and everything else commented out at its default. */
export function configTemplate(values: TemplateValues = {}): string {
  let settings = SETTINGS;
  for (const [field, { line, key }] of Object.entries(DEFAULT_LINES)) {
    const value = values[field as keyof TemplateValues];
    if (value === undefined) continue;
    const at = settings.indexOf(`\n${line}\n`);
    if (at < 0) throw new Error(`config template: no line ${line}`);
    const set = `${key} = ${tomlString(value)}`;
    settings = settings.slice(0, at + 1) + set + settings.slice(at + 1 + line.length);
  }
  return HEADER + settings;
}

/** The short escapes of TOML basic strings. */
const SHORT_ESCAPES: Record<string, string> = {
  '"': '\\"',
  "\\": "\\\\",
  "\n": "\\n",
  "\t": "\\t",
};

/**
 * `value` as a TOML basic string: quoted, with the quote, the backslash and every control
 * character (DEL too) escaped, as TOML requires.
 */
export function tomlString(value: string): string {
  const escaped = value.replace(
    // deno-lint-ignore no-control-regex
    /["\\\x00-\x1f\x7f]/g,
    (c) => SHORT_ESCAPES[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
  return `"${escaped}"`;
}
