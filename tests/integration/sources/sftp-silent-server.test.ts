/**
 * An SFTP server that stops answering mid-download (a network cut with no reset, a hung sshd):
 * the connection had no keepalives and no timeout, so the read waited for ever and the run kept
 * its lock (a SIGTERM waited on it too). SSH keepalives now give it `timeout_seconds`: exit 1
 * naming the server, nothing installed, and the next run can start. Real sshd behind a real TCP
 * relay that goes silent after the first bytes of the file, real CLI.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { hasProgram } from "../../support/require-program.js";
import { type SilentRelay, silencingRelay, throttledRelay } from "../../support/servers/silent-relay.js";
import { type SshdServer, sftpShipToml, startSshd } from "../../support/servers/sshd.js";
import { runShip } from "../../support/ship-cli.js";

describe.skipIf(!hasProgram("sshd"))("sftp source: a server silent or too slow mid-download", () => {
  let root: string;
  let sshd: SshdServer;
  let relay: SilentRelay | undefined;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "ship-sftp-silent-"));
    sshd = await startSshd(join(root, "sshd"));
    await mkdir(join(root, "app"));
    await writeFile(join(root, "app/app.txt"), "1.0.0\n");
    await mkdir(join(root, "releases"));
    const release = join(root, "release");
    await mkdir(release);
    await writeFile(join(release, "update-manifest.yaml"), 'version: "2.0.0"\n');
    await writeFile(join(release, "big.bin"), randomBytes(4 << 20));
    execFileSync("tar", ["-C", release, "-czf", join(root, "releases/myapp-latest.tar.gz"), "."]);
  });
  afterEach(async () => {
    await relay?.close();
    await sshd.close();
    await rm(root, { recursive: true, force: true });
  });

  const run = async (port: number, extra: string) => {
    const config = join(root, "ship.toml");
    await writeFile(
      config,
      sftpShipToml(sshd, {
        root,
        remotePath: `${root}/releases/myapp-latest.tar.gz`,
        port,
        sourceKeys: `host_fingerprint = "${sshd.hostFingerprint}"\n${extra}`,
      }),
    );
    return runShip(["--config", config], { timeoutMs: 40_000 });
  };

  it("is given up after timeout_seconds: exit 1, nothing installed", async () => {
    // Past the handshake and the stat, into the file (4 MiB of it).
    relay = await silencingRelay(sshd.port, 256 * 1024);
    const started = Date.now();
    const result = await run(relay.port, "timeout_seconds = 2\n");
    expect(result.code, result.stdout + result.stderr).toBe(1);
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(result.stdout).toContain(
      "failed: the connection ended before the file was read (no answer from the server for [sources.myapp] timeout_seconds = 2 s, or it closed the connection); the next run tries again",
    );
    expect(await readFile(join(root, "app/app.txt"), "utf8")).toBe("1.0.0\n");
  }, 60_000);

  // A server that takes the connection and never greets (a tarpit, sshd at MaxStartups) was given
  // a fixed 20 s whatever timeout_seconds said, and named as ssh2's "Timed out while waiting for
  // handshake".
  it("one that never greets is given up after timeout_seconds, saying so", async () => {
    relay = await silencingRelay(sshd.port, 0);
    const started = Date.now();
    const result = await run(relay.port, "timeout_seconds = 2\n");
    expect(result.code, result.stdout + result.stderr).toBe(1);
    expect(Date.now() - started).toBeLessThan(12_000);
    expect(result.stdout).toContain(
      `myapp: cannot connect to sftp://${sshd.user}@${sshd.host}:${relay.port}: no SSH greeting within [sources.myapp] timeout_seconds = 2 s (ssh2: Timed out while waiting for handshake)`,
    );
    expect(await readFile(join(root, "app/app.txt"), "utf8")).toBe("1.0.0\n");
  }, 60_000);

  // Keepalives are answered on a slow link: only a total limit ends a download that never finishes.
  it("one that sends too slowly to finish is given up after max_download_seconds", async () => {
    relay = await throttledRelay(sshd.port, 64 * 1024);
    const started = Date.now();
    const result = await run(relay.port, "max_download_seconds = 3\n");
    expect(result.code, result.stdout + result.stderr).toBe(1);
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(result.stdout).toMatch(
      /failed: not done after 3 s, the most \[sources\.myapp\] max_download_seconds allows \(\d+ of \d+ bytes arrived\)/,
    );
    expect(await readFile(join(root, "app/app.txt"), "utf8")).toBe("1.0.0\n");
  }, 60_000);
});
