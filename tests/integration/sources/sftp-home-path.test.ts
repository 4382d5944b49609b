/**
 * An sftp `remote_path` written from the login's home as scp and sftp users write it,
 * `~/releases/myapp-latest.tar.gz`. A relative path already was the home's, but `~/` went to the
 * server as is: exit 2 "sftp://user@host/~/~/releases/… is not on the server (no such file)" for a
 * file that is there. Checked with a real `ship` run against a real sshd; the path reaches a
 * temporary directory from the home (`~/../tmp/…`), so the test writes nothing in the home.
 * A `checksum` file on the server is written the same ways: `~/…` and relative paths were refused
 * as "not an absolute path" (exit 2) while `remote_path` beside them took both.
 */
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { homedir, tmpdir } from "node:os";
import { join, relative } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hasProgram } from "../../support/require-program.js";
import { type SshdServer, sftpShipToml, startSshd } from "../../support/servers/sshd.js";
import { runShip } from "../../support/ship-cli.js";
import { appRelease } from "../../unit/sources/tar-builder.js";

describe.skipIf(!hasProgram("sshd"))("an sftp remote_path starting with ~/ (real sshd)", () => {
  let root: string;
  let sshd: SshdServer;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "ship-sftp-home-"));
    sshd = await startSshd(join(root, "sshd"));
    await mkdir(join(root, "releases"));
    await mkdir(join(root, "app"));
  });
  afterAll(async () => {
    await sshd?.close();
    await rm(root, { recursive: true, force: true });
  });

  it("is the login's home, as a relative path is: found, checked and installed", async () => {
    await writeFile(join(root, "releases/myapp-latest.tar.gz"), gzipSync(appRelease("1.0.0")));
    const fromHome = `~/${relative(homedir(), join(root, "releases/myapp-latest.tar.gz"))}`;
    const config = join(root, "ship.toml");
    await writeFile(config, sftpShipToml(sshd, { root, remotePath: fromHome }));
    const check = await runShip(["--config", config, "--check-only"]);
    expect(check.code, check.stdout + check.stderr).toBe(100);
    const run = await runShip(["--config", config]);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toContain("installed 1.0.0");
    expect(await readFile(join(root, "app/app.txt"), "utf8")).toBe("app 1.0.0\n");

    const again = await runShip(["--config", config, "--check-only"]);
    expect(again.code, again.stdout).toBe(0);
    expect(again.stdout).toContain("up to date (1.0.0)");
  });

  it("a file that is not there is named once, from the home: sftp://user@host:port/~/…", async () => {
    const config = join(root, "ship-missing.toml");
    await writeFile(config, sftpShipToml(sshd, { root, remotePath: "~/no-such-dir-for-ship/app.tar.gz" }));
    const run = await runShip(["--config", config, "--check-only"]);
    expect(run.code).toBe(2);
    expect(run.stdout).toContain(
      `sftp://${sshd.user}@127.0.0.1:${sshd.port}/~/no-such-dir-for-ship/app.tar.gz is not on the server`,
    );
  });

  it("a checksum file written from the home (~/… or relative) is read there and verified", async () => {
    const release = gzipSync(appRelease("3.0.0"));
    await writeFile(join(root, "releases/myapp-3.0.0.tar.gz"), release);
    const sum = createHash("sha256").update(release).digest("hex");
    await writeFile(join(root, "releases/right.sha256"), `${sum}  myapp-3.0.0.tar.gz\n`);
    await writeFile(join(root, "releases/wrong.sha256"), `${"0".repeat(64)}  myapp-3.0.0.tar.gz\n`);
    const fromHome = (name: string) => relative(homedir(), join(root, "releases", name));
    const run = async (sub: string, checksum: string) => {
      const dir = join(root, sub);
      await mkdir(join(dir, "app"), { recursive: true });
      const config = join(dir, "ship.toml");
      const remotePath = `~/${fromHome("myapp-3.0.0.tar.gz")}`;
      const sourceKeys = `checksum = ${JSON.stringify(checksum)}\n`;
      await writeFile(config, sftpShipToml(sshd, { root: dir, remotePath, sourceKeys }));
      return { dir, result: await runShip(["--config", config]) };
    };

    for (const [sub, checksum] of [
      ["tilde", `~/${fromHome("right.sha256")}`],
      ["relative", fromHome("right.sha256")],
    ] as const) {
      const { dir, result } = await run(sub, checksum);
      expect(result.code, result.stdout + result.stderr).toBe(0);
      expect(result.stdout).toContain("installed 3.0.0");
      expect(await readFile(join(dir, "app/app.txt"), "utf8")).toBe("app 3.0.0\n");
    }

    const { dir, result } = await run("wrong", `~/${fromHome("wrong.sha256")}`);
    expect(result.code, result.stdout + result.stderr).toBe(2);
    expect(result.stdout).toContain(`checksum mismatch: expected sha256 ${"0".repeat(64)}, got ${sum}`);
    expect(await readdir(join(dir, "app"))).toEqual([]);

    const missing = await run("missing", "~/no-such-dir-for-ship/app.sha256");
    expect(missing.result.code).toBe(2);
    expect(missing.result.stdout).toContain(
      `sources.myapp.checksum: sftp://${sshd.user}@127.0.0.1:${sshd.port}/~/no-such-dir-for-ship/app.sha256 is not on the server`,
    );
  });
});
