/**
 * What tests read from docs/REDIS.md itself, so that the doc's ACL users are
 * the ones tested: a section, its fenced blocks, and a user's rules.
 *
 * @module
 */

import { splitWords } from "../../cli/shell/words.ts";
import { assert, assertEquals } from "../assert.ts";

/** docs/REDIS.md. */
export const REDIS_DOC = new URL("../../docs/REDIS.md", import.meta.url);

/** The text of the `## ` section of `doc` whose heading starts with `heading`. */
function section(doc: string, heading: string): string {
  const start = doc.indexOf(`\n## ${heading}`);
  assert(start >= 0, `docs/REDIS.md has no section "## ${heading}"`);
  const end = doc.indexOf("\n## ", start + 1);
  return doc.slice(start, end < 0 ? undefined : end);
}

/** The contents of the fenced blocks of `text` in `language`, continuation lines joined. */
function blocks(text: string, language: string): string[] {
  const fence = new RegExp("^```" + language + "\\n([\\s\\S]*?)^```$", "gm");
  return [...text.matchAll(fence)].map((m) => m[1].replace(/\\\n\s*/g, ""));
}

/**
 * The rules (after "on >PASSWORD") of the doc's user `name`: from the
 * `ACL SETUSER` line in a `sh` block of `heading`, checked equal to the
 * `user` line of its aclfile (`text` block), or from the `text` block alone
 * when the section gives no `sh` form.
 */
export function docRules(doc: string, heading: string, name: string): string[] {
  const text = section(doc, heading);
  const fileLine = blocks(text, "text").flatMap((b) => b.split("\n"))
    .find((line) => line.startsWith(`user ${name} on >`));
  assert(fileLine !== undefined, `no "user ${name}" line in "${heading}"`);
  const fromFile = fileLine.split(" ").slice(4);
  const shellLine = blocks(text, "sh").flatMap((b) => b.split("\n"))
    .find((line) => line.includes(`ACL SETUSER ${name} `));
  if (shellLine === undefined) return fromFile;
  const words = splitWords(shellLine);
  const at = words.indexOf("SETUSER");
  assertEquals(words.slice(at + 1, at + 3), [name, "on"], shellLine);
  assert(words[at + 3].startsWith(">"), shellLine);
  const fromShell = words.slice(at + 4);
  assertEquals(fromShell, fromFile, "the doc's ACL SETUSER and aclfile lines differ");
  return fromShell;
}
