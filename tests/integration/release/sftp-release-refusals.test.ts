/**
 * `ship release sftp` against a server that will not take the upload: a `remote_dir` the user may
 * not write, or one that is a file. ssh2-sftp-client's "_put: Write stream error: Permission denied
 * /releases/.myapp-1.0.0.tar.gz.partial" ended as "internal error", exit 1 (as if a retry could
 * help), naming a hidden file the operator never asked for. Real sshd (internal-sftp -P denies the
 * requests, as a directory the login may not write does even when the tests run as root).
 */
import { chmod, copyFile, mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hasProgram } from "../../support/require-program.js";
import { type SshdServer, startSshd } from "../../support/servers/sshd.js";
import { runRelease } from "./run-cli.js";

describe.skipIf(!hasProgram("sshd"))("ship release sftp: a remote_dir the server refuses", () => {
  let dir: string;
  let app: string;
  const servers: SshdServer[] = [];
  const sftpArgs = (sshd: SshdServer, remoteDir: string): string[] => [
    ...["sftp", "1.0.0", "Hotfix", sshd.host, sshd.user, remoteDir],
    ...["--port", String(sshd.port), "--key", sshd.clientKey.privateKeyFile],
    ...["--known-hosts", sshd.knownHostsFile, "--app", "myapp", "--out", join(dir, "dist")],
  ];
  const where = (sshd: SshdServer, remoteDir: string) =>
    `sftp://${sshd.user}@${sshd.host}:${sshd.port}${remoteDir}`;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "ship-sftp-release-refused-"));
    app = join(dir, "myapp");
    await mkdir(app);
    await writeFile(join(app, "main.py"), "print('v1')\n");
    await writeFile(join(app, "update-manifest.yaml"), 'version: "1.0.0"\n');
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
    await rm(dir, { recursive: true, force: true });
  });

  // -C is where every path of `ship release` is read from (sign --key, --out): sftp's --key and
  // --known-hosts alone were read from the working directory.
  it("--key and --known-hosts relative to -C are read from there, and the upload goes through", async () => {
    const sshd = await startSshd(join(dir, "sshd-plain"));
    servers.push(sshd);
    await copyFile(sshd.clientKey.privateKeyFile, join(dir, "deploy.key"));
    await chmod(join(dir, "deploy.key"), 0o600);
    await copyFile(sshd.knownHostsFile, join(dir, "known_hosts"));
    const remote = join(dir, "remote-plain");
    await mkdir(remote);
    const run = await runRelease(
      app,
      ...["sftp", "1.0.0", "Hotfix", sshd.host, sshd.user, remote, "--port", String(sshd.port)],
      ...[
        "--key",
        "../deploy.key",
        "--known-hosts",
        "../known_hosts",
        "--app",
        "myapp",
        "--out",
        join(dir, "dist"),
      ],
    );
    expect(run.code, run.err).toBe(0);
    expect((await readdir(remote)).sort()).toEqual(["myapp-1.0.0.tar.gz", "myapp-1.0.0.tar.gz.sha256"]);
    const missing = await runRelease(
      app,
      "sftp",
      "1.0.0",
      "Hotfix",
      sshd.host,
      sshd.user,
      remote,
      "--key",
      "gone.key",
    );
    expect(missing.err).toBe(
      `ship release sftp: --key ${join(app, "gone.key")}: cannot read: no such file or directory (ENOENT)\n`,
    );
  });

  it("a directory the user may not write (or create) is exit 2 naming it, nothing uploaded", async () => {
    const sshd = await startSshd(join(dir, "sshd-denied"), { sftpDenied: "open,mkdir" });
    servers.push(sshd);
    const remote = join(dir, "remote/releases");
    await mkdir(remote, { recursive: true });
    const denied = await runRelease(app, ...sftpArgs(sshd, remote));
    expect(denied.code).toBe(2);
    expect(denied.err).toBe(
      `ship release sftp: <remote_dir> ${where(sshd, remote)}: permission denied on the server (the user ${sshd.user} may not write there): Write stream error: Permission denied ${remote}/.myapp-1.0.0.tar.gz.partial\n`,
    );
    expect(await readdir(remote)).toEqual([]);

    const missing = join(dir, "remote/not-yet");
    const cannotCreate = await runRelease(app, ...sftpArgs(sshd, missing));
    expect(cannotCreate.code).toBe(2);
    expect(cannotCreate.err).toMatch(
      `ship release sftp: <remote_dir> ${where(sshd, missing)}: permission denied on the server (the user ${sshd.user} may not write there): `,
    );

    // A relative remote_dir is the login's home directory's: it was glued to the port (":22releases").
    const relative = await runRelease(app, ...sftpArgs(sshd, "ship-test-releases"));
    expect(relative.code).toBe(2);
    expect(relative.err).toMatch(
      `ship release sftp: <remote_dir> sftp://${sshd.user}@${sshd.host}:${sshd.port}/~/ship-test-releases: permission denied on the server`,
    );
  });

  it("a remote_dir that is a file on the server is exit 2 saying so, the file untouched", async () => {
    const sshd = await startSshd(join(dir, "sshd"));
    servers.push(sshd);
    const file = join(dir, "remote-file");
    await writeFile(file, "not a directory\n");
    const result = await runRelease(app, ...sftpArgs(sshd, file));
    expect(result.code).toBe(2);
    expect(result.err).toBe(
      `ship release sftp: <remote_dir> ${where(sshd, file)} is a file on the server, not a directory\n`,
    );
  });
});
