/**
 * Host identities and the keys that authenticate every message on the bus
 * (docs/PROTOCOL.md, "Authenticated envelopes").
 *
 * Each host holds an X25519 key pair; its id is the hex of its public key, so
 * an address such as `server:<64 hex>` names the key that must stand behind
 * it. Two hosts share a MAC key derived by X25519 and HKDF-SHA-256 (Web
 * Crypto), and every envelope between them carries an HMAC-SHA-256 under it.
 * A host that does not hold the private key of an address can therefore
 * neither send as it nor read its MAC keys, even though it sees and can
 * publish on every channel.
 *
 * @module
 */

import { concat, fromHex, toHex, webBytes } from "../bytes.ts";

/** Length of a host id in hex digits (a 32-byte X25519 public key). */
export const HOST_ID_HEX_LENGTH = 64;
/** HKDF info prefix of the pairwise MAC key. */
const MAC_KEY_LABEL = new TextEncoder().encode("secshrnet/2 bus mac\0");
/** Most peers whose MAC keys are cached. */
const PEER_CACHE_LIMIT = 4096;

/** A host's X25519 key pair and the id derived from it. */
export class Identity {
  /** The raw 32-byte public key. */
  readonly publicKey: Uint8Array;
  /** The public key in lower-case hex: the host id. */
  readonly id: string;
  readonly #privateKey: CryptoKey;

  private constructor(privateKey: CryptoKey, publicKey: Uint8Array) {
    this.#privateKey = privateKey;
    this.publicKey = publicKey;
    this.id = toHex(publicKey);
  }

  /** A fresh random identity. */
  static async generate(): Promise<Identity> {
    const pair = await crypto.subtle.generateKey({ name: "X25519" }, true, [
      "deriveBits",
    ]) as CryptoKeyPair;
    const publicKey = new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey));
    return new Identity(pair.privateKey, publicKey);
  }

  /** The identity stored as a PKCS #8 private key; throws on anything else. */
  static async fromPkcs8(bytes: Uint8Array): Promise<Identity> {
    const privateKey = await crypto.subtle.importKey(
      "pkcs8",
      webBytes(bytes),
      { name: "X25519" },
      true,
      [
        "deriveBits",
      ],
    );
    const jwk = await crypto.subtle.exportKey("jwk", privateKey);
    if (typeof jwk.x !== "string") throw new Error("the key has no public part");
    const publicKey = Uint8Array.from(
      atob(jwk.x.replace(/-/g, "+").replace(/_/g, "/")),
      (c) => c.charCodeAt(0),
    );
    return new Identity(privateKey, publicKey);
  }

  /** The private key as PKCS #8 bytes, for storing. */
  async pkcs8(): Promise<Uint8Array> {
    return new Uint8Array(await crypto.subtle.exportKey("pkcs8", this.#privateKey));
  }

  /** The X25519 shared secret with the holder of `peerPublicKey`; throws for a low-order key. */
  async sharedSecret(peerPublicKey: Uint8Array): Promise<Uint8Array> {
    const peer = await crypto.subtle.importKey(
      "raw",
      webBytes(peerPublicKey),
      { name: "X25519" },
      false,
      [],
    );
    const secret = new Uint8Array(
      await crypto.subtle.deriveBits({ name: "X25519", public: peer }, this.#privateKey, 256),
    );
    if (secret.every((byte) => byte === 0)) throw new Error("low-order public key");
    return secret;
  }
}

/**
 * The MAC keys this host shares with its peers, derived on first use and
 * cached (least recently used dropped beyond a few thousand peers).
 */
export class PeerKeys {
  readonly #identity: Identity;
  readonly #cache = new Map<string, Promise<CryptoKey>>();

  constructor(identity: Identity) {
    this.#identity = identity;
  }

  /** The HMAC-SHA-256 key shared with the host whose id is `peerId`; rejects for an unusable id. */
  macKey(peerId: string): Promise<CryptoKey> {
    const cached = this.#cache.get(peerId);
    if (cached !== undefined) {
      this.#cache.delete(peerId);
      this.#cache.set(peerId, cached);
      return cached;
    }
    const derived = this.#derive(peerId);
    this.#cache.set(peerId, derived);
    derived.catch(() => this.#cache.delete(peerId));
    if (this.#cache.size > PEER_CACHE_LIMIT) {
      this.#cache.delete(this.#cache.keys().next().value!);
    }
    return derived;
  }

  async #derive(peerId: string): Promise<CryptoKey> {
    const peer = fromHex(peerId);
    if (peer.length !== 32) throw new Error("a host id is a 32-byte public key");
    const secret = await this.#identity.sharedSecret(peer);
    const own = this.#identity.publicKey;
    const [low, high] = toHex(own) < peerId ? [own, peer] : [peer, own];
    const ikm = await crypto.subtle.importKey("raw", webBytes(secret), "HKDF", false, [
      "deriveKey",
    ]);
    return await crypto.subtle.deriveKey(
      {
        name: "HKDF",
        hash: "SHA-256",
        salt: new Uint8Array(0),
        info: concat(MAC_KEY_LABEL, low, high),
      },
      ikm,
      { name: "HMAC", hash: "SHA-256", length: 256 },
      false,
      ["sign", "verify"],
    );
  }
}
