/** Shell line splitting and the original client's command names. */

import { splitWords } from "../cli/shell/words.ts";
import { translateAlias } from "../cli/commands/shell.ts";
import { UsageError } from "../core/errors.ts";
import { assertEquals, assertThrows } from "./assert.ts";

Deno.test("lines split like sh: quotes, escapes, runs of blanks", () => {
  assertEquals(splitWords("  put  /a   b.txt "), ["put", "/a", "b.txt"]);
  assertEquals(splitWords(`get '/my tag' "out file"`), ["get", "/my tag", "out file"]);
  assertEquals(splitWords(`put it\\'s\\ here x`), ["put", "it's here", "x"]);
  assertEquals(splitWords(`get "a \\"b\\" \\\\c" ''`), ["get", 'a "b" \\c', ""]);
  assertEquals(splitWords(`get 'keep \\ this'`), ["get", "keep \\ this"]);
  assertThrows(() => splitWords(`get "open`), UsageError, 'unclosed " quote');
  assertThrows(() => splitWords(`get 'open`), UsageError, "unclosed ' quote");
});

Deno.test("save, load and serv map to put, get and servers", () => {
  assertEquals(translateAlias(["save", "f.txt", "/t", "2"]), ["put", "/t", "f.txt", "-k", "2"]);
  assertEquals(translateAlias(["save", "f.txt", "/t"]), ["put", "/t", "f.txt"]);
  assertEquals(translateAlias(["load", "/t", "out"]), ["get", "/t", "out"]);
  assertEquals(translateAlias(["serv"]), ["servers"]);
  assertEquals(translateAlias(["ls", "--json"]), ["ls", "--json"]);
});
