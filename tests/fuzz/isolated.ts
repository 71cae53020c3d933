/**
 * A test network whose scratch directory lies in a directory of its own, so
 * a test can tell that nothing was written next to it.
 *
 * @module
 */

import { startNetwork, type TestNetwork } from "../harness/network.ts";

/**
 * Starts `servers` servers with the scratch dir inside `outer`, a new
 * directory that must end up holding the scratch dir alone. The servers get
 * `outer` as their TMPDIR too.
 */
export async function isolatedNetwork(
  servers: number,
): Promise<{ network: TestNetwork; outer: string }> {
  const outer = await Deno.makeTempDir({ prefix: "secshrnet-fuzz-" });
  const previous = Deno.env.get("TMPDIR");
  Deno.env.set("TMPDIR", outer);
  try {
    return { network: await startNetwork(servers), outer };
  } catch (error) {
    await Deno.remove(outer, { recursive: true });
    throw error;
  } finally {
    if (previous === undefined) Deno.env.delete("TMPDIR");
    else Deno.env.set("TMPDIR", previous);
  }
}
