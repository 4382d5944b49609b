/**
 * A server with several host keys (Ed25519, ECDSA, RSA, as `ssh-keygen -A` makes them) and a
 * known_hosts holding one of them: ship must ask for that one, as OpenSSH's sftp does, not call
 * the server's other key a HOST KEY MISMATCH.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { uploadRelease } from "../../../agent/release/sftp-upload.js";
import { createSource } from "../../../agent/sources/create.js";
import { connectSftp } from "../../../agent/sources/ssh/sftp-connect.js";
import { VerificationError } from "../../../shared/errors.js";
import { memoryLogger } from "../../../shared/log.js";
import { hasProgram } from "../../support/require-program.js";
import { generateKey, type SshdServer, sftpSourceOf, startSshd } from "../../support/servers/sshd.js";

describe.skipIf(!hasProgram("sshd"))("sftp against a server with several host keys", () => {
  let tmp: string;
  let sshd: SshdServer;
  let remote: string;

  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), "ship-sftp-keytypes-"));
    sshd = await startSshd(join(tmp, "sshd"), { extraHostKeyTypes: ["ecdsa", "rsa"] });
    await mkdir(join(tmp, "releases"));
    remote = join(tmp, "releases", "myapp-latest.tar.gz");
    await writeFile(remote, "not read by a check\n");
  });
  afterAll(async () => {
    await sshd?.close();
    await rm(tmp, { recursive: true, force: true });
  });

  /** A known_hosts with just these public key lines for the server. */
  async function knownHostsWith(name: string, ...keyLines: string[]): Promise<string> {
    const file = join(tmp, `known_hosts_${name}`);
    await writeFile(file, keyLines.map((line) => `[127.0.0.1]:${sshd.port} ${line}\n`).join(""));
    return file;
  }

  async function check(knownHosts: string, extra: Record<string, unknown> = {}) {
    const lines: { level: string; msg: string }[] = [];
    const source = createSource("deploy", sftpSourceOf(sshd, remote, { known_hosts: knownHosts, ...extra }), {
      stateDir: await mkdtemp(join(tmp, "state-")),
      log: memoryLogger(lines),
      retryDelayMs: 0,
    });
    return source.check();
  }

  it.each(["ecdsa", "rsa"])("a source whose known_hosts holds only the %s key connects", async (type) => {
    const knownHosts = await knownHostsWith(type, sshd.hostKeys[type] ?? "");
    await expect(check(knownHosts)).resolves.toMatchObject({ available: true });
  });

  it("a key of the known type that is not the server's is still a HOST KEY MISMATCH, naming the line", async () => {
    const other = await generateKey(join(tmp, "other_rsa"), "", "rsa");
    const knownHosts = join(tmp, "known_hosts_other");
    const elsewhere = await generateKey(join(tmp, "elsewhere"));
    // The server's stale line is the third: a comment and another host's key come first.
    await writeFile(
      knownHosts,
      `# fleet hosts\nbuild.internal ${elsewhere.publicKey}\n[127.0.0.1]:${sshd.port} ${other.publicKey}\n`,
    );
    const failure = await check(knownHosts).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(VerificationError);
    // Named with its type, the fingerprint, the file and the line: which line of known_hosts to replace.
    expect(String(failure)).toMatch(
      new RegExp(
        `HOST KEY MISMATCH: the server presented its ssh-rsa key SHA256:\\S+, which is not the key in ${knownHosts}, line 3 `,
      ),
    );
  });

  it("a host key marked @revoked is refused naming that line", async () => {
    const ed25519 = sshd.hostKeys.ed25519 ?? "";
    const knownHosts = join(tmp, "known_hosts_revoked");
    await writeFile(
      knownHosts,
      `[127.0.0.1]:${sshd.port} ${ed25519}\n@revoked [127.0.0.1]:${sshd.port} ${ed25519}\n`,
    );
    // Only the revoked key is offered, so the server cannot answer with another of its keys.
    const failure = await check(knownHosts).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(VerificationError);
    expect(String(failure)).toContain(`is revoked (@revoked in ${knownHosts}, line 2)`);
  });

  it("host_fingerprint is taken as ssh-keygen prints it, and one of another key is named", async () => {
    const empty = await knownHostsWith("empty");
    const given = `sha256:${sshd.hostFingerprint.slice("SHA256:".length)}=`;
    await expect(check(empty, { host_fingerprint: given })).resolves.toMatchObject({ available: true });
    // ssh-keygen -lf's whole line, pasted as it prints it.
    const line = `256 ${sshd.hostFingerprint} root@deploy (ED25519)`;
    await expect(check(empty, { host_fingerprint: line })).resolves.toMatchObject({ available: true });
    const wrong = "SHA256:ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0";
    const failure = await check(empty, { host_fingerprint: wrong }).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(VerificationError);
    expect(String(failure)).toContain(`host_fingerprint = "${wrong}" is another key's`);
  });

  it("a host in the system-wide known_hosts (ssh's GlobalKnownHostsFile) is known, as for ssh and git", async () => {
    const config = (knownHosts: string) => sftpSourceOf(sshd, remote, { known_hosts: knownHosts });
    const global = await knownHostsWith("global", sshd.hostKeys.rsa ?? "");
    const client = await connectSftp("deploy", config(join(tmp, "no_user_known_hosts")), global);
    await client.end();
    const failure = await connectSftp("deploy", config(join(tmp, "none")), join(tmp, "no_global")).catch(
      (e: unknown) => e,
    );
    expect(String(failure)).toMatch(/is not in .*none \(nor \/etc\/ssh\/ssh_known_hosts\)/);
  });

  it("ship release sftp uploads to it with only the rsa key in known_hosts", async () => {
    const knownHosts = await knownHostsWith("upload", sshd.hostKeys.rsa ?? "");
    const archive = join(tmp, "myapp-1.0.0.tar.gz");
    await writeFile(archive, "an archive\n");
    const target = {
      host: sshd.host,
      port: sshd.port,
      username: sshd.user,
      remoteDir: join(tmp, "uploaded"),
      keyFile: sshd.clientKey.privateKeyFile,
      knownHostsFile: knownHosts,
    };
    await mkdir(target.remoteDir);
    const result = await uploadRelease(target, "1.0.0", [archive]);
    expect(result.uploaded.map((u) => u.remotePath)).toEqual([join(target.remoteDir, "myapp-1.0.0.tar.gz")]);
  });

  it("ship release sftp without --known-hosts and no ~/.ssh/known_hosts judges the host, as ssh does", async () => {
    const home = process.env.HOME;
    process.env.HOME = await mkdtemp(join(tmp, "home-"));
    try {
      const archive = join(tmp, "myapp-1.0.1.tar.gz");
      await writeFile(archive, "an archive\n");
      const target = {
        host: sshd.host,
        port: sshd.port,
        username: sshd.user,
        remoteDir: join(tmp, "uploaded"),
        keyFile: sshd.clientKey.privateKeyFile,
      };
      const failure = await uploadRelease(target, "1.0.1", [archive]).catch((e: unknown) => e);
      expect(failure).toBeInstanceOf(VerificationError);
      expect(String(failure)).toMatch(/is not in known_hosts/);
    } finally {
      process.env.HOME = home;
    }
  });
});
