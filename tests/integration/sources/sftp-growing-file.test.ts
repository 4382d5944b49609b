/**
 * An SFTP release written in place while an agent reads it (the seed's
 * `scp myapp.tar.gz host:/releases/myapp-latest.tar.gz`) is a release not settled yet: exit 1,
 * nothing installed, the next run tries again. It was exit 2 (bad input, as for a wrong config)
 * naming ship's own download file ("…/myapp.artifact: the remote file grew while downloading").
 * Real sshd, real CLI, a real writer appending to the remote file during the run.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { hasProgram } from "../../support/require-program.js";
import { type SshdServer, sftpShipToml, startSshd } from "../../support/servers/sshd.js";
import { runShip } from "../../support/ship-cli.js";

describe.skipIf(!hasProgram("sshd"))("sftp source: the release file grows during the download", () => {
  let root: string;
  let sshd: SshdServer;
  let writer: ChildProcess | undefined;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "ship-sftp-growing-"));
    sshd = await startSshd(join(root, "sshd"));
    await mkdir(join(root, "app"));
    await mkdir(join(root, "releases"));
  });
  afterEach(async () => {
    if (writer?.pid !== undefined && writer.exitCode === null) writer.kill("SIGKILL");
    await sshd.close();
    await rm(root, { recursive: true, force: true });
  });

  it("is exit 1 naming the remote file, with nothing installed", async () => {
    const release = join(root, "releases/myapp-latest.tar.gz");
    await writeFile(release, Buffer.alloc(1 << 20));
    // 64 KiB every 20 ms until killed, as a slow upload still being written.
    writer = spawn("sh", ["-c", `while :; do head -c 65536 /dev/zero; sleep 0.02; done >> '${release}'`], {
      stdio: "ignore",
    });
    const config = join(root, "ship.toml");
    await writeFile(
      config,
      sftpShipToml(sshd, { root, remotePath: release, sourceKeys: "max_download_mb = 4096\n" }),
    );
    const run = await runShip(["--config", config]);
    writer.kill("SIGKILL");
    expect(run.code, run.stdout + run.stderr).toBe(1);
    expect(run.stdout).toContain(
      `myapp: update failed at fetch: sftp://${sshd.user}@${sshd.host}:${sshd.port}${release}: changed on the server during the download`,
    );
    expect(run.stdout + run.stderr).not.toContain(".artifact");
    expect(await readdir(join(root, "app"))).toEqual([]);
  }, 60_000);
});
