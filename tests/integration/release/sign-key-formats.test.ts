/**
 * `ship release sign --key` (and `sftp --sign-key`) with a key in a form it cannot use: a key with a
 * passphrase was "not a readable PEM private key (error:07880109:common libcrypto
 * routines::interrupted or cancelled)", and an ssh-keygen key "(error:1E08010C:DECODER
 * routines::unsupported)" — OpenSSL's codes, no word of what is wrong or what to do. Each is now
 * exit 2 naming `--key`, saying what the key is and how to get one that signs; nothing is written.
 */
import { execFileSync } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hasProgram } from "../../support/require-program.js";
import { runShip } from "../../support/ship-cli.js";

describe("ship release sign with a key it cannot use (real process)", () => {
  let dir: string;
  const release = (...args: string[]) => runShip(["release", ...args], { cwd: dir });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "ship-sign-key-formats-"));
    await writeFile(join(dir, "update-manifest.yaml"), 'version: "1.0.0"\n');
    await writeFile(join(dir, "main.py"), "print(1)\n");
    expect((await release("http", "1.0.0", "first", "--app", "myapp", "--out", "dist")).code).toBe(0);
    const encrypted = <T extends "pkcs8" | "pkcs1">(type: T) => ({
      format: "pem" as const,
      type,
      cipher: "aes-256-cbc",
      passphrase: "secret",
    });
    const publicKeyEncoding = { format: "pem" as const, type: "spki" as const };
    const ed = generateKeyPairSync("ed25519", { publicKeyEncoding, privateKeyEncoding: encrypted("pkcs8") });
    await writeFile(join(dir, "ed-encrypted.pem"), ed.privateKey, { mode: 0o600 });
    const rsa = generateKeyPairSync("rsa", {
      modulusLength: 2048,
      publicKeyEncoding,
      privateKeyEncoding: encrypted("pkcs1"),
    });
    await writeFile(join(dir, "rsa-encrypted.pem"), rsa.privateKey, { mode: 0o600 });
  }, 60_000);
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function expectRefused(key: string, said: RegExp): Promise<void> {
    const r = await release("sign", "dist/myapp-1.0.0.tar.gz", "--key", key);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`^ship release sign: --key ${join(dir, key)}: `));
    expect(r.stderr).toMatch(said);
    expect(r.stderr).not.toMatch(/error:[0-9A-F]{8}|routines::/);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(await readdir(join(dir, "dist"))).not.toContain("myapp-1.0.0.tar.gz.sig");
  }

  it("a key with a passphrase (PKCS#8 or traditional PEM) is said to be encrypted", async () => {
    await expectRefused("ed-encrypted.pem", /is encrypted \(it has a passphrase\).*openssl pkey -in/);
    await expectRefused("rsa-encrypted.pem", /is encrypted \(it has a passphrase\)/);
  });

  // What CI does to a key on its way into a file: a secret this job is not given (`echo "$KEY" >
  // key.pem` writes a blank line), a variable store that keeps one line, a block pasted from YAML
  // with its indent, the base64 alone, a cut-off copy. Each was OpenSSL's "error:1E08010C:DECODER
  // routines::unsupported".
  it("a key whose text CI damaged says how: empty, one line, indented, no PEM lines, cut off", async () => {
    const pem = generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    const body = pem.split("\n").filter((l) => l !== "" && !l.startsWith("-----"));
    const damaged: [string, string, RegExp][] = [
      ["unset.pem", "\n", /: is empty: the CI secret that holds the key is unset, or not given to this job/],
      ["one-line.pem", pem.replace(/\n/g, " "), /: has its PEM block on one line: its line breaks were lost/],
      ["indented.pem", pem.replace(/^/gm, "  "), /: has indented lines \(pasted from YAML/],
      ["body.pem", `${body.join("\n")}\n`, /: holds base64 without a PEM block around it/],
      ["cut.pem", pem.slice(0, 60), /: holds a PEM block that does not end \(cut off\?\)$/m],
      ["damaged.pem", pem.replace(/\n(.)/, "\n!"), /: holds a PEM block that does not decode as a key/],
    ];
    for (const [name, text, said] of damaged) {
      await writeFile(join(dir, name), text, { mode: 0o600 });
      await expectRefused(name, said);
    }
    // With --json the refusal answers on stdout too, as a usage error does (stdout was empty).
    const json = await release("--json", "sign", "dist/myapp-1.0.0.tar.gz", "--key", "unset.pem");
    expect(json.code).toBe(2);
    expect(JSON.parse(json.stdout)).toEqual({
      exitCode: 2,
      message: json.stderr.trim(),
      error: json.stderr.trim().replace(/^ship release sign: /, ""),
    });
  });

  it.skipIf(!hasProgram("ssh-keygen"))(
    "an ssh-keygen key, private or public, is said to be one",
    async () => {
      execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(dir, "id_ed25519")]);
      await expectRefused(
        "id_ed25519",
        /is an OpenSSH private key \(ssh-keygen's format\).*ship release keygen/,
      );
      await expectRefused("id_ed25519.pub", /is an OpenSSH public key.*ship release keygen/);
      execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "pw", "-f", join(dir, "id_locked")]);
      await expectRefused("id_locked", /is an OpenSSH private key/);
    },
  );
});
