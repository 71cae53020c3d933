/**
 * The server log (server/log.ts), with real `secshrnet serve` processes:
 * rotation at `[server] log_max_bytes` keeping `log_keep` files, SIGHUP
 * reopening the file after logrotate moved it, `log = "-"` (stderr only, no
 * file), the start line naming the server as people see it (16 hex digits),
 * and a clean stop (SIGTERM, SIGINT) logging "stopped" and no Redis warning,
 * which a real Redis restart does log.
 */

import { assert, assertEquals } from "./assert.ts";
import { secshrnetArgs, type ServerProcess, startNetwork } from "./harness/network.ts";
import { poll } from "./harness/faults.ts";

/** A log line: `<ISO time> <level> <message>`. */
const LINE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (info|warn|debug) \S.*$/;
const CLOSED_WARNING = "redis subscriber closed; messages may have been lost";

/** The lines of a log text; asserts each is whole and well-formed. */
function linesOf(text: string, what: string): string[] {
  assert(text === "" || text.endsWith("\n"), `${what} ends with a whole line`);
  const lines = text === "" ? [] : text.slice(0, -1).split("\n");
  for (const line of lines) {
    assert(LINE.test(line), `${what}: malformed line ${JSON.stringify(line)}`);
  }
  return lines;
}

/** Sends SIGHUP to `server` and waits until its log file changed (a line was added, or a new file). */
async function hangUp(server: ServerProcess): Promise<void> {
  const file = `${server.root}/secshrnetd.log`;
  const before = await Deno.readTextFile(file).catch(() => "");
  Deno.kill(server.pid, "SIGHUP");
  await poll(
    async () => await Deno.readTextFile(file).catch(() => before) !== before,
    "the server logs 'log reopened'",
  );
}

/** The names of the log files in `root`, sorted. */
function logFiles(root: string): string[] {
  return [...Deno.readDirSync(root)].map((e) => e.name).filter((n) => n.startsWith("secshrnetd"))
    .sort();
}

Deno.test("server log: rotated at log_max_bytes keeping log_keep files, each within the cap, newest lines in secshrnetd.log; 0 never rotates", async () => {
  const CAP = 2000;
  const KEEP = 2;
  const network = await startNetwork(0, {
    config: `[server]\nlog_max_bytes = ${CAP}\nlog_keep = ${KEEP}\n`,
  });
  try {
    // A rotated file left from a larger log_keep: the first rotation deletes it.
    const root = `${network.dir}/server-1`;
    await Deno.mkdir(root, { mode: 0o700 });
    await Deno.writeTextFile(`${root}/secshrnetd.log.5`, "old\n");
    const server = await network.addServer();
    assertEquals(server.root, root);
    const neverConfig = `${network.dir}/never.toml`;
    await Deno.writeTextFile(neverConfig, `[server]\nlog_max_bytes = 0\nlog_keep = 1\n`);
    const never = await network.addServer({ configFile: neverConfig });
    await network.waitForServers(2);

    // Each SIGHUP logs one line; 150 of them fill the file more than three times over.
    for (let i = 0; i < 150; i++) await hangUp(server);
    for (let i = 0; i < 60; i++) await hangUp(never);

    assertEquals(logFiles(root), ["secshrnetd.log", "secshrnetd.log.1", "secshrnetd.log.2"]);
    const texts = ["secshrnetd.log.2", "secshrnetd.log.1", "secshrnetd.log"].map((name) =>
      Deno.readTextFileSync(`${root}/${name}`)
    );
    const files = texts.map((text, i) => linesOf(text, `file ${i}`));
    for (const [i, lines] of files.entries()) {
      const size = new TextEncoder().encode(texts[i]).length;
      const longest = Math.max(...lines.map((line) => line.length + 1));
      assert(size <= CAP + longest, `file ${i}: ${size} bytes, cap ${CAP}`);
      // The rotated ones were full: the next line would have passed the cap.
      if (i < 2) assert(size + longest > CAP, `file ${i} rotated early at ${size} bytes`);
    }
    // Oldest to newest: .2, .1, then the file itself; the start lines were rotated out.
    const all = files.flat();
    assertEquals(all.map((line) => line.slice(0, 24)), all.map((l) => l.slice(0, 24)).sort());
    assert(all.every((line) => line.endsWith(" info log reopened")), all.join("\n"));
    assertEquals((Deno.statSync(`${root}/secshrnetd.log`).mode ?? 0) & 0o777, 0o600);

    await server.stop();
    const last = linesOf(Deno.readTextFileSync(`${root}/secshrnetd.log`), "log").at(-1) ?? "";
    assert(last.endsWith(" info stopped"), last);

    // log_max_bytes = 0: one file, every line in it.
    assertEquals(logFiles(never.root), ["secshrnetd.log"]);
    const lines = linesOf(Deno.readTextFileSync(`${never.root}/secshrnetd.log`), "never");
    assertEquals(lines.filter((line) => line.endsWith(" log reopened")).length, 60);
    assert(lines.some((line) => line.includes(" serving as server ")), lines.join("\n"));
  } finally {
    await network.stop();
  }
});

Deno.test("server log: SIGHUP after the file was moved writes a new file and the server keeps serving; the start line names the server by 16 hex digits; SIGINT stops it cleanly", async () => {
  const network = await startNetwork(1, { server: { args: ["-v"] } });
  try {
    const [server] = network.servers;
    const file = `${server.root}/secshrnetd.log`;
    await poll(
      async () => (await Deno.readTextFile(file)).includes(" serving as "),
      "the server logs that it serves",
    );
    await Deno.rename(file, `${file}.old`); // what logrotate does, then HUP
    Deno.kill(server.pid, "SIGHUP");
    await poll(
      async () => (await Deno.readTextFile(file).catch(() => "")).includes(" info log reopened"),
      "a new log file",
    );
    assert(server.running, "SIGHUP does not stop it");
    const listed = await network.run(["servers"]);
    assertEquals(listed.code, 0, listed.stderr);
    assert(listed.stdout.includes(server.name), listed.stdout);
    assertEquals((Deno.statSync(file).mode ?? 0) & 0o777, 0o600);

    await server.signal("SIGINT");
    const old = linesOf(await Deno.readTextFile(`${file}.old`), "old log");
    const start = old.find((line) => line.includes(" serving as "));
    assertEquals(
      start?.replace(/^\S+ /, ""),
      `info serving as server ${server.name} on network secshrnet (root ${server.root}, 0 ` +
        `objects, 0 bytes)`,
    );
    assert(old.some((line) => line.endsWith(` debug server id ${server.id}`)), old.join("\n"));
    const now = linesOf(await Deno.readTextFile(file), "new log");
    assert(now[0].endsWith(" info log reopened"), now.join("\n"));
    assert(now.at(-1)?.endsWith(" info stopped"), now.join("\n"));
    assert(!old.some((line) => line.includes("stopped")), "nothing more went to the moved file");
    assert(![...old, ...now].some((line) => line.includes(CLOSED_WARNING)), now.join("\n"));
  } finally {
    await network.stop();
  }
});

Deno.test('server log: log = "-" logs to stderr only and creates no file; SIGTERM stops it cleanly', async () => {
  const network = await startNetwork(0, { config: '[server]\nlog = "-"\n' });
  try {
    const root = `${network.dir}/stderr-server`;
    const child = new Deno.Command(Deno.execPath(), {
      args: [...secshrnetArgs(), "serve", "-r", root, "-c", network.configFile!],
      env: network.env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const output = child.output();
    try {
      await network.waitForServers(1);
    } finally {
      child.kill("SIGTERM");
    }
    const { code, stdout, stderr } = await output;
    assertEquals(code, 0);
    assertEquals(new TextDecoder().decode(stdout), "");
    const lines = linesOf(new TextDecoder().decode(stderr), "stderr");
    const id = (await Deno.readTextFile(`${root}/server-id`)).trim();
    assert(
      lines.some((line) =>
        line.endsWith(
          ` info serving as server ${id.slice(0, 16)} on network secshrnet ` +
            `(root ${root}, 0 objects, 0 bytes)`,
        )
      ),
      lines.join("\n"),
    );
    assert(lines.at(-1)?.endsWith(" info stopped"), lines.join("\n"));
    assert(!lines.some((line) => line.includes(CLOSED_WARNING)), lines.join("\n"));
    assert(!lines.some((line) => line.includes(id)), "the full id is not in the info lines");
    assertEquals(logFiles(root), [], "no log file");
  } finally {
    await network.stop();
  }
});

Deno.test("server log: a Redis restart does log that the subscriber closed", async () => {
  const network = await startNetwork(1);
  try {
    const [server] = network.servers;
    const file = `${server.root}/secshrnetd.log`;
    await network.redis.restart();
    await poll(
      async () => (await Deno.readTextFile(file)).includes(` warn ${CLOSED_WARNING}`),
      "the warning",
    );
    await network.waitForServers(1); // back by itself
  } finally {
    await network.stop();
  }
});
