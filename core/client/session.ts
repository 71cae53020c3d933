/**
 * A client's presence on the network: a {@linkcode Host} in the client role
 * plus the routing of incoming transfer messages (download data, upload acks
 * and resets) to the transfer they belong to.
 *
 * @module
 */

import { NetworkUnavailableError } from "../errors.ts";
import { type Address, displayName } from "../net/envelope.ts";
import { bytesField, stringField, uintField } from "../net/fields.ts";
import { Host, type HostOptions, NetworkError, RemoteError } from "../net/host.ts";
import { WindowedSender, type WindowOptions } from "../net/transfer.ts";
import { IncomingShare } from "./incoming.ts";
import { randomBytes, toHex } from "../bytes.ts";
import { type AccessKeys, type AccessOp, NONCE_LENGTH, proveAccess } from "../access.ts";

/**
 * A password, or a function that asks for it. Operations ask only once they
 * know they will need it (the tag exists, enough servers hold it), so a user
 * is not made to type a password for an operation bound to fail.
 */
export type PasswordInput = string | (() => Promise<string>);

/** The password `input` gives. */
export async function resolvePassword(input: PasswordInput): Promise<string> {
  return typeof input === "string" ? input : await input();
}

/** Timeouts of client operations. */
export interface ClientTimeouts {
  /** Per request attempt; default 3 s, three attempts. */
  requestMs: number;
  /** A server that sends or acknowledges nothing for this long is given up; default 20 s. */
  transferIdleMs: number;
}

/** Default client timeouts. */
export const DEFAULT_TIMEOUTS: ClientTimeouts = { requestMs: 3000, transferIdleMs: 20_000 };

/**
 * The servers a client uses (like SSH's known_hosts): their ids, and where
 * the list came from, for messages.
 */
export interface TrustedServers {
  /** Server ids (64 hex digits) the user has pinned. */
  readonly ids: ReadonlySet<string>;
  /** Where the list is kept, named when it is empty (e.g. a file path). */
  readonly source?: string;
}

/** The online servers as a client sees them, split by trust. */
export interface Membership {
  /** Trusted servers subscribed now: the only ones data commands use. */
  readonly trusted: Address[];
  /** Subscribed servers nobody trusted: never used, only listed. */
  readonly untrusted: Address[];
  /** Trusted server ids with no subscriber now. */
  readonly offline: string[];
}

/** The object and operation a signed request proves access to. */
export interface ProofFor {
  readonly keys: AccessKeys;
  readonly op: AccessOp;
  readonly objectId: Uint8Array;
  readonly tag: string;
}

/** A connected client. */
export class Client {
  /** The underlying host. */
  readonly host: Host;
  /** Timeouts in force. */
  readonly timeouts: ClientTimeouts;
  /** The servers this client may use. */
  get trusted(): TrustedServers {
    return this.#trusted;
  }
  #trusted: TrustedServers;
  readonly #downloads = new Map<string, IncomingShare>();
  readonly #uploads = new Map<string, WindowedSender>();

  private constructor(host: Host, timeouts: ClientTimeouts, trusted: TrustedServers) {
    this.host = host;
    this.timeouts = timeouts;
    this.#trusted = trusted;
    host.listen("get-data", (message) => {
      const id = stringField(message.body, "download", 16);
      const download = this.#downloads.get(id);
      if (download === undefined || download.server !== message.from) return;
      download.deliver(uintField(message.body, "seq"), bytesField(message.body, "data"));
    });
    host.listen("put-ack", (message) => {
      this.#uploads.get(stringField(message.body, "upload", 16))?.ack(
        uintField(message.body, "seq"),
      );
    });
    host.listen("put-reset", (message) => {
      const sender = this.#uploads.get(stringField(message.body, "upload", 16));
      const code = typeof message.body.code === "string" ? message.body.code : "reset";
      const text = typeof message.body.message === "string" ? message.body.message : code;
      sender?.fail(new RemoteError(message.from, code, text));
    });
    host.onReconnect(() => {
      for (const sender of this.#uploads.values()) sender.resend();
    });
  }

  /**
   * Connects to Redis as a client that uses only the `trusted` servers;
   * throws a NetworkUnavailableError naming the URL when it cannot.
   */
  static async connect(
    options: Omit<HostOptions, "role">,
    trusted: TrustedServers,
    timeouts: Partial<ClientTimeouts> = {},
  ): Promise<Client> {
    try {
      const host = await Host.connect({ ...options, role: "client" });
      return new Client(host, { ...DEFAULT_TIMEOUTS, ...timeouts }, trusted);
    } catch (error) {
      if (error instanceof NetworkError) throw new NetworkUnavailableError(error.message);
      throw error;
    }
  }

  /** The servers online now, trusted or not; throws a NetworkUnavailableError when there are none. */
  async servers(): Promise<Address[]> {
    const servers = await this.host.servers();
    if (servers.length === 0) throw this.noServersOnline();
    return servers;
  }

  /** The error for a network with no server online. */
  noServersOnline(): NetworkUnavailableError {
    return new NetworkUnavailableError(
      `no servers online on network ${this.host.network}; start some with 'secshrnet serve'`,
    );
  }

  /** Uses `trusted` from now on (the shell re-reads its trust file between commands). */
  useTrusted(trusted: TrustedServers): void {
    this.#trusted = trusted;
  }

  /** The online servers split by trust, and the trusted ones that are offline. */
  async membership(): Promise<Membership> {
    const online = await this.host.servers();
    const isTrusted = (server: Address) => this.trusted.ids.has(server.slice("server:".length));
    const seen = new Set(online.map((server) => server.slice("server:".length)));
    return {
      trusted: online.filter(isTrusted),
      untrusted: online.filter((server) => !isTrusted(server)),
      offline: [...this.trusted.ids].filter((id) => !seen.has(id)).sort(),
    };
  }

  /**
   * The trusted servers online now: the only servers put, get and rm use.
   * Throws a NetworkUnavailableError that says what to do when none is
   * trusted yet, or none of those trusted is online.
   */
  async trustedServers(): Promise<Address[]> {
    const { trusted, untrusted, offline } = await this.membership();
    if (trusted.length > 0) return trusted;
    if (this.trusted.ids.size === 0) {
      const where = this.trusted.source === undefined ? "" : ` (${this.trusted.source})`;
      if (untrusted.length === 0) {
        throw new NetworkUnavailableError(
          `no servers online on network ${this.host.network}, and none trusted yet${where}; ` +
            `start servers with 'secshrnet serve', then trust them with 'secshrnet trust --all'`,
        );
      }
      throw new NetworkUnavailableError(
        `no servers are trusted yet${where}; online now: ${
          untrusted.map(displayName).join(", ")
        }; check their ids and run 'secshrnet trust --all' or 'secshrnet trust ID...'`,
      );
    }
    const names = offline.map((id) => id.slice(0, 16)).join(", ");
    throw new NetworkUnavailableError(
      `none of the ${offline.length} trusted servers is online (${names}); start them with ` +
        `'secshrnet serve'` +
        (untrusted.length > 0 ? `, or trust others with 'secshrnet trust'` : ""),
    );
  }

  /** Sends request `type` to `server` with the client's timeouts. */
  async request(
    server: Address,
    type: string,
    body: Record<string, unknown>,
  ): Promise<Record<string, unknown>> {
    return await this.host.request(server, type, body, { timeoutMs: this.timeouts.requestMs });
  }

  /**
   * A fresh proof of `op` on object `objectId` of `tag` for `server`: asks it
   * for a single-use nonce and signs it (core/access.ts). Spread into the
   * request body.
   */
  async prove(
    server: Address,
    keys: AccessKeys,
    op: AccessOp,
    objectId: Uint8Array,
    tag: string,
  ): Promise<{ nonce: Uint8Array; proof: Uint8Array }> {
    const nonce = bytesField(await this.request(server, "challenge", {}), "nonce", NONCE_LENGTH)
      .slice();
    return { nonce, proof: await proveAccess(keys, op, nonce, objectId, tag) };
  }

  /**
   * Sends request `type` to `server` with a fresh proof of `access` spread
   * into its body. A nonce the server no longer knows (`expired`: it was
   * dropped, or outlived its minute) is asked for again once.
   */
  async requestWithProof(
    server: Address,
    type: string,
    body: Record<string, unknown>,
    access: ProofFor,
  ): Promise<Record<string, unknown>> {
    for (let attempt = 1;; attempt++) {
      const signed = await this.prove(server, access.keys, access.op, access.objectId, access.tag);
      try {
        return await this.request(server, type, { ...body, ...signed });
      } catch (error) {
        if (attempt >= 2 || !(error instanceof RemoteError && error.code === "expired")) {
          throw error;
        }
      }
    }
  }

  /** A sender for upload `id` to `server`, registered for acks until `release`. */
  uploadSender(server: Address, id: string, window: Partial<WindowOptions> = {}): WindowedSender {
    const sender = new WindowedSender(
      (seq, data) => this.host.send(server, "put-data", { upload: id, seq, data }),
      {
        giveUpAfterMs: this.timeouts.transferIdleMs,
        isPeerOnline: () => this.host.isOnline(server),
        ...window,
      },
    );
    this.#uploads.set(id, sender);
    return sender;
  }

  /** Forgets upload `id`. */
  releaseUpload(id: string): void {
    this.#uploads.get(id)?.close();
    this.#uploads.delete(id);
  }

  /**
   * Registers a new download from `server` under a fresh id, before it is
   * asked for, so no chunk can arrive unannounced. `windowBytes` is the
   * window asked for: a server that sends beyond it fails the download. Call
   * `setSize` with the length from the server's reply, or `abort` if the
   * request fails.
   */
  download(server: Address, windowBytes: number): { id: string; incoming: IncomingShare } {
    const id = toHex(randomBytes(8));
    const incoming = new IncomingShare(this.host, server, id, {
      idleTimeoutMs: this.timeouts.transferIdleMs,
      windowBytes,
      onEnd: () => this.#downloads.delete(id),
    });
    this.#downloads.set(id, incoming);
    return { id, incoming };
  }

  /** Leaves the network. */
  async close(): Promise<void> {
    for (const download of this.#downloads.values()) download.abort();
    for (const sender of this.#uploads.values()) sender.close();
    await this.host.close();
  }
}
