/**
 * A client's presence on the network: a {@linkcode Host} in the client role
 * plus the routing of incoming transfer messages (download data, upload acks
 * and resets) to the transfer they belong to.
 *
 * @module
 */

import { NetworkUnavailableError } from "../errors.ts";
import type { Address } from "../net/envelope.ts";
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

/** A connected client. */
export class Client {
  /** The underlying host. */
  readonly host: Host;
  /** Timeouts in force. */
  readonly timeouts: ClientTimeouts;
  readonly #downloads = new Map<string, IncomingShare>();
  readonly #uploads = new Map<string, WindowedSender>();

  private constructor(host: Host, timeouts: ClientTimeouts) {
    this.host = host;
    this.timeouts = timeouts;
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

  /** Connects to Redis; throws a NetworkUnavailableError naming the URL when it cannot. */
  static async connect(
    options: Omit<HostOptions, "role">,
    timeouts: Partial<ClientTimeouts> = {},
  ): Promise<Client> {
    try {
      const host = await Host.connect({ ...options, role: "client" });
      return new Client(host, { ...DEFAULT_TIMEOUTS, ...timeouts });
    } catch (error) {
      if (error instanceof NetworkError) throw new NetworkUnavailableError(error.message);
      throw error;
    }
  }

  /** The servers online now; throws a NetworkUnavailableError when there are none. */
  async servers(): Promise<Address[]> {
    const servers = await this.host.servers();
    if (servers.length === 0) {
      throw new NetworkUnavailableError(
        `no servers online on network ${this.host.network}; start some with 'secshrnet serve'`,
      );
    }
    return servers;
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
   * asked for, so no chunk can arrive unannounced. Call `setSize` with the
   * length from the server's reply, or `abort` if the request fails.
   */
  download(server: Address): { id: string; incoming: IncomingShare } {
    const id = toHex(randomBytes(8));
    const incoming = new IncomingShare(
      this.host,
      server,
      id,
      this.timeouts.transferIdleMs,
      () => this.#downloads.delete(id),
    );
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
