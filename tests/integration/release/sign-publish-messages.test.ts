/**
 * `ship release sign` and `publish` refusals as CI sees them (real processes): one line naming the
 * flag or file, prefixed once with the command, exit 2 — not "ship release sign: ship release sign
 * --app: …" and not Node's "ENOENT: no such file or directory, stat '…'".
 */
import { mkdir, mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateKeyPair } from "../../../shared/signing/keys.js";
import { signRelease } from "../../../shared/signing/signature.js";
import { runShip } from "../../support/ship-cli.js";

describe("ship release sign/publish refusals (real process)", () => {
  let dir: string;
  const release = (...args: string[]) => runShip(["release", ...args], { cwd: dir });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "ship-sign-msg-"));
    await mkdir(join(dir, "app"));
    await writeFile(join(dir, "app/update-manifest.yaml"), 'version: "1.2.0"\n');
    await writeFile(join(dir, "app/main.py"), "print(1)\n");
    expect(
      (await release("-C", "app", "http", "1.2.0", "first", "--app", "myapp", "--out", "../dist")).code,
    ).toBe(0);
    expect((await release("keygen", "--out", "keys")).code).toBe(0);
    await writeFile(join(dir, "empty.sig"), "");
    await writeFile(join(dir, "v9.yaml"), 'version: "9.9.9"\n');
    // A .sig whose signature lost its end on its way (a CI variable cut, a copy by hand): no key
    // can verify 3 bytes, yet it was published "(signed)" and every agent with [trust] refused it.
    const whole = signRelease(
      { app: "myapp", version: "1.2.0", artifactSha256: "a".repeat(64), manifestSha256: "b".repeat(64) },
      generateKeyPair().privateKeyPem,
    );
    await writeFile(
      join(dir, "cut.sig"),
      JSON.stringify({ ...whole, signature: whole.signature.slice(0, 4) }),
    );
  }, 60_000);
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  // -C is where every path of `ship release` is read from: --token-file alone was read from the
  // working directory, so `-C app publish --token-file ci.token` looked for ./ci.token instead.
  it("publish -C app --token-file reads the token from app, as --artifact beside it; a missing one is named by its full path", async () => {
    await writeFile(join(dir, "app/ci.token"), "not-a-jwt-but-a-token\n");
    const args = [
      "-C",
      "app",
      "publish",
      "--hub",
      "http://127.0.0.1:1",
      "--app",
      "myapp",
      "--version",
      "1.2.0",
    ];
    const found = await release(
      ...args,
      "--token-file",
      "ci.token",
      "--artifact",
      "../dist/myapp-1.2.0.tar.gz",
    );
    // Past the token: the hub's check of the release, before any upload, is what fails, to a hub
    // that is not there.
    expect(found.stderr).toMatch(/^ship release publish: POST \/api\/v1\/releases: cannot reach the hub/);
    expect(found.stderr).not.toMatch(/token/);
    const missing = await release(
      ...args,
      "--token-file",
      "gone.token",
      "--artifact",
      "../dist/myapp-1.2.0.tar.gz",
    );
    expect({ code: missing.code, stderr: missing.stderr }).toEqual({
      code: 2,
      stderr: `ship release publish: --token-file cannot read ${join(dir, "app/gone.token")}: no such file or directory (ENOENT)\n`,
    });
  });

  it("each refusal is one line naming the flag or file, exit 2", async () => {
    const cases: [string[], string][] = [
      [
        ["sign", "dist/myapp-1.2.0.tar.gz", "--key", "keys/ship-release.key", "--version", "1.3.0"],
        "ship release sign: --version 1.3.0 is not the release's version: the manifest says 1.2.0",
      ],
      [
        ["sign", "--key", "keys/ship-release.key"],
        "ship release sign: ARTIFACT missing: name the archive to sign (or --git-commit with --manifest)",
      ],
      [
        ["sign", "--key", "keys/ship-release.key", "--git-commit", "a".repeat(40)],
        "ship release sign: --manifest is required with --git-commit (no archive to read it from)",
      ],
      [
        // The public key given for the private one: the message named neither the flag nor the file.
        ["sign", "dist/myapp-1.2.0.tar.gz", "--key", "keys/ship-release.pub"],
        `ship release sign: --key ${dir}/keys/ship-release.pub: is a public key: sign with the private key (ship-release.key)`,
      ],
      [
        // A --manifest of another version: "the archive's name does not say the app", of a name that did.
        ["sign", "dist/myapp-1.2.0.tar.gz", "--key", "keys/ship-release.key", "--manifest", "v9.yaml"],
        "ship release sign: --app is needed: the archive's name myapp-1.2.0.tar.gz is for version 1.2.0, and the manifest says 9.9.9",
      ],
      [
        ["sign", "missing.tar.gz", "--key", "keys/ship-release.key"],
        `ship release sign: ${dir}/missing.tar.gz cannot read: no such file or directory (ENOENT)`,
      ],
      [
        [
          "publish",
          "--hub",
          "http://127.0.0.1:1",
          "--app",
          "myapp",
          "--version",
          "1.2.0",
          "--git-commit",
          "a".repeat(40),
        ],
        "ship release publish: --token or --token-file: give exactly one",
      ],
      [
        ["publish", "--hub", "http://127.0.0.1:1", "--token", "t", "--app", "myapp", "--version", "1.2.0"],
        "ship release publish: --artifact or --url, --remote-path, --git-commit: give exactly one",
      ],
      [
        [
          "publish",
          "--hub",
          "http://127.0.0.1:1",
          "--token",
          "t",
          "--app",
          "myapp",
          "--version",
          "1.2.0",
        ].concat(["--url", "http://127.0.0.1:1/a.tar.gz"]),
        "ship release publish: --sha256 is required with --url (64 hex digits)",
      ],
      [
        ["publish", "--hub", "ftp://hub", "--token", "t", "--app", "myapp", "--version", "1.2.0"],
        "ship release publish: --hub is not an http:// or https:// URL (it is ftp://…)",
      ],
      [
        ["publish", "--hub", "wss://hub", "--token", "t", "--app", "myapp", "--version", "1.2.0"],
        "ship release publish: --hub is a WebSocket address: give the hub's http:// address for ws://, https:// for wss:// (ship derives the agent channel's address from it)",
      ],
      // The path ship adds went into the query: the hub's root page answered for the API.
      [
        [
          "publish",
          "--hub",
          "http://127.0.0.1:1/?x=1",
          "--token",
          "t",
          "--app",
          "myapp",
          "--version",
          "1.2.0",
        ],
        "ship release publish: --hub must be the hub's address without a ?query or #fragment (ship adds /api/v1/… to its path)",
      ],
      [
        [
          "publish",
          "--hub",
          "http://127.0.0.1:1",
          "--token",
          "t",
          "--app",
          "myapp",
          "--version",
          "1.2.0",
        ].concat(["--artifact", "missing.tar.gz"]),
        `ship release publish: ${dir}/missing.tar.gz cannot read: no such file or directory (ENOENT)`,
      ],
      [
        // A failed `sign` step left an empty file: said so, not "the release carries no signature".
        [
          "publish",
          "--hub",
          "http://127.0.0.1:1",
          "--token",
          "t",
          "--app",
          "myapp",
          "--version",
          "1.2.0",
        ].concat(["--artifact", "dist/myapp-1.2.0.tar.gz", "--signature", "empty.sig"]),
        `ship release publish: --signature ${dir}/empty.sig is empty`,
      ],
      // Checked before the --token warning and any request, naming the flag and file (it said only
      // "signature: malformed: …", after the warning).
      ...[
        [
          "cut.sig",
          "signature: must be an Ed25519 signature, 64 bytes in base64 (88 characters); this one holds 3 bytes",
        ],
        ["dist/myapp-1.2.0.tar.gz.sha256", "the signature document is not JSON"],
      ].map(([sig, why]: string[]): [string[], string] => [
        [
          "publish",
          "--hub",
          "http://127.0.0.1:1",
          "--token",
          "t",
          "--app",
          "myapp",
          "--version",
          "1.2.0",
        ].concat(["--artifact", "dist/myapp-1.2.0.tar.gz", "--signature", `${sig}`]),
        `ship release publish: --signature ${dir}/${sig}: malformed: ${why}`,
      ]),
    ];
    for (const [args, line] of cases) {
      const run = await release(...args);
      expect(run.stderr.trim(), args.join(" ")).toBe(line);
      expect(run.code, args.join(" ")).toBe(2);
    }
    // Thirteen `ship release` processes one after another: ~0.7 s of CPU each, 60 s ran out at a
    // load of 20 (a CI run beside other work).
  }, 120_000);

  it("an archive whose name does not say the app asks for --app, and signs with it", async () => {
    await release("-C", "app", "http", "1.2.0", "again", "--app", "myapp", "--out", "../latest");
    await rename(join(dir, "latest/myapp-1.2.0.tar.gz"), join(dir, "latest/myapp-latest.tar.gz"));
    const refused = await release("sign", "latest/myapp-latest.tar.gz", "--key", "keys/ship-release.key");
    expect(refused.stderr.trim()).toBe(
      "ship release sign: --app is needed: the archive's name does not say the app (APP-1.2.0.tar.gz)",
    );
    expect(refused.code).toBe(2);
    const signed = await release(
      "sign",
      "latest/myapp-latest.tar.gz",
      "--key",
      "keys/ship-release.key",
      "--app",
      "myapp",
    );
    expect(signed.code, signed.stderr).toBe(0);
  }, 60_000);
});
