/**
 * The wire envelope: every message on a secshrnet channel is one msgpack map
 * followed by a 32-byte MAC
 *
 * ```text
 * { v: 3, t: type, f: sender, d: recipient, i: message id, r?: id replied to, b: body } ‖ mac
 * ```
 *
 * validated field by field before anything else looks at it. The MAC (made
 * and checked by the Host, see `identity.ts`) covers the map's bytes exactly
 * as sent. Byte fields of the body stay zero-copy views into the received
 * buffer (copy what you keep).
 *
 * @module
 */

import { decode, Encoder } from "@msgpack/msgpack";
import { checkShape, type ShapeLimits } from "./shape.ts";

/** Protocol version carried in every envelope. */
export const PROTOCOL_VERSION = 4;
/**
 * Shape every message must keep to before it is decoded: no message needs
 * more than 8 levels or 10,000 values (a full `list` page is about 1,000).
 */
export const SHAPE_LIMITS: ShapeLimits = { maxDepth: 8, maxValues: 10_000 };
/** Length of the MAC that follows the map. */
export const MAC_LENGTH = 32;
/** Largest encoded envelope accepted or sent (a fragment frame is at most 1 MiB + 64). */
export const MAX_MESSAGE_BYTES = 2 * 2 ** 20;

/**
 * A host's address: its role and id (its X25519 public key in hex), e.g.
 * `server:3f9a…`. Channel = `<network>:<address>`.
 */
export type Address = `server:${string}` | `client:${string}`;

/** A decoded, validated message. */
export interface Envelope {
  /** Message type, e.g. `info`, `put-data`, `reply`. */
  readonly type: string;
  /** The sender's address. */
  readonly from: Address;
  /** The recipient's address. */
  readonly to: Address;
  /** The sender's id for this message (unique per sender, increasing). */
  readonly id: number;
  /** The id of the request this message answers, if it is a reply. */
  readonly replyTo?: number;
  /** Type-specific fields; validate before use. */
  readonly body: Record<string, unknown>;
}

/** Raised for any message that does not decode or validate. */
export class ProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ProtocolError";
  }
}

const ADDRESS = /^(server|client):[0-9a-f]{64}$/;
const TYPE = /^[a-z][a-z-]{0,31}$/;

/**
 * A host as people see it in messages: the first 16 hex digits of its id
 * (`server:3f9a…` → `3f9a…`); anything else unchanged.
 */
export function displayName(address: string): string {
  const match = /^(?:server|client):([0-9a-f]{16})[0-9a-f]*$/.exec(address);
  return match === null ? address : match[1];
}

/** Whether `value` is a well-formed host address. */
export function isAddress(value: unknown): value is Address {
  return typeof value === "string" && ADDRESS.test(value);
}

// One encoder with a buffer as large as any message, so encoding never regrows it.
const encoder = new Encoder({ ignoreUndefined: true, initialBufferSize: MAX_MESSAGE_BYTES + 1024 });

/**
 * Encodes an envelope into a new buffer (or one from `allocate`, whatever it
 * holds) with {@linkcode MAC_LENGTH} zero bytes at the end for the MAC;
 * throws a ProtocolError when it exceeds {@linkcode MAX_MESSAGE_BYTES}.
 */
export function encodeEnvelope(
  envelope: Envelope,
  allocate: (length: number) => Uint8Array<ArrayBuffer> = (length) => new Uint8Array(length),
): Uint8Array<ArrayBuffer> {
  const map: Record<string, unknown> = {
    v: PROTOCOL_VERSION,
    t: envelope.type,
    f: envelope.from,
    d: envelope.to,
    i: envelope.id,
    b: envelope.body,
  };
  if (envelope.replyTo !== undefined) map.r = envelope.replyTo;
  const encoded = encoder.encodeSharedRef(map);
  const length = encoded.length + MAC_LENGTH;
  if (length > MAX_MESSAGE_BYTES) {
    throw new ProtocolError(`message of ${length} bytes exceeds ${MAX_MESSAGE_BYTES}`);
  }
  const bytes = allocate(length);
  bytes.set(encoded);
  bytes.fill(0, encoded.length);
  return bytes;
}

/** The part of an encoded message its MAC covers (a view). */
export function macedPart<T extends ArrayBufferLike>(message: Uint8Array<T>): Uint8Array<T> {
  return message.subarray(0, message.length - MAC_LENGTH);
}

/** The MAC of an encoded message (a view). */
export function macOf<T extends ArrayBufferLike>(message: Uint8Array<T>): Uint8Array<T> {
  return message.subarray(message.length - MAC_LENGTH);
}

/**
 * Decodes and validates an envelope (the MAC is not checked here); throws a
 * ProtocolError saying what is wrong.
 */
export function decodeEnvelope(message: Uint8Array): Envelope {
  if (message.length > MAX_MESSAGE_BYTES) throw new ProtocolError("message too large");
  if (message.length <= MAC_LENGTH) throw new ProtocolError("message too short");
  const bytes = macedPart(message);
  let value: unknown;
  try {
    checkShape(bytes, SHAPE_LIMITS);
    value = decode(bytes, {
      maxStrLength: 65536,
      maxBinLength: MAX_MESSAGE_BYTES,
      maxArrayLength: 1000,
      maxMapLength: 64,
    });
  } catch (error) {
    throw new ProtocolError(`undecodable message: ${(error as Error).message}`);
  }
  if (!isPlainObject(value)) throw new ProtocolError("message is not a map");
  const { v, t, f, d, i, r, b } = value;
  if (v !== PROTOCOL_VERSION) throw new ProtocolError(`unsupported protocol version ${String(v)}`);
  if (typeof t !== "string" || !TYPE.test(t)) throw new ProtocolError("bad message type");
  if (!isAddress(f)) throw new ProtocolError("bad sender address");
  if (!isAddress(d)) throw new ProtocolError("bad recipient address");
  if (!isUint32(i)) throw new ProtocolError("bad message id");
  if (r !== undefined && !isUint32(r)) throw new ProtocolError("bad reply id");
  if (!isPlainObject(b)) throw new ProtocolError("body is not a map");
  for (const key of Object.keys(value)) {
    if (!["v", "t", "f", "d", "i", "r", "b"].includes(key)) {
      throw new ProtocolError(`unknown field ${key}`);
    }
  }
  return { type: t, from: f, to: d, id: i, replyTo: r, body: b };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) &&
    !(value instanceof Uint8Array);
}

function isUint32(value: unknown): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= 0 && value <= 0xffffffff;
}
