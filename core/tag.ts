/**
 * Tags: the flat, user-chosen names objects are stored under.
 *
 * @module
 */

import { UsageError } from "./errors.ts";
import { utf8 } from "./bytes.ts";

/** Longest tag accepted, in UTF-8 bytes. */
export const MAX_TAG_BYTES = 4096;

/**
 * Returns the UTF-8 bytes of `tag`, or throws a {@linkcode UsageError} when
 * the tag is empty, longer than {@linkcode MAX_TAG_BYTES}, not well-formed
 * Unicode, or holds a control character (NUL, newline, escape, ...).
 * Slashes, dots and any other printable character are allowed: a tag is a
 * name, never a path, and servers store it under a hash.
 */
export function encodeTag(tag: string): Uint8Array {
  if (tag.length === 0) throw new UsageError("tag is empty");
  if (!tag.isWellFormed()) throw new UsageError("tag is not well-formed Unicode");
  // deno-lint-ignore no-control-regex
  const control = /[\u0000-\u001f\u007f-\u009f]/.exec(tag);
  if (control) {
    const code = control[0].charCodeAt(0).toString(16).padStart(4, "0");
    throw new UsageError(`tag contains control character U+${code}`);
  }
  const bytes = utf8(tag);
  if (bytes.length > MAX_TAG_BYTES) {
    throw new UsageError(`tag is ${bytes.length} bytes long; the limit is ${MAX_TAG_BYTES}`);
  }
  return bytes;
}
