/**
 * Field-by-field validation of message bodies. Each reader returns the field
 * typed, or throws a {@linkcode ProtocolError} naming the field.
 *
 * @module
 */

import { ProtocolError } from "./envelope.ts";

type Body = Record<string, unknown>;

/** A string field of at most `maxLength` characters. */
export function stringField(body: Body, name: string, maxLength = 4096): string {
  const value = body[name];
  if (typeof value !== "string" || value.length > maxLength) {
    throw new ProtocolError(`field ${name} must be a string of at most ${maxLength} characters`);
  }
  return value;
}

/** A byte field, of exactly `length` bytes when given, else at most `maxLength`. */
export function bytesField(
  body: Body,
  name: string,
  length?: number,
  maxLength = Infinity,
): Uint8Array {
  const value = body[name];
  if (!(value instanceof Uint8Array)) throw new ProtocolError(`field ${name} must be bytes`);
  if (length !== undefined && value.length !== length) {
    throw new ProtocolError(`field ${name} must be ${length} bytes`);
  }
  if (value.length > maxLength) throw new ProtocolError(`field ${name} is too long`);
  return value;
}

/** A non-negative integer field no larger than `max`. */
export function uintField(body: Body, name: string, max = Number.MAX_SAFE_INTEGER): number {
  const value = body[name];
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0 || value > max) {
    throw new ProtocolError(`field ${name} must be an integer from 0 to ${max}`);
  }
  return value;
}

/** An array field of at most `maxLength` entries, each checked by `item`. */
export function arrayField<T>(
  body: Body,
  name: string,
  maxLength: number,
  item: (value: unknown, index: number) => T,
): T[] {
  const value = body[name];
  if (!Array.isArray(value) || value.length > maxLength) {
    throw new ProtocolError(`field ${name} must be a list of at most ${maxLength} entries`);
  }
  return value.map(item);
}

/** `value` as a body map, for nested entries. */
export function mapValue(value: unknown, what: string): Body {
  if (
    typeof value !== "object" || value === null || Array.isArray(value) ||
    value instanceof Uint8Array
  ) {
    throw new ProtocolError(`${what} must be a map`);
  }
  return value as Body;
}
