/**
 * A readable stream whose failure is restated: the same chunks, but an error
 * it fails with passes through `rename` first (so a shortage of shares found
 * while streaming can name servers or roots instead of share indices).
 *
 * @module
 */

/** `stream`, with an error it fails with passed through `rename`; pulled on demand. */
export function renamingErrors(
  stream: ReadableStream<Uint8Array>,
  rename: (error: unknown) => unknown,
): ReadableStream<Uint8Array> {
  const reader = stream.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { value, done } = await reader.read();
        if (done) controller.close();
        else controller.enqueue(value);
      } catch (error) {
        controller.error(rename(error));
      }
    },
    cancel: (reason) => reader.cancel(reason),
  }, { highWaterMark: 0 });
}
