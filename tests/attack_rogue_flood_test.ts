/**
 * Attack (issue 9, #9): client memory under a download flood. A server that
 * ignores the download window pushes its whole share at once, then junk
 * beyond the size it announced: before issue 9 the client queued whatever
 * arrived (+30 to +136 MiB in three runs of this 40 MiB get).
 *
 * Now a download whose server sends more than one window and one chunk
 * ahead of the reader, or more than it announced, fails at once and a spare
 * is read instead (core/client/incoming.ts). Five servers run through
 * tests/harness/rogue.ts, honest until the holder of share 1 is switched to
 * `flood-download`. Peak memory is the client's VmHWM polled while it runs;
 * hang guards only.
 */

import { assert, assertEquals } from "./assert.ts";
import { prng } from "./prng.ts";
import { putBytes, PW } from "./harness/client.ts";
import { startNetwork, type TestNetwork } from "./harness/network.ts";
import { indexOf } from "./harness/liars.ts";
import { type MeasuredRun, received, report, runMeasured, setRogue } from "./harness/rogues.ts";
import { ROGUE_SCRIPT } from "./harness/rogue.ts";
import { sameBytes } from "./objects.ts";

/** Hang guard of one command. */
const GUARD_MS = 120_000;
/** Bound on the client's peak RSS during the flooded get (before: baseline + up to 136 MiB). */
const MAX_RSS_MIB = 300;

interface GetSummary {
  size: number;
  servers: string[];
  rejected: { server: string; index?: number; reason: string }[];
}

let gets = 0;

/** `get TAG FILE --json`, measured; the summary and the file's bytes. */
async function getMeasured(network: TestNetwork, tag: string) {
  const file = `${network.dir}/got-${++gets}`;
  const run = await runMeasured(network, ["get", tag, file, "--json"], {
    env: PW,
    timeoutMs: GUARD_MS,
  });
  const output = await Deno.readFile(file).catch(() => undefined);
  const summary = run.code === 0 ? JSON.parse(run.stdout) as GetSummary : undefined;
  return { run, output, summary };
}

function assertGot(run: MeasuredRun, output: Uint8Array | undefined, data: Uint8Array) {
  assert(!run.timedOut, "get ended by itself");
  assertEquals(run.code, 0, run.stderr);
  assert(output !== undefined && sameBytes(output, data), "the exact bytes stored");
}

Deno.test("attack rogue flood: a server pushing its whole share and junk beyond it, ignoring the window, is rejected at once; get succeeds from a spare with bounded memory", async () => {
  const network = await startNetwork(5, {
    server: { script: ROGUE_SCRIPT, args: ["--mode", "honest"] },
  });
  try {
    const tag = "/attack/flood/40MiB";
    const data = prng(9901).bytes(40 * 2 ** 20);
    const stored = await putBytes(network, tag, data, ["-k", "3"]);
    assertEquals(stored.code, 0, stored.stderr);

    const normal = await getMeasured(network, tag);
    report("get, all honest", normal.run);
    assertGot(normal.run, normal.output, data);
    assertEquals(normal.summary!.rejected, []);

    const indices = await Promise.all(network.servers.map((s) => indexOf(s, tag)));
    const flooder = network.servers[indices.indexOf(1)];
    assert(flooder !== undefined, `a server holds share 1: ${indices}`);
    await setRogue(flooder, "flood-download");

    const flooded = await getMeasured(network, tag);
    report("get, share 1 flooding", flooded.run);
    assertGot(flooded.run, flooded.output, data);
    const rejected = flooded.summary!.rejected;
    console.log(`  rejected: ${JSON.stringify(rejected)}`);
    const mine = rejected.filter((r) => r.server === `server:${flooder.id}`);
    assertEquals(mine.length, 1, `the flooder is rejected: ${JSON.stringify(rejected)}`);
    assert(/download window|bytes it announced/.test(mine[0].reason), mine[0].reason);
    assertEquals(rejected.length, 1, "only the flooder is rejected");
    // `servers` lists every server read from: the flooder, and one spare for it.
    const read = flooded.summary!.servers;
    assertEquals(read.length, 4, `k = 3 and one spare: ${read}`);
    assert(read.includes(`server:${flooder.id}`), `the flooder was read from: ${read}`);
    assert(flooded.run.stderr.includes(flooder.name), `named: ${flooded.run.stderr}`);

    // The flood was real: the rogue began the download; the client told it to stop.
    const messages = (await received(flooder)).filter((m) => m.mode === "flood-download");
    assert(messages.some((m) => m.type === "get-begin"), "the flooder was asked for its share");
    assert(messages.some((m) => m.type === "get-cancel"), "the client cancelled the flood");

    for (const { run } of [normal, flooded]) assert(run.peakRssMiB > 0, "memory was measured");
    console.log(
      `  peak RSS: ${normal.run.peakRssMiB} MiB honest, ${flooded.run.peakRssMiB} MiB flooded ` +
        `(${flooded.run.peakRssMiB - normal.run.peakRssMiB >= 0 ? "+" : ""}${
          flooded.run.peakRssMiB - normal.run.peakRssMiB
        } MiB)`,
    );
    assert(
      flooded.run.peakRssMiB < MAX_RSS_MIB,
      `flooded get peak RSS ${flooded.run.peakRssMiB} MiB < ${MAX_RSS_MIB} MiB`,
    );
  } finally {
    await network.stop();
  }
});

Deno.test("attack rogue flood: a server sending junk beyond the size it announces is rejected by that size; get succeeds from a spare", async () => {
  const network = await startNetwork(5, {
    server: { script: ROGUE_SCRIPT, args: ["--mode", "honest"] },
  });
  try {
    // A share (~70 KiB) and the junk sent with it (FLOOD_JUNK_BURST chunks of 256 KiB) fit in
    // the window (1 MiB + one chunk): only the announced size can catch the junk.
    const tag = "/attack/flood/small";
    const data = prng(9902).bytes(200_000);
    assertEquals((await putBytes(network, tag, data, ["-k", "3"])).code, 0);
    const indices = await Promise.all(network.servers.map((s) => indexOf(s, tag)));
    const flooder = network.servers[indices.indexOf(1)];
    await setRogue(flooder, "flood-download");

    const flooded = await getMeasured(network, tag);
    report("get, share 1 sending junk", flooded.run);
    assertGot(flooded.run, flooded.output, data);
    const rejected = flooded.summary!.rejected;
    console.log(`  rejected: ${JSON.stringify(rejected)}`);
    assertEquals(rejected.map((r) => r.server), [`server:${flooder.id}`]);
    assert(
      /sent more than the \d+ bytes it announced/.test(rejected[0].reason),
      rejected[0].reason,
    );
    const messages = (await received(flooder)).filter((m) => m.mode === "flood-download");
    assert(messages.some((m) => m.type === "get-cancel"), "the client cancelled the download");
  } finally {
    await network.stop();
  }
});
