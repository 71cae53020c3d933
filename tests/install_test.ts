/**
 * `deno task install` makes a global `secshrnet` command (a `deno install
 * --global` shim) that runs in the caller's directory: installed into a
 * temporary DENO_INSTALL_ROOT, it stores and retrieves a file given by
 * relative paths from an unrelated directory, with Deno's network cut off
 * (dependencies come from the lock file and the local cache), prints no
 * "Task …" line, writes nothing into the repository, and `deno task
 * uninstall` with the same root removes it.
 *
 * @module
 */

import { assert, assertEquals } from "./assert.ts";
import { runProcess, startNetwork } from "./harness/network.ts";
import { FAST, PW } from "./harness/client.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const DENO_JSON = `${ROOT}deno.json`;

/** A proxy nobody listens on: any download Deno tries fails instead of reaching the internet. */
const OFFLINE = {
  HTTPS_PROXY: "http://127.0.0.1:9",
  HTTP_PROXY: "http://127.0.0.1:9",
  NO_PROXY: "",
};

async function exists(path: string): Promise<boolean> {
  return await Deno.lstat(path).then(() => true, () => false);
}

Deno.test("deno task install: a secshrnet command that works in the caller's directory", async () => {
  const installRoot = await Deno.makeTempDir({ prefix: "secshrnet-install-" });
  const work = await Deno.makeTempDir({ prefix: "secshrnet-cwd-" });
  const network = await startNetwork(3);
  try {
    const denoBin = Deno.execPath().replace(/\/[^/]*$/, "");
    const path = `${installRoot}/bin:${denoBin}:${Deno.env.get("PATH") ?? "/usr/bin:/bin"}`;
    const env = { ...network.env, ...OFFLINE, DENO_INSTALL_ROOT: installRoot, PATH: path };

    // `deno task install`, asked for from the unrelated directory (tasks run in the repo's).
    const install = await runProcess(Deno.execPath(), {
      args: ["task", "--config", DENO_JSON, "install"],
      cwd: work,
      env,
      timeoutMs: 60_000,
    });
    assertEquals(install.code, 0, `install failed:\n${install.stderr}`);
    const shim = `${installRoot}/bin/secshrnet`;
    assert(await exists(shim), `no shim at ${shim}`);

    const secshrnet = (args: string[], extra: Record<string, string> = {}) =>
      runProcess(shim, { args, cwd: work, env: { ...env, ...extra }, timeoutMs: 60_000 });

    const version = await secshrnet(["--version"]);
    assertEquals(version.code, 0, version.stderr);
    assert(/^secshrnet \d/.test(version.stdout), version.stdout);
    assert(!/Task/.test(version.stdout + version.stderr), "the shim printed a Task line");

    // Relative paths resolve against the caller's directory.
    await Deno.mkdir(`${work}/sub`);
    const data = new Uint8Array(200_000);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7919 + (i >> 8)) & 0xff;
    await Deno.writeFile(`${work}/sub/file.bin`, data);

    const put = await secshrnet(["put", "/t", "./sub/file.bin", ...FAST], PW);
    assertEquals(put.code, 0, `put failed:\n${put.stderr}`);
    assert(!/Task/.test(put.stdout + put.stderr), "put printed a Task line");

    const get = await secshrnet(["get", "/t", "./out.bin"], PW);
    assertEquals(get.code, 0, `get failed:\n${get.stderr}`);
    assertEquals(await Deno.readFile(`${work}/out.bin`), data);
    for (const name of ["out.bin", "sub", "cli/out.bin", "cli/sub"]) {
      assert(!await exists(`${ROOT}${name}`), `${name} landed in the repository`);
    }

    // `deno task uninstall` with the same root removes the shim.
    const uninstall = await runProcess(Deno.execPath(), {
      args: ["task", "--config", DENO_JSON, "uninstall"],
      cwd: work,
      env,
      timeoutMs: 30_000,
    });
    assertEquals(uninstall.code, 0, `uninstall failed:\n${uninstall.stderr}`);
    assert(!await exists(shim), "the shim is still there after uninstall");
    assert(!await exists(`${installRoot}/bin/.secshrnet`), "the shim's config is still there");
  } finally {
    await network.stop();
    await Deno.remove(work, { recursive: true }).catch(() => {});
    await Deno.remove(installRoot, { recursive: true }).catch(() => {});
  }
});
