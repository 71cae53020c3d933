/**
 * Splitting a shell line into words: whitespace separates, single quotes
 * keep everything literally, double quotes and backslashes work as in sh.
 *
 * @module
 */

import { UsageError } from "../../core/errors.ts";

/** The words of `line`; throws a UsageError on an unclosed quote. */
export function splitWords(line: string): string[] {
  const words: string[] = [];
  let word: string | undefined;
  let quote: "'" | '"' | undefined;
  for (let i = 0; i < line.length; i++) {
    const char = line[i];
    if (quote === "'") {
      if (char === "'") quote = undefined;
      else word += char;
    } else if (
      char === "\\" && i + 1 < line.length && (quote === undefined || '"\\$`'.includes(line[i + 1]))
    ) {
      word = (word ?? "") + line[++i];
    } else if (quote === '"') {
      if (char === '"') quote = undefined;
      else word += char;
    } else if (char === "'" || char === '"') {
      quote = char;
      word ??= "";
    } else if (/\s/.test(char)) {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else {
      word = (word ?? "") + char;
    }
  }
  if (quote !== undefined) throw new UsageError(`unclosed ${quote} quote`);
  if (word !== undefined) words.push(word);
  return words;
}
