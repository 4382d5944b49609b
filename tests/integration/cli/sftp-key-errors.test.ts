/**
 * An SSH key a source cannot open — encrypted with no passphrase configured, a wrong passphrase, a
 * file that is no private key, a public key — is bad input naming the key: exit 2, one line naming
 * ship.toml and `key_filename` (or the passphrase key), found before the run takes a lock or writes
 * state (no var/ afterwards). Before, SFTP said ssh2's bare "Cannot parse privateKey: …" behind
 * exit 1, then exit 2 only after locks/ and the source's state directory were made; git with an
 * encrypted key said "Permission denied (publickey)" on every run, exit 1, as if a retry could
 * help. Keys are judged before anything connects, so no server is needed (port 9 is closed).
 */
import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hasProgram } from "../../support/require-program.js";
import { runShip } from "../../support/ship-cli.js";

describe.skipIf(!hasProgram("ssh-keygen"))("an SSH key a source cannot open", () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "ship-sftp-key-"));
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "secret", "-f", join(root, "encrypted")]);
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(root, "plain")]);
    execFileSync("ssh-keygen", [
      "-q",
      "-t",
      "rsa",
      "-m",
      "PEM",
      "-N",
      "secret",
      "-f",
      join(root, "encrypted.pem"),
    ]);
    execFileSync("ssh-keygen", ["-q", "-t", "ecdsa", "-m", "PKCS8", "-N", "", "-f", join(root, "pkcs8")]);
    await writeFile(join(root, "not-a-key"), "hello\n", { mode: 0o600 });
    await writeFile(join(root, "wrong.pass"), "not the passphrase\n", { mode: 0o600 });
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  let n = 0;
  const sftp = (dir: string, key: string) =>
    `[sources.s]\ntype = "sftp"\nhostname = "127.0.0.1"\nport = 9\nusername = "u"\nremote_path = "/r/app.tar.gz"\napp_dir = "${dir}/app"\nknown_hosts = "${dir}/known_hosts"\nkey_filename = "${join(root, key)}"\n`;
  const gitSource = (dir: string, key: string) =>
    `[sources.s]\ntype = "git"\nlocal_path = "${dir}/clone"\nremote = "ssh://git@127.0.0.1:9/app.git"\napp_dir = "${dir}/app"\nknown_hosts = "${dir}/known_hosts"\nkey_filename = "${join(root, key)}"\n`;
  const run = async (key: string, extra = "", env: NodeJS.ProcessEnv = {}, source = sftp) => {
    const dir = join(root, `case${++n}`);
    await mkdir(join(dir, "app"), { recursive: true });
    await mkdir(join(dir, "clone/.git"), { recursive: true });
    await writeFile(join(dir, "known_hosts"), "");
    const config = join(dir, "ship.toml");
    await writeFile(
      config,
      `[general]\nstate_file = "${dir}/var/state.json"\nbackup_dir = "${dir}/var/backups"\n\n${source(dir, key)}${extra}`,
      { mode: 0o600 },
    );
    const result = await runShip(["--config", config], { env });
    expect(await readdir(join(dir, "app"))).toEqual([]);
    // Bad input is found before the run locks or records anything.
    if (result.code === 2) expect(await readdir(dir)).not.toContain("var");
    return { ...result, said: result.stdout + result.stderr, config };
  };

  it("encrypted, no passphrase configured: exit 2 naming key_filename", async () => {
    const r = await run("encrypted");
    expect(r.code, r.said).toBe(2);
    expect(r.said).toContain(
      `${r.config}:13:1 sources.s.key_filename: ${root}/encrypted is encrypted and no passphrase is configured: set passphrase_file or passphrase_env`,
    );
  });

  it("a wrong passphrase, from a file or the environment: exit 2 naming that key", async () => {
    const fromFile = await run("encrypted", `passphrase_file = "${root}/wrong.pass"\n`);
    expect(fromFile.code, fromFile.stdout + fromFile.stderr).toBe(2);
    expect(fromFile.said).toMatch(/sources\.s\.passphrase_file: the passphrase does not open \S+\/encrypted/);
    const fromEnv = await run("encrypted", 'passphrase_env = "SHIP_TEST_PASS"\n', { SHIP_TEST_PASS: "nope" });
    expect(fromEnv.code, fromEnv.stdout + fromEnv.stderr).toBe(2);
    expect(fromEnv.said).toMatch(/sources\.s\.passphrase_env: the passphrase does not open \S+\/encrypted/);
    const unset = await run("encrypted", 'passphrase_env = "SHIP_TEST_UNSET"\n');
    expect(unset.code, unset.said).toBe(2);
    expect(unset.said).toContain(`${unset.config}:14:1 sources.s.passphrase_env: SHIP_TEST_UNSET is not set`);
  });

  it("a file that is no private key: exit 2 naming key_filename", async () => {
    const r = await run("not-a-key");
    expect(r.code, r.said).toBe(2);
    expect(r.said).toMatch(/sources\.s\.key_filename: \S+\/not-a-key is not a private key ssh2 can read/);
    const pub = await run("plain.pub");
    expect(pub.code, pub.said).toBe(2);
    expect(pub.said).toMatch(
      /sources\.s\.key_filename: \S+\/plain\.pub holds a public key, not the private key/,
    );
  });

  it("a PKCS#8 key (openssl's form) ssh2 cannot read: exit 2 saying how to rewrite it", async () => {
    const r = await run("pkcs8");
    expect(r.code, r.said).toBe(2);
    expect(r.said).toContain(
      `sources.s.key_filename: ${root}/pkcs8 is a PKCS#8 key, which ssh2 cannot read (Unsupported key format): rewrite it in OpenSSH format with ssh-keygen -p -f ${root}/pkcs8`,
    );
  });

  it("git over ssh: an encrypted key (OpenSSH or PEM), a public key or no key at all is exit 2 before any fetch", async () => {
    for (const key of ["encrypted", "encrypted.pem"]) {
      const r = await run(key, "", {}, gitSource);
      expect(r.code, r.said).toBe(2);
      expect(r.said.trim()).toBe(
        `ship: ${r.config}:11:1 sources.s.key_filename: ${join(root, key)} is protected by a passphrase, which git's ssh (batch mode, no agent) cannot ask for: use a key without a passphrase for this source`,
      );
    }
    for (const key of ["plain.pub", "not-a-key"]) {
      const r = await run(key, "", {}, gitSource);
      expect(r.code, r.said).toBe(2);
      expect(r.said).toMatch(/sources\.s\.key_filename: \S+ holds no private key/);
    }
    // A key without a passphrase gets as far as the network: ssh finds nothing on port 9 (exit 1).
    const plain = await run("plain", "", {}, gitSource);
    expect(plain.code, plain.said).toBe(1);
  });

  it("a good key gets as far as the network (exit 1: nothing listens on port 9)", async () => {
    const plain = await run("plain");
    expect(plain.code, plain.said).toBe(1);
    // In words, naming the server, not ssh2-sftp-client's "getConnection: connect ECONNREFUSED 127.0.0.1:9".
    expect(plain.stdout).toContain(
      "s: cannot connect to sftp://u@127.0.0.1:9: connection refused (ECONNREFUSED)",
    );
    expect(plain.stdout).not.toContain("getConnection");
    const right = await run("encrypted", 'passphrase_env = "SHIP_TEST_PASS"\n', { SHIP_TEST_PASS: "secret" });
    expect(right.code, right.said).toBe(1);
  });
});
