/**
 * The interactive shell driven through a real pseudo-terminal (tmux): Tab
 * completion, help, a hidden password prompt, output, Ctrl-C during a long
 * put, and Ctrl-D.
 */

import { assert, assertEquals } from "./assert.ts";
import { secshrnetArgs, startNetwork } from "./harness/network.ts";

const PASSWORD = "hunter2-never-on-screen";

/** A tmux server of our own (never the user's), running one session. */
class Terminal {
  readonly socket = `secshrnet-test-${crypto.randomUUID().slice(0, 8)}`;

  async tmux(...args: string[]): Promise<string> {
    const output = await new Deno.Command("tmux", {
      args: ["-L", this.socket, "-f", "/dev/null", ...args],
      stdout: "piped",
      stderr: "piped",
    }).output();
    return new TextDecoder().decode(output.stdout);
  }

  start(command: string): Promise<string> {
    return this.tmux("new-session", "-d", "-s", "t", "-x", "160", "-y", "50", command);
  }

  /** Types `text` literally (one send-keys call per key sequence keeps Tab special). */
  type(text: string): Promise<string> {
    return this.tmux("send-keys", "-t", "t", "-l", text);
  }

  key(name: string): Promise<string> {
    return this.tmux("send-keys", "-t", "t", name);
  }

  screen(): Promise<string> {
    return this.tmux("capture-pane", "-p", "-S", "-200", "-t", "t");
  }

  /** Waits until the screen matches `pattern`; fails after `ms`. */
  async waitFor(pattern: RegExp, ms = 20_000): Promise<string> {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      const screen = await this.screen();
      if (pattern.test(screen)) return screen;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`screen never matched ${pattern}:\n${await this.screen()}`);
  }

  async stop(): Promise<void> {
    await this.tmux("kill-server");
  }
}

Deno.test("the shell: completion, help, hidden password, Ctrl-C during a put, Ctrl-D", async () => {
  const network = await startNetwork(3);
  const terminal = new Terminal();
  try {
    const small = `${network.dir}/note.txt`;
    await Deno.writeTextFile(small, "hello from the shell\n");
    const big = `${network.dir}/big.bin`;
    const file = await Deno.open(big, { write: true, create: true });
    const block = new Uint8Array(2 ** 20);
    for (let i = 0; i < 400; i++) await file.write(block);
    file.close();
    const env = Object.entries({ ...network.env, TERM: "xterm" })
      .map(([name, value]) => `${name}='${value}'`).join(" ");
    const shell = [Deno.execPath(), ...secshrnetArgs(), "shell"].join(" ");
    await terminal.start(`env ${env} ${shell}; echo "EXIT=$?"; sleep 30`);
    await terminal.waitFor(/secshrnet \(3 online\)>\s*$/m);

    // Tab completes a command name; help lists the commands.
    await terminal.type("he");
    await terminal.key("Tab");
    await terminal.key("Enter");
    await terminal.waitFor(/Ctrl-C stops the running command/);

    // put asks for the password twice at a hidden prompt.
    await terminal.type(`put /notes/hello ${small} --log-n 10`);
    await terminal.key("Enter");
    await terminal.waitFor(/Password for \/notes\/hello:\s*$/m);
    await terminal.type(PASSWORD);
    await terminal.key("Enter");
    await terminal.waitFor(/Repeat the password:\s*$/m);
    await terminal.type(PASSWORD);
    await terminal.key("Enter");
    await terminal.waitFor(/stored "\/notes\/hello" \(21 B\) on 3 of 3 servers/);

    // Tab completes a tag from the network (the list refreshes every 3 s).
    await terminal.type("ls");
    await terminal.key("Enter");
    await terminal.waitFor(/\/notes\/hello\s+21 B/);
    await new Promise((resolve) => setTimeout(resolve, 3500));
    await terminal.type("get /no");
    await terminal.key("Tab");
    await terminal.waitFor(/> get \/notes\/hello\s*$/m);
    await terminal.key("C-u");

    // Ctrl-C during a long put: the shell stays, nothing is half stored.
    await terminal.type(`put /big ${big} --log-n 10`);
    await terminal.key("Enter");
    await terminal.waitFor(/Password for \/big:\s*$/m);
    await terminal.type(PASSWORD);
    await terminal.key("Enter");
    await terminal.waitFor(/Password for \/big:\s*\nRepeat the password:\s*$/m);
    await terminal.type(PASSWORD);
    await terminal.key("Enter");
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await terminal.key("C-c");
    await terminal.waitFor(/interrupted\nsecshrnet \(3 online\)>\s*$/m);
    await terminal.type("ls --json");
    await terminal.key("Enter");
    const listing = await terminal.waitFor(/"tag": "\/notes\/hello"[\s\S]*\]\nsecshrnet/);
    assert(!listing.includes('"tag": "/big"'), "an interrupted put is listed");
    for (const server of network.servers) {
      const uploads = [...Deno.readDirSync(`${server.root}/uploads`)];
      assertEquals(uploads, [], `${server.root} keeps a partial upload`);
    }

    // The prompt follows the servers that come and go.
    await network.servers[0].stop();
    await terminal.waitFor(/secshrnet \(2 online\)>\s*$/m);

    // ...counts trusted servers only, and 'trust' in the shell changes what it counts.
    const stranger = await network.addServer({ trusted: false });
    await terminal.waitFor(/secshrnet \(2 online, 1 untrusted\)>\s*$/m);
    await terminal.type("trust --all");
    await terminal.key("Enter");
    await terminal.waitFor(new RegExp(`trusted ${stranger.name}  `));
    await terminal.waitFor(/secshrnet \(3 online\)>\s*$/m);

    // The password never reached the screen, and Ctrl-D leaves with 0.
    await terminal.key("C-d");
    const end = await terminal.waitFor(/EXIT=\d+/);
    assert(end.includes("EXIT=0"), end);
    assert(!end.includes(PASSWORD), "the password was echoed");
    const history = await Deno.readTextFile(`${network.dir}/.secshrnet/history`);
    assert(history.includes("put /notes/hello"), history);
    assert(!history.includes(PASSWORD), "the password is in the history");
  } finally {
    await terminal.stop();
    await network.stop();
  }
});
