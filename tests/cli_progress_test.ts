/**
 * The progress line on a real terminal (tmux) is cleared before an error is
 * printed: never "…99%secshrnet: wrong password" (issue 11).
 */

import { assert } from "./assert.ts";
import { prng } from "./prng.ts";
import { putBytes, withNetwork } from "./harness/client.ts";
import { secshrnetArgs } from "./harness/network.ts";

const quote = (text: string) => `'${text.replaceAll("'", `'\\''`)}'`;

Deno.test("a progress line is cleared before the error that ends the command", async () => {
  await withNetwork(3, async (network) => {
    const put = await putBytes(network, "/progress/tag", prng(4101).bytes(50_000), ["-k", "2"]);
    assert(put.code === 0, put.stderr);
    const dir = await Deno.makeTempDir();
    const server = `secshrnet-progress-${Deno.pid}`;
    const env: Record<string, string> = {
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      TERM: "xterm",
      ...network.env,
      SECSHRNET_PASSWORD: "not the password",
    };
    const tmux = async (...args: string[]) => {
      const output = await new Deno.Command("tmux", {
        args: ["-L", server, "-f", "/dev/null", ...args],
        env,
        clearEnv: true,
        stdin: "null",
        signal: AbortSignal.timeout(10_000),
      }).output();
      if (!output.success) throw new Error(new TextDecoder().decode(output.stderr));
      return new TextDecoder().decode(output.stdout);
    };
    const log = `${dir}/log`;
    const gate = `${dir}/go`;
    const command = [Deno.execPath(), ...secshrnetArgs(), "get", "/progress/tag", `${dir}/out`]
      .map(quote).join(" ");
    try {
      await tmux(
        "new-session",
        "-d",
        "-x",
        "120",
        "-y",
        "20",
        `until [ -e ${quote(gate)} ]; do sleep 0.02; done; ${command}; echo __DONE__; sleep 60`,
      );
      await tmux("pipe-pane", "-o", `cat >> ${quote(log)}`);
      await Deno.writeTextFile(gate, "");
      const deadline = Date.now() + 60_000;
      while (!(await tmux("capture-pane", "-p")).includes("__DONE__")) {
        assert(Date.now() < deadline, "the get never ended");
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      await new Promise((resolve) => setTimeout(resolve, 100)); // let pipe-pane catch up
      const raw = await Deno.readTextFile(log);
      assert(raw.includes("deriving the key from the password"), `progress was drawn: ${raw}`);
      assert(raw.includes("\r\x1b[2Ksecshrnet: wrong password"), JSON.stringify(raw));
      assert(!/%secshrnet:/.test(raw), JSON.stringify(raw));
    } finally {
      await tmux("kill-server").catch(() => {});
      await Deno.remove(dir, { recursive: true });
    }
  });
});
