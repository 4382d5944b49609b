/**
 * An SFTP key ssh2 cannot open — encrypted with no passphrase configured, a wrong passphrase, a
 * file that is no private key — is bad input naming the key: exit 2, one line naming ship.toml and
 * `key_filename` (or the passphrase key). Before, it was ssh2's bare "Cannot parse privateKey:
 * Encrypted private OpenSSH key detected, but no passphrase given" behind exit 1, as if a retry
 * could help. ssh2 parses the key before it connects, so no server is needed (port 9 is closed).
 */
import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hasProgram } from "../../support/require-program.js";
import { runShip } from "../../support/ship-cli.js";

describe.skipIf(!hasProgram("ssh-keygen"))("an SFTP key ssh cannot open", () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "ship-sftp-key-"));
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "secret", "-f", join(root, "encrypted")]);
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(root, "plain")]);
    await writeFile(join(root, "not-a-key"), "hello\n", { mode: 0o600 });
    await writeFile(join(root, "wrong.pass"), "not the passphrase\n", { mode: 0o600 });
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  let n = 0;
  const run = async (key: string, extra = "", env: NodeJS.ProcessEnv = {}) => {
    const dir = join(root, `case${++n}`);
    await mkdir(join(dir, "app"), { recursive: true });
    const config = join(dir, "ship.toml");
    await writeFile(
      config,
      `[general]\nstate_file = "${dir}/var/state.json"\nbackup_dir = "${dir}/var/backups"\n\n[sources.s]\ntype = "sftp"\nhostname = "127.0.0.1"\nport = 9\nusername = "u"\nremote_path = "/r/app.tar.gz"\napp_dir = "${dir}/app"\nknown_hosts = "${dir}/known_hosts"\nkey_filename = "${join(root, key)}"\n${extra}`,
      { mode: 0o600 },
    );
    const result = await runShip(["--config", config], { env });
    expect(await readdir(join(dir, "app"))).toEqual([]);
    return { ...result, config };
  };

  it("encrypted, no passphrase configured: exit 2 naming key_filename", async () => {
    const r = await run("encrypted");
    expect(r.code, r.stdout + r.stderr).toBe(2);
    expect(r.stdout).toContain(
      `${r.config} sources.s.key_filename: ${root}/encrypted is encrypted and no passphrase is configured: set passphrase_file or passphrase_env`,
    );
  });

  it("a wrong passphrase, from a file or the environment: exit 2 naming that key", async () => {
    const fromFile = await run("encrypted", `passphrase_file = "${root}/wrong.pass"\n`);
    expect(fromFile.code, fromFile.stdout + fromFile.stderr).toBe(2);
    expect(fromFile.stdout).toMatch(
      /sources\.s\.passphrase_file: the passphrase does not open \S+\/encrypted/,
    );
    const fromEnv = await run("encrypted", 'passphrase_env = "SHIP_TEST_PASS"\n', { SHIP_TEST_PASS: "nope" });
    expect(fromEnv.code, fromEnv.stdout + fromEnv.stderr).toBe(2);
    expect(fromEnv.stdout).toMatch(/sources\.s\.passphrase_env: the passphrase does not open \S+\/encrypted/);
  });

  it("a file that is no private key: exit 2 naming key_filename", async () => {
    const r = await run("not-a-key");
    expect(r.code, r.stdout + r.stderr).toBe(2);
    expect(r.stdout).toMatch(/sources\.s\.key_filename: \S+\/not-a-key is not a private key ssh2 can read/);
  });

  it("a good key gets as far as the network (exit 1: nothing listens on port 9)", async () => {
    const plain = await run("plain");
    expect(plain.code, plain.stdout + plain.stderr).toBe(1);
    // In words, naming the server, not ssh2-sftp-client's "getConnection: connect ECONNREFUSED 127.0.0.1:9".
    expect(plain.stdout).toContain(
      "s: cannot connect to sftp://u@127.0.0.1:9: connection refused (ECONNREFUSED)",
    );
    expect(plain.stdout).not.toContain("getConnection");
    const right = await run("encrypted", 'passphrase_env = "SHIP_TEST_PASS"\n', { SHIP_TEST_PASS: "secret" });
    expect(right.code, right.stdout + right.stderr).toBe(1);
  });
});
