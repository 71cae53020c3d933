/** `ls PATTERN...` filters tags with globs; `ls` and `servers` take --timeout (issue 11). */

import { assert, assertEquals } from "./assert.ts";
import { prng } from "./prng.ts";
import { putBytes, withNetwork } from "./harness/client.ts";
import { globToRegExp } from "../cli/commands/ls.ts";

Deno.test("glob patterns: * spans slashes, ? one character, everything else literal", () => {
  const cases: [string, string, boolean][] = [
    ["/keys/*", "/keys/wallet.dat", true],
    ["/keys/*", "/keys/a/b", true],
    ["/keys/*", "/backup/keys/x", false],
    ["*.dat", "/keys/wallet.dat", true],
    ["/k?ys/*", "/keys/x", true],
    ["a.b", "axb", false],
    ["(a)+[b]", "(a)+[b]", true],
  ];
  for (const [pattern, tag, matches] of cases) {
    assertEquals(globToRegExp(pattern).test(tag), matches, `${pattern} ~ ${tag}`);
  }
});

Deno.test("ls PATTERN lists the matching tags only; ls and servers take --timeout", async () => {
  await withNetwork(3, async (network) => {
    for (const tag of ["/keys/wallet.dat", "/keys/ssh/id_ed25519", "/backup/notes.tar"]) {
      const put = await putBytes(network, tag, prng(tag.length).bytes(2000), ["-k", "2"]);
      assertEquals(put.code, 0, put.stderr);
    }
    const keys = await network.run(["ls", "/keys/*", "--json", "--timeout", "5"]);
    assertEquals(keys.code, 0, keys.stderr);
    assertEquals(
      (JSON.parse(keys.stdout) as { tag: string }[]).map((e) => e.tag),
      ["/keys/ssh/id_ed25519", "/keys/wallet.dat"],
    );
    const two = await network.run(["ls", "*.tar", "/keys/w*", "--json"]);
    assertEquals((JSON.parse(two.stdout) as { tag: string }[]).map((e) => e.tag), [
      "/backup/notes.tar",
      "/keys/wallet.dat",
    ]);
    const none = await network.run(["ls", "/nothing/*"]);
    assertEquals([none.code, none.stdout, none.stderr.trim()], [0, "", "no tag matches"]);
    const servers = await network.run(["servers", "--json", "--timeout", "5"]);
    assertEquals(servers.code, 0, servers.stderr);
    assertEquals(JSON.parse(servers.stdout).length, 3);
    const bad = await network.run(["ls", "--timeout", "0"]);
    assertEquals(bad.code, 2);
    assert(bad.stderr.includes("--timeout must be"), bad.stderr);
  });
});
