/**
 * One server per root (server/lock.ts), with real processes: a second
 * `secshrnet serve` on a root in use exits 1 at once with one line naming the
 * root and the holder's pid, touching nothing; the kernel lets the root go
 * when the holder is killed (SIGKILL), and a stop (SIGTERM) lets it go too.
 */

import { assert, assertEquals } from "./assert.ts";
import { runProcess, secshrnetArgs, startNetwork } from "./harness/network.ts";

Deno.test("serve: a second server on a root in use exits 1 at once naming the root and pid; SIGKILL of the first frees the root", async () => {
  const network = await startNetwork(1);
  try {
    const [server] = network.servers;
    const lockFile = `${server.root}/lock`;
    assertEquals(await Deno.readTextFile(lockFile), `${server.pid}\n`);

    /** Runs a second `serve` on the root; resolves with what it did. */
    const second = () =>
      runProcess(Deno.execPath(), {
        args: [...secshrnetArgs(), "serve", "-r", server.root],
        env: network.env,
        timeoutMs: 30_000,
      });
    const refused = await second();
    assertEquals(refused.timedOut, false, "it exits by itself");
    assertEquals(refused.code, 1, refused.stderr);
    assertEquals(
      refused.stderr,
      `secshrnet: root ${server.root} is in use by another 'secshrnet serve' (pid ${server.pid}); ` +
        `stop it or use -r for another root\n`,
    );
    assertEquals(refused.stdout, "");
    // Deno's own start-up is most of this; the lock is given 300 ms.
    assert(refused.elapsedMs < 10_000, `took ${refused.elapsedMs} ms`);
    // The first server may still be logging (its scrub); the second wrote nothing there.
    const log = await Deno.readTextFile(`${server.root}/secshrnetd.log`);
    assert(!/cannot start|in use/.test(log), `log untouched: ${log}`);
    assertEquals(await Deno.readTextFile(lockFile), `${server.pid}\n`, "lock file untouched");
    assert(server.running, "the first server still runs");

    // A crash: the kernel releases the flock, and a new server takes the root.
    const killed = server.pid;
    await server.signal("SIGKILL");
    await server.restart();
    assert(server.pid !== killed);
    await holds(lockFile, server.pid);
    await network.waitForServers(1);
    const again = await second();
    assertEquals(again.code, 1, again.stderr);
    assert(again.stderr.includes(`(pid ${server.pid})`), again.stderr);

    // A clean stop lets it go as well.
    await server.stop();
    await server.restart();
    await holds(lockFile, server.pid);
    await network.waitForServers(1);
  } finally {
    await network.stop();
  }
});

/** Waits (up to 20 s) until the lock file names `pid`: the restarted server has taken the root. */
async function holds(lockFile: string, pid: number): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (await Deno.readTextFile(lockFile).catch(() => "") !== `${pid}\n`) {
    if (Date.now() > deadline) throw new Error(`pid ${pid} never took ${lockFile}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
