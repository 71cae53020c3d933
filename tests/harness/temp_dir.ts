/**
 * A temporary directory for the length of a test, removed afterwards.
 *
 * @module
 */

/** Runs `fn` with a fresh temporary directory named `prefix`..., removed afterwards. */
export async function withTempDir<T>(
  fn: (dir: string) => Promise<T>,
  prefix = "secshrnet-test-",
): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix });
  try {
    return await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
