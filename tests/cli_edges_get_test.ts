/**
 * Edges of `secshrnet get` through the real CLI, each one clear line on
 * stderr: a directory as FILE (the file goes inside it, named after the tag,
 * decided before any download), a reader of - that stops early (quiet exit
 * 141, download cancelled), - on a terminal (refused unless --force, before
 * any password prompt), - with --json (usage), and --password-fd on a closed
 * descriptor.
 */

import { assert, assertEquals } from "./assert.ts";
import { putBytes, PW, withNetwork, workDir } from "./harness/client.ts";
import { secshrnetArgs } from "./harness/network.ts";

const ESC = String.fromCharCode(27);

/** Asserts `stderr` is exactly one line "secshrnet: …" with no stack trace, "unexpected error" or escape. */
function oneLine(stderr: string, includes: string): void {
  const lines = stderr.replace(/\r/g, "").split("\n").filter((line) => line !== "");
  assertEquals(lines.length, 1, `one line on stderr, got: ${JSON.stringify(stderr)}`);
  assert(lines[0].startsWith("secshrnet: "), lines[0]);
  assert(lines[0].includes(includes), `${JSON.stringify(lines[0])} includes ${includes}`);
  assert(!/unexpected error|^\s+at |Error:/m.test(stderr), stderr);
  assert(!stderr.includes(ESC), `no ANSI escapes: ${JSON.stringify(stderr)}`);
}

function randomBytes(size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i += 65536) crypto.getRandomValues(bytes.subarray(i, i + 65536));
  return bytes;
}

function shellQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

Deno.test("get: edges of FILE, -, terminals, --json and --password-fd, through the CLI", async (t) => {
  await withNetwork(3, async (network) => {
    const data = randomBytes(4 << 20);
    const tag = "/edges/secret.bin";
    const put = await putBytes(network, tag, data, ["-k", "2"]);
    assertEquals(put.code, 0, put.stderr);

    await t.step(
      "get TAG DIR writes DIR/<last part of TAG>; then exists; --force replaces",
      async () => {
        const dir = await workDir(network, "into-dir");
        const first = await network.run(["get", tag, dir], { env: PW });
        assertEquals(first.code, 0, first.stderr);
        assertEquals(await Deno.readFile(`${dir}/secret.bin`), data);
        assert(first.stdout.includes(`${dir}/secret.bin`), first.stdout);
        const again = await network.run(["get", tag, `${dir}/`], { env: PW });
        assertEquals(again.code, 6);
        oneLine(again.stderr, `${dir}/secret.bin exists; use --force`);
        const forced = await network.run(["get", tag, dir, "--force"], { env: PW });
        assertEquals(forced.code, 0, forced.stderr);
        assertEquals(await Deno.readFile(`${dir}/secret.bin`), data);
        assertEquals([...Deno.readDirSync(dir)].map((e) => e.name), ["secret.bin"]);
      },
    );

    await t.step("get TAG - | head -c 10: quiet exit 141 and the download stops", async () => {
      const child = new Deno.Command(Deno.execPath(), {
        args: [...secshrnetArgs(), "get", tag, "-"],
        env: { ...network.env, ...PW },
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const guard = setTimeout(() => child.kill("SIGKILL"), 60_000);
      const stderr = new Response(child.stderr).text();
      const reader = child.stdout.getReader();
      let read = 0;
      while (read < 10) {
        const chunk = await reader.read();
        if (chunk.done) break;
        read += chunk.value.length;
      }
      await reader.cancel();
      const status = await child.status;
      clearTimeout(guard);
      assert(read >= 10, "the reader got its 10 bytes");
      assertEquals(status.code, 141, await stderr);
      assertEquals(await stderr, "");
    });

    await t.step("get TAG - | head -c 10 in a shell: 10 bytes, no message", async () => {
      const command = [Deno.execPath(), ...secshrnetArgs(), "get", tag, "-"].map(shellQuote)
        .join(" ");
      const output = await new Deno.Command("bash", {
        args: ["-c", `${command} | head -c 10; exit "\${PIPESTATUS[0]}"`],
        env: { ...network.env, ...PW },
        stdin: "null",
      }).output();
      assertEquals(output.code, 141, new TextDecoder().decode(output.stderr));
      assertEquals(output.stdout, data.subarray(0, 10));
      assertEquals(new TextDecoder().decode(output.stderr), "");
    });

    await t.step("get TAG - on a terminal: refused before any password prompt", async () => {
      // No SECSHRNET_PASSWORD: asking for one would wait on the terminal (and the guard would kill it).
      const env: Record<string, string> = { ...network.env, TERM: "dumb" };
      const command = [Deno.execPath(), ...secshrnetArgs(), "get", tag, "-"].map(shellQuote)
        .join(" ");
      const child = new Deno.Command("script", {
        args: ["-qec", command, "/dev/null"],
        clearEnv: true,
        env: {
          PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
          HOME: network.env.HOME ?? "",
          ...env,
        },
        stdin: "piped",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const guard = setTimeout(() => child.kill("SIGKILL"), 30_000);
      const output = await child.output();
      clearTimeout(guard);
      // script(1) needs a stdin to copy to the terminal; nothing is typed into it.
      await child.stdin.close().catch(() => {});
      const text = new TextDecoder().decode(output.stdout) +
        new TextDecoder().decode(output.stderr);
      assertEquals(output.code, 2, text);
      oneLine(
        text,
        "refusing to write binary to a terminal; give a FILE, redirect, or use --force",
      );
    });

    await t.step("get TAG - --json: usage error", async () => {
      const result = await network.run(["get", tag, "-", "--json"], { env: PW });
      assertEquals(result.code, 2);
      assertEquals(JSON.parse(result.stdout).error.code, "usage");
      oneLine(result.stderr, "--json");
    });

    await t.step("--password-fd 9 on a closed descriptor: not open, exit 2", async () => {
      const out = `${await workDir(network, "fd")}/out`;
      const result = await network.run(["get", tag, out, "--password-fd", "9"]);
      assertEquals(result.code, 2, result.stderr);
      oneLine(
        result.stderr,
        "cannot read password fd 9: not open; pass an open descriptor, e.g. --password-fd 9 9<passfile",
      );
      const open = await new Deno.Command("bash", {
        args: [
          "-c",
          `exec ${
            [Deno.execPath(), ...secshrnetArgs(), "get", tag, out, "--password-fd", "9"]
              .map(shellQuote).join(" ")
          } 9<<<"$PW"`,
        ],
        env: { ...network.env, PW: PW.SECSHRNET_PASSWORD },
        stdin: "null",
      }).output();
      assertEquals(open.code, 0, new TextDecoder().decode(open.stderr));
      assertEquals(await Deno.readFile(out), data);
    });
  });
});
