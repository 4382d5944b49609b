import { execFileSync } from "node:child_process";
import { chmod, copyFile, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hasProgram } from "../../support/require-program.js";
import { freePort } from "../../support/servers/free-port.js";
import { generateKey, type SshdServer, startSshd } from "../../support/servers/sshd.js";
import { runRelease } from "./run-cli.js";

describe.skipIf(!hasProgram("sshd"))("ship release sftp (real sshd)", () => {
  let dir: string;
  let sshd: SshdServer;
  let app: string;
  const sftpArgs = (remoteDir: string, knownHosts: string): string[] => [
    ...["sftp", "1.0.0", "Hotfix", sshd.host, sshd.user, remoteDir],
    ...["--port", String(sshd.port), "--key", sshd.clientKey.privateKeyFile, "--known-hosts", knownHosts],
    ...["--app", "myapp", "--out", join(dir, "dist")],
  ];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "ship-sftp-release-"));
    sshd = await startSshd(join(dir, "sshd"));
    app = join(dir, "myapp");
    await mkdir(join(app, "src"), { recursive: true });
    await writeFile(join(app, "src/main.py"), "print('v1')\n");
  });
  afterAll(async () => {
    await sshd?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("uploads the archive and its .sha256, verified, with nothing partial left", async () => {
    const remote = join(dir, "remote/releases");
    const result = await runRelease(app, ...sftpArgs(remote, sshd.knownHostsFile));
    expect(result.err).not.toMatch(/ship release sftp:/);
    expect(result.code).toBe(0);
    expect(result.out).toMatch(/uploaded .*myapp-1\.0\.0\.tar\.gz .*sha256 verified/);
    const local = await readFile(join(dir, "dist/myapp-1.0.0.tar.gz"));
    expect((await readFile(join(remote, "myapp-1.0.0.tar.gz"))).equals(local)).toBe(true);
    expect((await readdir(remote)).sort()).toEqual(["myapp-1.0.0.tar.gz", "myapp-1.0.0.tar.gz.sha256"]);
    expect(
      execFileSync("sha256sum", ["-c", "myapp-1.0.0.tar.gz.sha256"], { cwd: remote }).toString(),
    ).toContain("OK");
  });

  it("accepts a hashed known_hosts entry (ssh-keygen -H)", async () => {
    const hashed = join(dir, "known_hosts_hashed");
    await writeFile(hashed, await readFile(sshd.knownHostsFile));
    execFileSync("ssh-keygen", ["-q", "-H", "-f", hashed], { stdio: "ignore" });
    expect(await readFile(hashed, "utf8")).toMatch(/^\|1\|/);
    const remote = join(dir, "remote/hashed");
    expect((await runRelease(app, ...sftpArgs(remote, hashed))).code).toBe(0);
  });

  it("refuses an unknown host or a changed host key, uploading nothing", async () => {
    const remote = join(dir, "remote/refused");
    const empty = join(dir, "known_hosts_empty");
    await writeFile(empty, "# nothing here\n");
    const unknown = await runRelease(app, ...sftpArgs(remote, empty));
    expect(unknown.code).toBe(2);
    expect(unknown.err).toMatch(/not in known_hosts/);

    const other = await generateKey(join(dir, "other_host_key"));
    const changed = join(dir, "known_hosts_changed");
    await writeFile(changed, `# deploy hosts\n[127.0.0.1]:${sshd.port} ${other.publicKey}\n`);
    const mitm = await runRelease(app, ...sftpArgs(remote, changed));
    expect(mitm.code).toBe(2);
    // The line to replace, not only the file.
    expect(mitm.err).toContain(`differs from known_hosts: possible man-in-the-middle (${changed}, line 2)`);
    await expect(readdir(remote)).rejects.toThrow();
  });

  it("a key the server refuses is exit 2 naming --key; a server that cannot be reached is exit 1, in words", async () => {
    const remote = join(dir, "remote/unreached");
    const stranger = await generateKey(join(dir, "stranger_key"));
    const args = sftpArgs(remote, sshd.knownHostsFile);
    args[args.indexOf("--key") + 1] = stranger.privateKeyFile;
    const refused = await runRelease(app, ...args);
    expect(refused.code).toBe(2);
    expect(refused.err).toMatch(/ship release sftp: sftp:\/\/.*authentication.*\(--key .*stranger_key\)\n$/);

    const port = await freePort();
    const down = sftpArgs(remote, sshd.knownHostsFile);
    down[down.indexOf("--port") + 1] = String(port);
    const unreached = await runRelease(app, ...down);
    expect(unreached.code).toBe(1);
    expect(unreached.err).toContain(
      `ship release sftp: sftp://${sshd.user}@${sshd.host}:${port}: cannot connect: connection refused (ECONNREFUSED)`,
    );
    await expect(readdir(remote)).rejects.toThrow();
  });

  it("a login key other users can read is refused as ssh refuses it: exit 2 naming --key, nothing built or uploaded", async () => {
    const remote = join(dir, "remote/open-key");
    const openKey = join(dir, "open_key");
    await copyFile(sshd.clientKey.privateKeyFile, openKey);
    await chmod(openKey, 0o644);
    const args = sftpArgs(remote, sshd.knownHostsFile);
    args[args.indexOf("--key") + 1] = openKey;
    args[args.indexOf("--out") + 1] = join(dir, "open-key-dist");
    const refused = await runRelease(app, ...args);
    expect(refused.code).toBe(2);
    expect(refused.err).toBe(
      `ship release sftp: --key ${openKey} is readable by other users (mode 644): anyone who reads it logs in to the release server as this user (OpenSSH refuses such a key too); chmod 600 it\n`,
    );
    await expect(readdir(remote)).rejects.toThrow();
    await expect(stat(join(dir, "open-key-dist"))).rejects.toThrow();

    await chmod(openKey, 0o600);
    expect((await runRelease(app, ...args)).code).toBe(0);
  });

  // Agents refuse a known_hosts others can write (they could add a server in the middle's key);
  // the release command trusted one, and would upload the release to that server.
  it("a known_hosts other users can write is refused as the agents refuse it: exit 2 naming --known-hosts, nothing built or uploaded", async () => {
    const remote = join(dir, "remote/open-known-hosts");
    const openKnownHosts = join(dir, "open_known_hosts");
    await copyFile(sshd.knownHostsFile, openKnownHosts);
    await chmod(openKnownHosts, 0o666);
    const args = sftpArgs(remote, openKnownHosts);
    args[args.indexOf("--out") + 1] = join(dir, "open-known-hosts-dist");
    const refused = await runRelease(app, ...args);
    expect(refused.code).toBe(2);
    expect(refused.err).toBe(
      `ship release sftp: --known-hosts ${openKnownHosts} is writable by other users (mode 666): anyone who can write it can add a host key, and so a server in the middle that the upload then trusts; chmod go-w it\n`,
    );
    await expect(readdir(remote)).rejects.toThrow();
    await expect(stat(join(dir, "open-known-hosts-dist"))).rejects.toThrow();

    await chmod(openKnownHosts, 0o644);
    expect((await runRelease(app, ...args)).code).toBe(0);
  });

  // A missing --key or --known-hosts was refused only after the build, with the path before the
  // flag ("kh/missing --known-hosts: cannot read: …"), the archive left in --out.
  it("a --key or --known-hosts that cannot be read is exit 2 naming the flag, before anything is built", async () => {
    const out = join(dir, "unreadable-dist");
    for (const flag of ["--key", "--known-hosts"]) {
      const missing = join(dir, `missing${flag}`);
      const args = sftpArgs(join(dir, "remote/unreadable"), sshd.knownHostsFile);
      args[args.indexOf(flag) + 1] = missing;
      args[args.indexOf("--out") + 1] = out;
      const refused = await runRelease(app, ...args);
      expect(refused.code).toBe(2);
      expect(refused.err).toBe(
        `ship release sftp: ${flag} ${missing}: cannot read: no such file or directory (ENOENT)\n`,
      );
      await expect(stat(out)).rejects.toThrow();
    }
  });
});
