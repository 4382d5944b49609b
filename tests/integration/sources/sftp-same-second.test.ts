/**
 * SFTP gives mtimes in whole seconds and no ctime, so a release rebuilt with the same size in the
 * second the last run stat'ed it keeps its size + mtime: the run said "up to date" and kept the old
 * release. The racy rule (git's): a stat whose mtime is not older than the moment it was taken
 * (by more than the clock's granularity) vouches for nothing next time; the archive is read again.
 * Run as an operator would: the built CLI against a real sshd.
 */
import { mkdir, mkdtemp, readFile, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hasProgram } from "../../support/require-program.js";
import { type SshdServer, sftpShipToml, startSshd } from "../../support/servers/sshd.js";
import { runShip } from "../../support/ship-cli.js";
import { appRelease } from "../../unit/sources/tar-builder.js";

describe.skipIf(!hasProgram("sshd"))("sftp: a same-size release in the same second is not missed", () => {
  let root: string;
  let sshd: SshdServer;
  let remote: string;
  let config: string;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "ship-sftp-racy-"));
    sshd = await startSshd(join(root, "sshd"));
    await mkdir(join(root, "app"));
    await mkdir(join(root, "releases"));
    remote = join(root, "releases/app.tar");
    config = join(root, "ship.toml");
    await writeFile(config, sftpShipToml(sshd, { root, remotePath: remote, name: "web" }));
  });
  afterAll(async () => {
    await sshd?.close();
    await rm(root, { recursive: true, force: true });
  });

  const ship = (...args: string[]) => runShip(["--config", config, ...args]);
  /** Puts `body` at remote_path with mtime `at` (whole seconds, as SFTP reports it). */
  const publish = async (body: Buffer, at: Date) => {
    await writeFile(remote, body);
    await utimes(remote, at, at);
  };
  const installed = () => readFile(join(root, "app/app.txt"), "utf8");

  it("a rebuild keeping size and mtime after a run that stat'ed it in that second is installed", async () => {
    const v1 = appRelease("1.0.1");
    const v2 = appRelease("1.0.2");
    expect(v2.length).toBe(v1.length);
    // A second the runs below cannot be past by 2 s however loaded the machine is: the runs stat
    // the release "in its second" (or a server whose clock is ahead of ours).
    const second = new Date((Math.floor(Date.now() / 1000) + 30) * 1000);
    await publish(v1, second);
    const first = await ship();
    expect(first.code, first.stdout + first.stderr).toBe(0);
    expect(await installed()).toBe("app 1.0.1\n");

    await publish(v2, second);
    const check = await ship("--check-only");
    expect(check.code, check.stdout + check.stderr).toBe(100);
    const run = await ship();
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(await installed()).toBe("app 1.0.2\n");
  }, 120_000);

  it("a settled release (older than a few seconds) is judged by one stat; re-read once when its stat was racy", async () => {
    const v3 = appRelease("1.0.3");
    await publish(v3, new Date(Date.now() + 30_000));
    const run = await ship();
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(await installed()).toBe("app 1.0.3\n");
    // The same bytes, now an hour old: the run reads them once more, finds the installed release
    // and records a stat it can trust from then on.
    await utimes(remote, new Date(Date.now() - 3_600_000), new Date(Date.now() - 3_600_000));
    const reread = await ship();
    expect(reread.code, reread.stdout + reread.stderr).toBe(0);
    expect(reread.stdout).toContain("up to date");
    const settled = await ship("--check-only");
    expect(settled.code, settled.stdout + settled.stderr).toBe(0);
    expect(settled.stdout).toContain("web: up to date (1.0.3)");
  }, 120_000);
});
