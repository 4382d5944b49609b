/**
 * A local release archive's `.sig` (read under `[trust]`) that is a named pipe: opened for reading,
 * it waited for a writer for ever — the run held the app's lock, printed nothing, and SIGTERM did
 * not end it. What holds: exit 2 naming the file and what it is, nothing installed.
 */
import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";

describe("a local release's .sig that is a FIFO", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "ship-companion-fifo-"));
    await mkdir(join(dir, "src"));
    await writeFile(join(dir, "src/main.py"), "print(1)\n");
    const release = (...args: string[]) => runShip(["release", "-C", dir, ...args]);
    expect((await release("http", "1.0.0", "d", "--app", "myapp", "--out", "dist")).code).toBe(0);
    expect((await release("keygen", "--out", "keys")).code).toBe(0);
  }, 60_000);
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("exit 2 naming it, nothing installed", async () => {
    const fifo = "myapp-1.0.0.tar.gz.sig";
    const at = join(dir, "host");
    await mkdir(join(at, "app"), { recursive: true });
    execFileSync("cp", [join(dir, "dist/myapp-1.0.0.tar.gz"), at]);
    execFileSync("mkfifo", [join(at, fifo)]);
    const config = join(at, "ship.toml");
    await writeFile(
      config,
      `[general]\nstate_file = "${at}/state.json"\nbackup_dir = "${at}/backups"\n` +
        `[sources.myapp]\ntype = "local"\npath = "${at}/myapp-1.0.0.tar.gz"\napp_dir = "${at}/app"\n` +
        `[trust]\nkey_files = ["${dir}/keys/ship-release.pub"]\n`,
    );
    const run = await runShip(["--config", config, "--force"], { timeoutMs: 20_000 });
    expect(run.stderr).toContain(`cannot read ${join(at, fifo)}: it is a named pipe (fifo), not a file`);
    expect(run.code).toBe(2);
    expect(await readdir(join(at, "app"))).toEqual([]);
  });
});
