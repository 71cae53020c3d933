/**
 * Attack (issue 9, #6): an endless listing. A trusted rogue server answers
 * `list` with a `next` cursor that never ends: before issue 9, `ls` ran
 * forever and its memory reached 2.1 GiB after 40 s; the shell's tag
 * completion reads the same listing every 3 s.
 *
 * Now a listing stops reading a server at a cursor that does not advance, or
 * beyond fixed bounds (pages, entries, 32 MiB of headers), and names it
 * (core/client/catalog.ts). The rogue (tests/harness/rogue.ts) answers every
 * `list` with 200 entries and the same cursor (`list-loop`), or with 200
 * fresh ~4 KiB headers and an advancing cursor (`list-forever`). Peak memory
 * is the client's VmHWM polled while it runs; hang guards only. The shell
 * (driven through tmux) must also keep one listing at a time, with bounded
 * memory, while its tag completion refreshes.
 */

import { assert, assertEquals } from "./assert.ts";
import { prng } from "./prng.ts";
import { putBytes } from "./harness/client.ts";
import { secshrnetArgs, startNetwork, type TestNetwork } from "./harness/network.ts";
import { addRogue, type MeasuredRun, received, report, runMeasured } from "./harness/rogues.ts";
import {
  FOREVER_TAG_BYTES,
  type LoggedMessage,
  ROGUE_PAGE,
  type RogueMode,
} from "./harness/rogue.ts";
import { MAX_LIST_BYTES } from "../core/client/catalog.ts";
import type { ServerProcess } from "./harness/network.ts";

/** Hang guard of one `ls` (it used to run forever). */
const GUARD_MS = 90_000;
/** A generous bound on the client's peak RSS (it reached 2.1 GiB before). */
const MAX_RSS_MIB = 600;
/** How long the shell idles (ROGUE_IDLE_MS=150000 watches it longer). */
const IDLE_MS = Number(Deno.env.get("ROGUE_IDLE_MS") ?? 20_000);
/** The real tags the honest servers hold. */
const TAGS = ["/real/a.txt", "/real/b.key", "/real/c with spaces"];

async function withTags(test: (network: TestNetwork) => Promise<void>): Promise<void> {
  const network = await startNetwork(3);
  try {
    for (const [i, tag] of TAGS.entries()) {
      const put = await putBytes(network, tag, prng(9600 + i).bytes(1000 + i));
      assertEquals(put.code, 0, put.stderr);
    }
    await test(network);
  } finally {
    await network.stop();
  }
}

/** Asserts an `ls` run against `rogue` ended well: exit 0, real tags, one warning line naming it. */
function assertListed(run: MeasuredRun, rogue: ServerProcess, json: boolean): string[] {
  assert(!run.timedOut, `ls ended by itself (killed after ${GUARD_MS / 1000} s)`);
  assertEquals(run.code, 0, run.stderr);
  const tags = json
    ? (JSON.parse(run.stdout) as { tag: string }[]).map((e) => e.tag)
    : run.stdout.split("\n").slice(1).map((line) => line.split(/\s{2,}/)[0]);
  for (const tag of TAGS) assert(tags.includes(tag), `lists ${tag}`);
  const lines = run.stderr.split("\n").filter((line) => line !== "");
  assertEquals(lines.length, 1, `one warning line: ${run.stderr}`);
  assert(lines[0].includes(rogue.name) && /warning/.test(lines[0]), lines[0]);
  assert(run.peakRssMiB > 0, "memory was measured");
  assert(run.peakRssMiB < MAX_RSS_MIB, `peak RSS ${run.peakRssMiB} MiB < ${MAX_RSS_MIB} MiB`);
  return tags;
}

/**
 * Pages of a `list-forever` rogue a listing reads: every page holds 200
 * headers of 88 + FOREVER_TAG_BYTES bytes, and reading stops at the first
 * page that passes MAX_LIST_BYTES.
 */
function foreverPages(): number {
  return Math.floor(MAX_LIST_BYTES / (ROGUE_PAGE * (88 + FOREVER_TAG_BYTES))) + 1;
}

/**
 * Most listings of a `list-forever` rogue in progress at once, from its log:
 * a listing starts with a `list` without cursor and ends with the request of
 * its last page (every listing reads {@linkcode foreverPages} pages).
 */
function maxOverlap(lists: LoggedMessage[]): number {
  const last = `p${String(foreverPages() - 2).padStart(12, "0")}`;
  let open = 0;
  let most = 0;
  for (const message of lists) {
    if (message.after === undefined) most = Math.max(most, ++open);
    else if (message.after === last) open--;
  }
  return most;
}

/** `ls` then `ls --json` against a rogue in `mode`; returns the runs and the list pages it served. */
async function lsBoth(network: TestNetwork, rogue: ServerProcess, mode: RogueMode) {
  const pages: number[] = [];
  const runs: MeasuredRun[] = [];
  for (const json of [false, true]) {
    const before = (await received(rogue)).filter((m) => m.type === "list").length;
    const run = await runMeasured(network, json ? ["ls", "--json"] : ["ls"], {
      timeoutMs: GUARD_MS,
    });
    const served = (await received(rogue)).filter((m) => m.type === "list" && m.mode === mode)
      .length - before;
    report(`${mode}: ls${json ? " --json" : ""} (${served} pages served)`, run);
    const tags = assertListed(run, rogue, json);
    console.log(`    ${tags.length} tags listed; warning: ${run.stderr.trim().slice(0, 160)}`);
    pages.push(served);
    runs.push(run);
  }
  return { runs, pages };
}

Deno.test("attack rogue list: a server repeating its list cursor cannot keep ls running; it is named once", async () => {
  await withTags(async (network) => {
    const rogue = await addRogue(network, "list-loop");
    const { runs, pages } = await lsBoth(network, rogue, "list-loop");
    // The first page, then the one whose cursor did not advance.
    assertEquals(pages, [2, 2]);
    for (const run of runs) assert(/does not advance/.test(run.stderr), run.stderr);
  });
});

Deno.test("attack rogue list: a server listing fresh 4 KiB headers forever is read up to its byte bound, named once, and ls ends with bounded memory", async () => {
  await withTags(async (network) => {
    const rogue = await addRogue(network, "list-forever");
    const { runs, pages } = await lsBoth(network, rogue, "list-forever");
    const expected = foreverPages();
    assertEquals(pages, [expected, expected], "pages read up to the 32 MiB bound");
    for (const run of runs) assert(/MiB of headers/.test(run.stderr), run.stderr);
  });
});

/** Runs tmux on a server socket of our own (never the user's). */
async function tmux(socket: string, ...args: string[]): Promise<string> {
  const output = await new Deno.Command("tmux", {
    args: ["-L", socket, "-f", "/dev/null", ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  return new TextDecoder().decode(output.stdout);
}

/** VmHWM and VmRSS of `pid` in MiB (0 once it is gone). */
function memoryOf(pid: number): { hwm: number; rss: number } {
  try {
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    const field = (name: string) =>
      Math.round(Number(new RegExp(`^${name}:\\s+(\\d+)`, "m").exec(status)?.[1] ?? 0) / 1024);
    return { hwm: field("VmHWM"), rss: field("VmRSS") };
  } catch {
    return { hwm: 0, rss: 0 };
  }
}

Deno.test("attack rogue list: the shell, refreshing its tag completion every 3 s from a server listing forever, keeps bounded memory and completes real tags", async () => {
  await withTags(async (network) => {
    const rogue = await addRogue(network, "list-forever");
    const socket = `secshrnet-rogue-${crypto.randomUUID().slice(0, 8)}`;
    const pidFile = `${network.dir}/shell.pid`;
    const env = Object.entries({ ...network.env, TERM: "xterm" })
      .map(([name, value]) => `${name}='${value}'`).join(" ");
    const shell = [Deno.execPath(), ...secshrnetArgs(), "shell"].join(" ");
    const screen = () => tmux(socket, "capture-pane", "-p", "-S", "-200", "-t", "t");
    const waitFor = async (pattern: RegExp, ms: number) => {
      const deadline = Date.now() + ms;
      while (Date.now() < deadline) {
        const text = await screen();
        if (pattern.test(text)) return text;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      throw new Error(`screen never matched ${pattern}:\n${await screen()}`);
    };
    try {
      await tmux(
        socket,
        ...["new-session", "-d", "-s", "t", "-x", "160", "-y", "50"],
        `sh -c 'echo $$ > ${pidFile}; exec env ${env.replaceAll("'", "")} ${shell}'; sleep 30`,
      );
      await waitFor(/secshrnet \(4 online\)>\s*$/m, 60_000);
      const pid = Number(await Deno.readTextFile(pidFile));
      const started = Date.now();
      const pagesBefore = (await received(rogue)).filter((m) => m.type === "list").length;
      let peak = 0;
      const samples: number[] = [];
      while (Date.now() - started < IDLE_MS) {
        const { hwm, rss } = memoryOf(pid);
        peak = Math.max(peak, hwm);
        samples.push(rss);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const lists = (await received(rogue)).filter((m) => m.type === "list").slice(pagesBefore);
      const overlap = maxOverlap(lists);
      console.log(
        `  shell idle ${IDLE_MS / 1000} s: peak RSS ${peak} MiB, RSS at each quarter: ${
          [0.25, 0.5, 0.75, 1].map((f) => samples[Math.floor(f * samples.length) - 1]).join("/")
        } MiB; ${lists.length} list pages served (${
          (lists.length / foreverPages()).toFixed(1)
        } listings), up to ${overlap} listings at once`,
      );
      await tmux(socket, "send-keys", "-t", "t", "-l", "get /real/a");
      await tmux(socket, "send-keys", "-t", "t", "Tab");
      await waitFor(/> get \/real\/a\.txt\s*$/m, 10_000);
      await tmux(socket, "send-keys", "-t", "t", "C-u");
      await tmux(socket, "send-keys", "-t", "t", "C-d");
      assert(peak > 0, "memory was measured");
      assert(
        peak < MAX_RSS_MIB,
        `shell peak RSS ${peak} MiB < ${MAX_RSS_MIB} MiB (${overlap} listings at once)`,
      );
      assertEquals(overlap, 1, "one tag listing at a time");
    } finally {
      await tmux(socket, "kill-server");
    }
  });
});
