/** encodeTag: which tag names are accepted, their UTF-8 bytes, and the errors for the rest. */

import { encodeTag, MAX_TAG_BYTES } from "../core/tag.ts";
import { SecshrnetError, UsageError } from "../core/errors.ts";
import { assert, assertEquals, assertThrows } from "./assert.ts";

const utf8 = (text: string) => new TextEncoder().encode(text);

Deno.test("tag: path-like, dotted and unicode names are accepted as their UTF-8 bytes", () => {
  const accepted = [
    "a",
    "/",
    ".",
    "..",
    "a/../b",
    "/etc/passwd",
    "C:\\Windows",
    " leading and trailing spaces ",
    "tab-free but with ~!@#$%^&*()[]{}<>?|'\"`",
    "🔐 secrets 🗝️",
    "秘密の書類",
    "비밀",
    "Ünïcödé — dash",
    "\u00a0nbsp", // U+00A0 is past the C1 range
    "\u2028line separator", // not a C0/C1 control
    "e\u0301", // combining mark, not normalised
  ];
  for (const tag of accepted) {
    const bytes = encodeTag(tag);
    assertEquals(bytes, utf8(tag), JSON.stringify(tag));
    assertEquals(new TextDecoder().decode(bytes), tag);
  }
  assertEquals(encodeTag("🔐"), new Uint8Array([0xf0, 0x9f, 0x94, 0x90]));
  assertEquals(encodeTag("秘"), new Uint8Array([0xe7, 0xa7, 0x98]));
  // Names are not normalised: NFC and NFD spellings are different tags.
  assert(encodeTag("\u00e9").length !== encodeTag("e\u0301").length);
});

Deno.test("tag: exactly MAX_TAG_BYTES (4096) bytes is accepted, one more is refused", () => {
  assertEquals(MAX_TAG_BYTES, 4096);
  assertEquals(encodeTag("x".repeat(4096)).length, 4096);
  // Multi-byte characters count in bytes, not code units: 1024 × 4-byte emoji = 4096 bytes.
  assertEquals(encodeTag("🔐".repeat(1024)).length, 4096);
  assertEquals(encodeTag("秘".repeat(1365) + "a").length, 4096);
  assertThrows(() => encodeTag("x".repeat(4097)), UsageError, "4097 bytes long; the limit is 4096");
  assertThrows(() => encodeTag("🔐".repeat(1024) + "a"), UsageError, "4097 bytes");
  // 2048 code units but 4098 bytes.
  assertThrows(() => encodeTag("秘".repeat(1366)), UsageError, "4098 bytes");
  assertThrows(() => encodeTag("x".repeat(100_000)), UsageError, "the limit is 4096");
});

Deno.test("tag: empty, control characters and lone surrogates are refused with a UsageError", () => {
  const refused: [string, string][] = [
    ["", "tag is empty"],
    ["a\u0000b", "control character U+0000"],
    ["\u0000", "control character U+0000"],
    ["line\nbreak", "control character U+000a"],
    ["cr\r", "control character U+000d"],
    ["tab\there", "control character U+0009"],
    ["\u001b[31mred", "control character U+001b"],
    ["del\u007f", "control character U+007f"],
    ["nel\u0085", "control character U+0085"],
    ["c1 end\u009f", "control character U+009f"],
    ["lone \ud800 high", "not well-formed Unicode"],
    ["lone \udc00 low", "not well-formed Unicode"],
    ["swapped \udc00\ud800", "not well-formed Unicode"],
    ["\ud83d", "not well-formed Unicode"],
  ];
  for (const [tag, message] of refused) {
    const error = assertThrows(() => encodeTag(tag), UsageError, message);
    assert(error instanceof SecshrnetError, JSON.stringify(tag));
    assertEquals(error.code, "usage", JSON.stringify(tag));
    assertEquals(error.name, "UsageError");
    assert(error.message.startsWith("tag "), `message should name the tag: ${error.message}`);
  }
});

Deno.test("tag: a control character is refused wherever it is, even in a long tag", () => {
  for (const position of [0, 1, 2000, 4000]) {
    const tag = "a".repeat(position) + "\u0007" + "b".repeat(4000 - position);
    assertThrows(() => encodeTag(tag), UsageError, "U+0007");
  }
  // An over-long tag with a control character still fails as a UsageError.
  assertThrows(() => encodeTag("a".repeat(5000) + "\n"), UsageError);
});
