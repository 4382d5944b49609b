/**
 * What `ship` and `ship --check-only` ask of an SFTP server, counted in a real sshd's log: each run
 * is one SSH connection, and the release is stat'ed once and read once. A run used to connect
 * twice (once for its check, once more for its fetch, each with its key exchange and login), stat
 * the release in each, and look for a `.sha256` beside it with a stat and then an lstat when there
 * is none.
 */
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hasProgram } from "../../support/require-program.js";
import { type SshdServer, sftpShipToml, startSshd } from "../../support/servers/sshd.js";
import { runShip } from "../../support/ship-cli.js";
import { appRelease } from "../../unit/sources/tar-builder.js";

const release = (version: string) => gzipSync(appRelease(version));

describe.skipIf(!hasProgram("sshd"))("requests a run and a check make to an sftp source (real sshd)", () => {
  let root: string;
  let sshd: SshdServer;
  let config: string;
  let remote: string;
  let sshdFrom = 0;
  let sftpFrom = 0;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "ship-sftp-requests-"));
    sshd = await startSshd(join(root, "sshd"), { logSftpRequests: true });
    await mkdir(join(root, "app"));
    await mkdir(join(root, "releases"));
    remote = join(root, "releases/app.tar.gz");
    config = join(root, "ship.toml");
    await writeFile(config, sftpShipToml(sshd, { root, remotePath: remote, name: "web" }));
  });
  afterAll(async () => {
    await sshd?.close();
    await rm(root, { recursive: true, force: true });
  });

  /**
   * What the server saw since the last call: logins (sshd's log), and the sftp requests naming a
   * file (sftp-server's), once every session has ended (sftp-server logs its close as it exits).
   */
  const seen = async () => {
    const sftpLog = async () => (await readFile(sshd.sftpLogFile, "utf8").catch(() => "")).slice(sftpFrom);
    const logins = (
      sshd
        .log()
        .slice(sshdFrom)
        .match(/Accepted publickey/g) ?? []
    ).length;
    await expect.poll(async () => ((await sftpLog()).match(/session closed/g) ?? []).length).toBe(logins);
    const requests = await sftpLog();
    sshdFrom = sshd.log().length;
    sftpFrom += requests.length;
    const named = [...requests.matchAll(/\b(l?stat) name "([^"]*)"|\b(open) "([^"]*)"/g)].map((m) =>
      m[1] === undefined ? `open ${m[4]}` : `${m[1]} ${m[2]}`,
    );
    return { logins, requests: named.map((r) => r.replace(root, "")) };
  };
  const ship = (...args: string[]) => runShip(["--config", config, ...args]);

  it("an update, a check-only and an up-to-date check: one login each, the release stat'ed once", async () => {
    const rel = "/releases/app.tar.gz";
    await writeFile(remote, release("1.0.0"));
    // Uploaded a while ago: a stat vouches only for an mtime that had settled when it was read.
    const hourAgo = new Date(Date.now() - 3_600_000);
    await utimes(remote, hourAgo, hourAgo);
    const first = await ship();
    expect(first.code, first.stdout + first.stderr).toBe(0);
    // No checksum configured: the .sha256 beside the release is looked for, and is not there.
    expect(await seen()).toEqual({
      logins: 1,
      requests: [`stat ${rel}`, `lstat ${rel}.sha256`, `open ${rel}`],
    });

    for (const args of [["--check-only"], []]) {
      const current = await ship(...args);
      expect(current.code, current.stdout + current.stderr).toBe(0);
      expect(current.stdout).toContain("web: up to date (1.0.0)");
      expect(await seen()).toEqual({ logins: 1, requests: [`stat ${rel}`] });
    }

    const v2 = release("2.0.0");
    await writeFile(remote, v2);
    await writeFile(`${remote}.sha256`, `${createHash("sha256").update(v2).digest("hex")}  app.tar.gz\n`);
    await utimes(remote, new Date(), new Date(Date.now() + 5000));
    const update = [`stat ${rel}`, `lstat ${rel}.sha256`, `open ${rel}.sha256`, `open ${rel}`];
    const check = await ship("--check-only");
    expect(check.code, check.stdout + check.stderr).toBe(100);
    expect(await seen()).toEqual({ logins: 1, requests: update });

    const run = await ship();
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(await readFile(join(root, "app/app.txt"), "utf8")).toBe("app 2.0.0\n");
    expect(await seen()).toEqual({ logins: 1, requests: update });
  }, 180_000);
});
