/**
 * `ship release sftp --sign-key KEY`: the seed's SFTP flow for agents with [trust] keys. Those
 * agents read `<remote_path>.sig` beside the file they watch, and `ship release sftp` had no way to
 * put one there (nor beside `--latest myapp-latest.tar.gz`), so every such agent refused its
 * releases as unsigned. Now the archive is signed after the build and its .sig uploaded and switched
 * with it; an unsigned --latest upload takes the previous release's .sig away. Real sshd, real ship
 * processes for the release and for the agent's run.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hasProgram } from "../../support/require-program.js";
import { type SshdServer, sftpShipToml, startSshd } from "../../support/servers/sshd.js";
import { runShip } from "../../support/ship-cli.js";

describe.skipIf(!hasProgram("sshd"))("ship release sftp --sign-key, installed by a [trust] agent", () => {
  let dir: string;
  let sshd: SshdServer;
  let build: string;
  let remote: string;
  let config: string;
  const release = (version: string, ...extra: string[]) =>
    runShip([
      ...["release", "-C", build, "sftp", version, "Hotfix", sshd.host, sshd.user, remote],
      ...["--port", String(sshd.port), "--key", sshd.clientKey.privateKeyFile],
      ...["--known-hosts", sshd.knownHostsFile, "--app", "myapp", "--out", join(dir, "dist")],
      ...["--latest", "myapp-latest.tar.gz", ...extra],
    ]);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "ship-sftp-signed-"));
    sshd = await startSshd(join(dir, "sshd"));
    build = join(dir, "build");
    remote = join(dir, "remote/releases");
    await mkdir(join(build, "src"), { recursive: true });
    await mkdir(join(dir, "app"));
    const keys = await runShip(["release", "keygen", "--out", join(dir, "keys")]);
    expect(keys.code, keys.stderr).toBe(0);
    config = join(dir, "ship.toml");
    await writeFile(
      config,
      sftpShipToml(sshd, {
        root: dir,
        remotePath: `${remote}/myapp-latest.tar.gz`,
        after: `[trust]\nkey_files = ["${dir}/keys/ship-release.pub"]\n`,
      }),
    );
  });
  afterAll(async () => {
    await sshd?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("uploads ARCHIVE.sig and <latest>.sig; an unsigned upload leaves no stale .sig behind", async () => {
    await writeFile(join(build, "src/main.py"), "print('v1')\n");
    const signed = await release("1.0.0", "--sign-key", join(dir, "keys/ship-release.key"));
    expect(signed.code, signed.stderr).toBe(0);
    expect(signed.stdout).toMatch(/signed myapp 1\.0\.0 with key [0-9a-f]+: .*myapp-1\.0\.0\.tar\.gz\.sig/);
    expect(await readFile(join(remote, "myapp-latest.tar.gz.sig"), "utf8")).toBe(
      await readFile(join(dir, "dist/myapp-1.0.0.tar.gz.sig"), "utf8"),
    );
    expect((await readdir(remote)).sort()).toEqual([
      "myapp-1.0.0.tar.gz",
      "myapp-1.0.0.tar.gz.sha256",
      "myapp-1.0.0.tar.gz.sig",
      "myapp-latest.tar.gz",
      "myapp-latest.tar.gz.sha256",
      "myapp-latest.tar.gz.sig",
    ]);
    const installed = await runShip(["--config", config]);
    expect(installed.code, installed.stdout + installed.stderr).toBe(0);
    expect(installed.stdout).toContain("myapp: installed 1.0.0");
    expect(await readFile(join(dir, "app/src/main.py"), "utf8")).toBe("print('v1')\n");

    // Released without --sign-key: the stable name's old .sig goes, so agents see an unsigned release.
    await writeFile(join(build, "src/main.py"), "print('v2')\n");
    const unsigned = await release("1.0.1");
    expect(unsigned.code, unsigned.stderr).toBe(0);
    expect(await readdir(remote)).not.toContain("myapp-latest.tar.gz.sig");
    const refused = await runShip(["--config", config]);
    expect(refused.code, refused.stdout + refused.stderr).toBe(2);
    expect(refused.stdout + refused.stderr).toMatch(/unsigned|no signature/);
    expect(await readFile(join(dir, "app/src/main.py"), "utf8")).toBe("print('v1')\n");
  }, 180_000);
});
