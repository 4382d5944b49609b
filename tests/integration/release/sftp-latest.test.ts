import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, open, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hasProgram } from "../../support/require-program.js";
import { type SshdServer, startSshd } from "../../support/servers/sshd.js";
import { runShip } from "../../support/ship-cli.js";

describe.skipIf(!hasProgram("sshd"))("ship release sftp --latest (real sshd, real ship process)", () => {
  let dir: string;
  let sshd: SshdServer;
  let app: string;
  let remote: string;
  const release = (version: string, ...extra: string[]) =>
    runShip([
      ...["release", "-C", app, "sftp", version, "Hotfix", sshd.host, sshd.user, remote],
      ...["--port", String(sshd.port), "--key", sshd.clientKey.privateKeyFile],
      ...["--known-hosts", sshd.knownHostsFile, "--app", "myapp", "--out", join(dir, "dist")],
      ...extra,
    ]);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "ship-sftp-latest-"));
    // A server whose umask lets files be created world-writable unless the client says otherwise.
    sshd = await startSshd(join(dir, "sshd"), { sftpUmask: "000" });
    app = join(dir, "myapp");
    remote = join(dir, "remote/releases");
    await mkdir(join(app, "src"), { recursive: true });
  });
  afterAll(async () => {
    await sshd?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("switches the stable name to each verified upload by an atomic rename; files are 0644", async () => {
    await writeFile(join(app, "src/main.py"), "print('v1')\n");
    const first = await release("1.0.0", "--latest", "myapp-latest.tar.gz");
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/switched .*myapp-latest\.tar\.gz → myapp-1\.0\.0\.tar\.gz/);
    // The lines for ship.toml watch the stable name: a checksum pinned there would refuse the next
    // release, so none is printed; the agent checks the .sha256 switched with it.
    expect(first.stdout).toContain(`remote_path = "${remote}/myapp-latest.tar.gz"`);
    expect(first.stdout).not.toMatch(/^checksum = /m);
    expect(first.stdout).toContain("myapp-latest.tar.gz.sha256");
    const v1 = await readFile(join(dir, "dist/myapp-1.0.0.tar.gz"));
    expect((await readFile(join(remote, "myapp-latest.tar.gz"))).equals(v1)).toBe(true);
    expect(
      execFileSync("sha256sum", ["-c", "myapp-latest.tar.gz.sha256"], { cwd: remote }).toString(),
    ).toContain("myapp-latest.tar.gz: OK");
    for (const name of await readdir(remote)) {
      expect(((await stat(join(remote, name))).mode & 0o777).toString(8), name).toBe("644");
    }

    // An agent that is reading the old stable file keeps reading whole v1: the name moves, the bytes do not.
    const reader = await open(join(remote, "myapp-latest.tar.gz"));
    try {
      await writeFile(join(app, "src/main.py"), "print('v2')\n");
      const second = await release("1.0.1", "--latest", "myapp-latest.tar.gz");
      expect(second.code, second.stderr).toBe(0);
      const v2 = await readFile(join(dir, "dist/myapp-1.0.1.tar.gz"));
      expect((await readFile(join(remote, "myapp-latest.tar.gz"))).equals(v2)).toBe(true);
      expect((await reader.readFile()).equals(v1)).toBe(true);
    } finally {
      await reader.close();
    }
    expect((await readdir(remote)).sort()).toEqual([
      "myapp-1.0.0.tar.gz",
      "myapp-1.0.0.tar.gz.sha256",
      "myapp-1.0.1.tar.gz",
      "myapp-1.0.1.tar.gz.sha256",
      "myapp-latest.tar.gz",
      "myapp-latest.tar.gz.sha256",
    ]);
    expect(
      execFileSync("sha256sum", ["-c", "myapp-latest.tar.gz.sha256"], { cwd: remote }).toString(),
    ).toContain("OK");
  }, 180_000); // two builds, uploads and ship processes: slow on a loaded machine

  it("refuses a --latest that is not a plain file name before building or uploading", async () => {
    const bad = await release("1.0.2", "--latest", "../escape.tar.gz");
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--latest");
    await expect(stat(join(dir, "dist/myapp-1.0.2.tar.gz"))).rejects.toThrow();
  });
});
