/**
 * An SFTP `remote_path` that names a directory (`/releases/`, as if ship picked the newest file in
 * it) is bad input naming the key, in a run and in --check-only. The check saw a change (4096 bytes,
 * a new mtime) and the download then met the server's bare "Failure": "myapp: Failure", exit 1 on
 * every run, as if a retry could help.
 * Real sshd, real CLI.
 */
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { hasProgram } from "../../support/require-program.js";
import { type SshdServer, sftpShipToml, startSshd } from "../../support/servers/sshd.js";
import { runShip } from "../../support/ship-cli.js";

describe.skipIf(!hasProgram("sshd"))("sftp source: remote_path is a directory", () => {
  let root: string;
  let sshd: SshdServer;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "ship-sftp-dir-"));
    sshd = await startSshd(join(root, "sshd"));
    await mkdir(join(root, "app"));
    await mkdir(join(root, "releases"));
    await writeFile(join(root, "releases/myapp-1.0.0.tar.gz"), "not used\n");
  });
  afterEach(async () => {
    await sshd.close();
    await rm(root, { recursive: true, force: true });
  });

  it("is exit 2 naming remote_path, in --check-only and in a run; nothing installed", async () => {
    const config = join(root, "ship.toml");
    await writeFile(config, sftpShipToml(sshd, { root, remotePath: `${root}/releases` }));
    for (const args of [["--check-only"], []]) {
      const run = await runShip(["--config", config, ...args]);
      expect(run.code, run.stdout + run.stderr).toBe(2);
      expect(run.stdout).toContain(
        `myapp: ${config} sources.myapp.remote_path: sftp://${sshd.user}@${sshd.host}:${sshd.port}${root}/releases is a directory: name the release archive in it`,
      );
    }
    expect(await readdir(join(root, "app"))).toEqual([]);
  }, 60_000);
});
