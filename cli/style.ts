/**
 * Colour for terminals only: never when the stream is not a terminal or
 * NO_COLOR is set (https://no-color.org).
 *
 * @module
 */

/** Whether to colour output written to `stream`. */
export function useColor(stream: { isTerminal(): boolean }): boolean {
  return stream.isTerminal() && !Deno.env.get("NO_COLOR");
}

/** `text` in green, when `on`. */
export function green(text: string, on: boolean): string {
  return on ? `\x1b[32m${text}\x1b[39m` : text;
}

/** `text` in red, when `on`. */
export function red(text: string, on: boolean): string {
  return on ? `\x1b[31m${text}\x1b[39m` : text;
}
