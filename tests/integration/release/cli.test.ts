import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  chmod,
  mkdir,
  mkdtemp,
  open,
  readdir,
  readFile,
  rm,
  stat,
  truncate,
  writeFile,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Command } from "commander";
import { list, type ReadEntry } from "tar";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { registerReleaseCommand } from "../../../agent/cli/release-command.js";
import { readManifestFromArchive } from "../../../agent/release/archive-manifest.js";
import { sha256Text } from "../../../agent/release/sign-artifact.js";
import { parseManifestText } from "../../../shared/manifest/load.js";
import { verifyRelease } from "../../../shared/signing/signature.js";
import { runShip } from "../../support/ship-cli.js";
import { runRelease } from "./run-cli.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "ship-release-cli-"));
  await mkdir(join(dir, "src"));
  await writeFile(join(dir, "src/app.py"), "print('hello')\n");
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("ship release (CLI)", () => {
  it("usage errors exit 2", async () => {
    expect((await runRelease(dir, "http")).code).toBe(2);
    expect((await runRelease(dir, "bump", "huge")).code).toBe(2);
    expect((await runRelease(dir, "sftp", "1.0.0", "d", "h", "u", "/r", "--port", "99999")).code).toBe(2);
    expect((await runRelease(dir, "publish", "--hub", "http://127.0.0.1:1")).code).toBe(2);
  });

  // --port was read by Number(): 0x16 and 0b10110 went to port 22 and 1e1 to port 10, as the hub's
  // number flags refuse them (dashboard/src/number-notation.ts).
  it("sftp --port in another notation is exit 2 naming the notation, before anything is built", async () => {
    const said = async (value: string) => {
      const run = await runShip([
        "release",
        "-C",
        dir,
        "sftp",
        "1.0.0",
        "d",
        "h",
        "u",
        "/r",
        "--port",
        value,
      ]);
      expect(run.code).toBe(2);
      expect(run.stdout).toBe("");
      return run.stderr.trim();
    };
    expect(await said("0x16")).toBe(
      `ship release sftp: option '--port <n>' argument '0x16' is invalid. "0x16" is hexadecimal: numbers here are written in decimal digits with an optional fraction (5, 2.5, .5)`,
    );
    expect(await said("1e1")).toContain(`"1e1" is exponent notation`);
    expect(await said("0b10110")).toContain(`"0b10110" is binary`);
    expect(await said("22.5")).toBe(
      "ship release sftp: option '--port <n>' argument '22.5' is invalid. must be a port (1-65535)",
    );
    expect(await readdir(dir)).toEqual(["src"]);
  });

  it("http in a git work tree: an archive git does not ignore (no --out) is noted, one in an ignored --out is not", async () => {
    execFileSync("git", ["init", "-q"], { cwd: dir });
    const here = await runRelease(dir, "http", "1.0.0", "d", "--app", "myapp");
    expect(here.code, here.err).toBe(0);
    expect(here.err).toContain(
      `note: ${join(dir, "myapp-1.0.0.tar.gz")} is in a git work tree that does not ignore it: git status lists it, and ship release git refuses a tree that is not clean; give --out a directory outside the tree, or one .gitignore names (dist/)`,
    );
    await writeFile(join(dir, ".gitignore"), "dist/\n");
    const ignored = await runRelease(dir, "http", "1.0.1", "d", "--app", "myapp", "--out", "dist");
    expect(ignored.code, ignored.err).toBe(0);
    expect(ignored.err).not.toContain("does not ignore it");
  });

  it("a VERSION past 100 characters is exit 2 naming the limit, before anything is built or written", async () => {
    const long = `1.${"0".repeat(99)}`;
    for (const args of [
      ["http", long, "d", "--out", "dist"],
      ["manifest", long],
    ]) {
      const run = await runRelease(dir, ...args);
      expect({ code: run.code, err: run.err }).toEqual({
        code: 2,
        err: `ship release ${args[0]}: ${long.slice(0, 40)}… VERSION: must be at most 100 characters long\n`,
      });
    }
    expect((await readdir(dir)).sort()).toEqual(["src"]);
  });

  it("--include and --allow-private-key take one path each, before or after the arguments; a second path is a usage error", async () => {
    // Written before VERSION it no longer takes VERSION and DESCRIPTION along.
    const before = await runRelease(
      dir,
      "http",
      "--include",
      "src",
      "1.2.3",
      "Fixes",
      "--app",
      "a",
      "--out",
      "dist",
    );
    expect(before.code, before.err).toBe(0);
    const paths: string[] = [];
    await list({ file: join(dir, "dist/a-1.2.3.tar.gz"), onReadEntry: (e: ReadEntry) => paths.push(e.path) });
    expect(paths.filter((p) => !p.endsWith("/"))).toEqual([
      "a-1.2.3/src/app.py",
      "a-1.2.3/update-manifest.yaml",
    ]);
    const twoPaths = await runRelease(dir, "http", "1.2.4", "Fixes", "--include", "src", "lib");
    expect(twoPaths.code).toBe(2);
    expect(twoPaths.err.trim()).toBe(
      "ship release http: too many arguments for 'http'. Expected 2 arguments but got 3. --include takes one path each: repeat the flag for another (--include a --include b)",
    );
    const git = await runRelease(dir, "git", "1.2.3", "--allow-private-key", "k.pem", "x.pem", "Fixes");
    expect(git.code).toBe(2);
    expect(git.err).toMatch(/too many arguments .* --allow-private-key takes one path each/);
    const ended = await runRelease(dir, "http", "--out", "dist", "--include", "src", "--", "1.2.5", "Fixes");
    expect(ended.code, ended.err).toBe(0);
  });

  it("manifest writes a valid starter and refuses to overwrite without --force", async () => {
    const first = await runRelease(dir, "manifest", "v1.0.0");
    expect(first.code).toBe(0);
    const text = await readFile(join(dir, "update-manifest.yaml"), "utf8");
    expect(parseManifestText(text, "m").manifest.version).toBe("1.0.0");
    // A failing migration or hook (critical_error) restores the backup, as the README says.
    expect(parseManifestText(text, "m").manifest.rollback.auto_rollback_on).toContain("critical_error");
    const again = await runRelease(dir, "manifest", "2.0.0");
    expect(again.code).toBe(2);
    expect(again.err).toMatch(/already exists; pass --force/);
    expect(await readFile(join(dir, "update-manifest.yaml"), "utf8")).toBe(text);
    expect((await runRelease(dir, "manifest", "2.0.0", "--force")).code).toBe(0);
  });

  it("keygen writes a mode-600 private key and never overwrites it", async () => {
    const made = await runRelease(dir, "keygen", "--out", "keys");
    expect(made.code).toBe(0);
    expect((await stat(join(dir, "keys/ship-release.key"))).mode & 0o777).toBe(0o600);
    // It names the files it wrote, and the public key's name as ship.toml should list it.
    expect(made.out).toContain(join(dir, "keys/ship-release.key"));
    expect(made.out).toContain(join(dir, "keys/ship-release.pub"));
    expect(made.out).toContain('key_files = ["/etc/ship/ship-release.pub"]');
    const key = await readFile(join(dir, "keys/ship-release.key"), "utf8");
    const again = await runRelease(dir, "keygen", "--out", "keys");
    expect(again.code).toBe(2);
    expect(again.err).toMatch(/refusing to overwrite/);
    expect(await readFile(join(dir, "keys/ship-release.key"), "utf8")).toBe(key);
  });

  // Read whole (512 KiB) and streamed (8 MiB): 64 bytes more, or less, at each step; or 64 bytes
  // written in place at the same size, as a database still open writes its pages (it went out
  // torn, half old and half new, exit 0).
  const resized = "(grew|shrank) while it was packed \\(it had \\d+ bytes when listed\\)";
  const inPlace = "was written to while it was packed, at the same size \\(in place, or replaced\\)";
  it.each([
    ["grows (a log still written)", 512 << 10, 64, resized],
    ["shrinks (a file being rewritten)", 8 << 20, -64, resized],
    ["is written in place at the same size (read whole)", 512 << 10, 0, inPlace],
    ["is written in place at the same size (streamed)", 8 << 20, 0, inPlace],
  ] as const)(
    "http of a tree where a file %s while it is packed: exit 1 naming the file and what to do, no archive",
    async (_what, start, step, said) => {
      // A file read before it (sorted by name) gives the writer time between listing and packing.
      await writeFile(join(dir, "a-first.bin"), randomBytes(4 << 20));
      const changing = join(dir, "src/z.log");
      await writeFile(changing, "");
      await truncate(changing, start);
      const child = runShip(["release", "-C", dir, "http", "1.0.0", "d", "--app", "myapp", "--out", "dist"]);
      let done = false;
      void child.finally(() => {
        done = true;
      });
      if (step !== 0) for (let size = start; !done && size > 0; size += step) await truncate(changing, size);
      else {
        const handle = await open(changing, "r+");
        for (let at = 0; !done; at = (at + 4096) % start) await handle.write(randomBytes(64), 0, 64, at);
        await handle.close();
      }
      const { code, stderr: printed } = await child;
      // A loaded machine packs for more than PROGRESS_DELAY_MS: progress lines come before the error.
      const stderr = printed.replace(/^packing myapp-1\.0\.0\.tar\.gz: .*\n/gm, "");
      // Was "internal error: myapp-1.0.0/src/z.log changed while it was being archived", the path
      // inside the archive, with no word of what to do.
      expect({ code, stderr }).toEqual({
        code: 1,
        stderr: expect.stringMatching(
          new RegExp(
            `^ship release http: ${changing.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: ${said}; no archive was written: build again once nothing writes into the release directory, or leave the file out \\(\\.gitignore, a skip rule in update-manifest\\.yaml, or --include only what ships\\)\\n$`,
          ),
        ),
      });
      expect(await readdir(join(dir, "dist")).catch(() => [])).toEqual([]);
    },
  );

  it("http builds, prints the ship.toml checksum line, and sign signs what is inside", async () => {
    const built = await runRelease(
      dir,
      "--json",
      "http",
      "v1.2.3",
      "First release",
      "--app",
      "myapp",
      "--out",
      "dist",
    );
    expect(built.code).toBe(0);
    const result = JSON.parse(built.out) as { path: string; sha256: string };
    expect(result.path).toBe(join(dir, "dist/myapp-1.2.3.tar.gz"));
    const human = await runRelease(dir, "http", "1.2.3", "First release", "--app", "myapp", "--out", "dist");
    expect(human.out).toContain("with a url that names this archive (…/myapp-1.2.3.tar.gz):");
    expect(human.out).toContain(`checksum = "sha256:${result.sha256}"`);
    // A url every release replaces takes the .sha256 beside it: a pinned sha256 refuses the next one.
    expect(human.out).toContain('checksum = "https://…/latest.tar.gz.sha256"');

    await runRelease(dir, "keygen");
    const signed = await runRelease(dir, "sign", "dist/myapp-1.2.3.tar.gz", "--key", "ship-release.key");
    expect(signed.code).toBe(0);
    expect(signed.err).not.toContain("warning");
    // A key others can read (`echo "$KEY" > key.pem` under umask 022): signed, with a warning.
    await chmod(join(dir, "ship-release.key"), 0o644);
    const shared = await runRelease(dir, "sign", "dist/myapp-1.2.3.tar.gz", "--key", "ship-release.key");
    expect(shared.code).toBe(0);
    expect(shared.err.trim()).toMatch(
      /^warning: --key: \S+\/ship-release\.key is readable by other users \(mode 644\): anyone who reads it can sign releases every agent that trusts the key installs; chmod 600 it$/,
    );
    await chmod(join(dir, "ship-release.key"), 0o600);
    const doc: unknown = JSON.parse(await readFile(join(dir, "dist/myapp-1.2.3.tar.gz.sig"), "utf8"));
    const pub = await readFile(join(dir, "ship-release.pub"), "utf8");
    const manifest = await readManifestFromArchive(result.path);
    const expected = {
      app: "myapp",
      version: "1.2.3",
      artifactSha256: result.sha256,
      manifestSha256: sha256Text(manifest),
    };
    expect(verifyRelease(doc, expected, [pub])).toMatch(/^[0-9a-f]{16}$/);
    const wrongKey = await runRelease(dir, "sign", "dist/myapp-1.2.3.tar.gz", "--key", "src/app.py");
    expect(wrongKey.code).toBe(2);
    // The public key instead of the private one: said so, not a decoder error.
    const publicKey = await runRelease(dir, "sign", "dist/myapp-1.2.3.tar.gz", "--key", "ship-release.pub");
    expect(publicKey.code).toBe(2);
    expect(publicKey.err).toMatch(/is a public key.*ship-release\.key/);
    // A version the manifest inside does not say: every agent would refuse it, so sign does.
    const before = await readFile(join(dir, "dist/myapp-1.2.3.tar.gz.sig"), "utf8");
    for (const version of ["1.2.4", "v1.2.3+b1"]) {
      const other = await runRelease(
        dir,
        ...["sign", "dist/myapp-1.2.3.tar.gz", "--key", "ship-release.key", "--version", version],
      );
      expect(other.code, version).toBe(2);
      expect(other.err).toMatch(/--version.*manifest says 1\.2\.3/);
    }
    expect(
      (
        await runRelease(
          dir,
          "sign",
          "dist/myapp-1.2.3.tar.gz",
          "--key",
          "ship-release.key",
          "--version",
          "v1.2.3",
        )
      ).code,
    ).toBe(0);
    expect(await readFile(join(dir, "dist/myapp-1.2.3.tar.gz.sig"), "utf8")).toBe(before);
  });
});

describe("ship release http leaves out what agents never install", () => {
  /** Every path in the archive, without its top folder ("myapp-1.0.0/"). */
  async function archived(file: string): Promise<string[]> {
    const paths: string[] = [];
    await list({ file, onReadEntry: (e: ReadEntry) => paths.push(e.path.replace(/^[^/]+\/?/, "")) });
    return paths.filter((p) => p !== "").sort();
  }

  async function appWithSecrets(): Promise<void> {
    expect((await runRelease(dir, "manifest", "1.0.0")).code).toBe(0);
    const files: [string, string][] = [
      [".env", "DB_PASSWORD=hunter2\n"],
      ["secrets/api.key", "k\n"],
      ["secrets/nested/more.key", "k\n"],
      ["data/users.db", "rows\n"],
      ["uploads/a.png", "png\n"],
      ["config.toml", "port = 1\n"],
      ["static/empty/.keep", ""],
    ];
    for (const [rel, body] of files) {
      await mkdir(join(dir, rel, ".."), { recursive: true });
      await writeFile(join(dir, rel), body);
    }
  }

  const shipped = [
    "config.toml",
    "src/",
    "src/app.py",
    "static/",
    "static/empty/",
    "static/empty/.keep",
    "update-manifest.yaml",
  ];

  it("outside a git work tree: skip files and protected directories stay out, and the note names them", async () => {
    await appWithSecrets();
    const built = await runRelease(dir, "http", "1.0.0", "d", "--app", "myapp", "--out", "dist");
    expect(built.code, built.err).toBe(0);
    expect(await archived(join(dir, "dist/myapp-1.0.0.tar.gz"))).toEqual(shipped);
    expect(built.err).toMatch(
      /^note: left out of the archive, as update-manifest\.yaml skips or protects them/m,
    );
    for (const path of [".env", "data", "uploads", "secrets/api.key"]) expect(built.err).toContain(path);
  });

  it("in a git work tree, tracked secrets stay out too; an exact files rule overrides the glob", async () => {
    await appWithSecrets();
    // The operator ships one file under secrets/ on purpose: the exact path wins over "secrets/**".
    const manifest = await readFile(join(dir, "update-manifest.yaml"), "utf8");
    await writeFile(
      join(dir, "update-manifest.yaml"),
      manifest.replace("files:\n", 'files:\n  "secrets/nested/more.key":\n    action: replace\n'),
    );
    const git = (...args: string[]) => execFileSync("git", args, { cwd: dir, stdio: "pipe" });
    git("init", "-q");
    git("add", "-A");
    const built = await runRelease(dir, "http", "1.0.0", "d", "--app", "myapp", "--out", "dist");
    expect(built.code, built.err).toBe(0);
    expect(await archived(join(dir, "dist/myapp-1.0.0.tar.gz"))).toEqual(
      [...shipped, "secrets/", "secrets/nested/", "secrets/nested/more.key"].sort(),
    );
    expect(built.err).toContain(".env");
  });
  // The archive and the agent must agree file by file: a preserve: false directory inside a
  // protected one is installed (the most specific entry decides), so it must be in the archive.
  // Before, the protected parent was left out whole, and with it data/cache/app.cache.
  it("a preserve: false directory inside a protected one ships, and a real ship run installs it", async () => {
    expect((await runRelease(dir, "manifest", "1.0.0")).code).toBe(0);
    const manifest = await readFile(join(dir, "update-manifest.yaml"), "utf8");
    await writeFile(
      join(dir, "update-manifest.yaml"),
      // The starter already protects data/.
      manifest.replace(/^directories:\n/m, 'directories:\n  "data/cache":\n    preserve: false\n'),
    );
    const files: [string, string][] = [
      ["data/users.db", "rows\n"],
      ["data/cache/app.cache", "c\n"],
    ];
    for (const [rel, body] of files) {
      await mkdir(join(dir, rel, ".."), { recursive: true });
      await writeFile(join(dir, rel), body);
    }
    const built = await runRelease(dir, "http", "1.0.0", "d", "--app", "myapp", "--out", "dist");
    expect(built.code, built.err).toBe(0);
    const paths = await archived(join(dir, "dist/myapp-1.0.0.tar.gz"));
    expect(paths).toContain("data/cache/app.cache");
    expect(paths).not.toContain("data/users.db");

    const app = join(dir, "app");
    const config = join(dir, "agent.toml");
    await writeFile(
      config,
      `[general]\nstate_file = "${dir}/var/state.json"\nbackup_dir = "${dir}/var/backups"\nwork_dir = "${dir}/var/work"\nmin_interval_hours = 0\n\n` +
        `[sources.web]\ntype = "local"\npath = "${join(dir, "dist/myapp-1.0.0.tar.gz")}"\napp_dir = "${app}"\n`,
    );
    const run = await runShip(["--config", config]);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(await readFile(join(app, "data/cache/app.cache"), "utf8")).toBe("c\n");
    await expect(stat(join(app, "data/users.db"))).rejects.toThrow();
  });
});

// A signing key generated inside the work tree (`keygen --out keys`) was packed into every archive
// and tagged into git: whoever holds it signs releases every agent trusts.
describe("ship release refuses to pack or tag a private key", () => {
  const gitIn =
    (cwd: string) =>
    (...args: string[]) =>
      execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@t", ...args], {
        cwd,
        stdio: "pipe",
      }).toString();

  it("keygen inside a git work tree says the key is not ignored", async () => {
    gitIn(dir)("init", "-q");
    const made = await runRelease(dir, "keygen", "--out", "keys");
    expect(made.code).toBe(0);
    expect(made.err).toMatch(/ship-release\.key is inside a git work tree and not ignored/);
    await writeFile(join(dir, ".gitignore"), "*.key\n");
    const ignored = await runRelease(dir, "keygen", "--out", "keys2");
    expect(ignored.err).toBe("");
  });

  it("http: exit 2 naming the file, no archive written; skip, .gitignore or --allow-private-key let it through", async () => {
    expect((await runRelease(dir, "manifest", "1.0.0")).code).toBe(0);
    expect((await runRelease(dir, "keygen", "--out", "keys")).code).toBe(0);
    // Other private-key forms than ship's own PKCS#8 PEM: OpenSSH's and the legacy RSA label.
    await writeFile(
      join(dir, "deploy_key"),
      "-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbg==\n-----END OPENSSH PRIVATE KEY-----\n",
    );
    await writeFile(
      join(dir, "src/tls.pem"),
      "cert\n-----BEGIN RSA PRIVATE KEY-----\nMII=\n-----END RSA PRIVATE KEY-----\n",
    );
    // An armored OpenPGP secret key (a package signing key) is one too.
    await writeFile(
      join(dir, "src/apt-signing.asc"),
      "-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nlFgEZ=\n-----END PGP PRIVATE KEY BLOCK-----\n",
    );
    // A public key and a certificate are not secrets.
    await writeFile(
      join(dir, "src/ca.pem"),
      "-----BEGIN CERTIFICATE-----\nMII=\n-----END CERTIFICATE-----\n",
    );
    const refused = await runRelease(dir, "http", "1.0.0", "d", "--app", "myapp", "--out", "dist");
    expect(refused.code).toBe(2);
    expect(refused.err).toMatch(
      /deploy_key holds a private key \(and 3 more: keys\/ship-release\.key, src\/apt-signing\.asc, src\/tls\.pem\)/,
    );
    expect(refused.err.trim().split("\n")).toHaveLength(1);
    await expect(stat(join(dir, "dist/myapp-1.0.0.tar.gz"))).rejects.toThrow();
    // Each way out: skipped by the manifest, ignored by git, or named on purpose.
    const manifest = await readFile(join(dir, "update-manifest.yaml"), "utf8");
    await writeFile(
      join(dir, "update-manifest.yaml"),
      manifest.replace("files:\n", 'files:\n  "deploy_key":\n    action: skip\n'),
    );
    gitIn(dir)("init", "-q");
    await writeFile(join(dir, ".gitignore"), "keys/\ndist/\n");
    const allowed = await runRelease(
      dir,
      "http",
      "1.0.0",
      "d",
      "--app",
      "myapp",
      "--out",
      "dist",
      "--allow-private-key",
      "./src/tls.pem",
      // An absolute path (what a shell completes) names the same file.
      "--allow-private-key",
      join(dir, "src/apt-signing.asc"),
    );
    expect(allowed.code, allowed.err).toBe(0);
    const paths: string[] = [];
    await list({
      file: join(dir, "dist/myapp-1.0.0.tar.gz"),
      onReadEntry: (e: ReadEntry) => paths.push(e.path),
    });
    expect(paths).toContain("myapp-1.0.0/src/tls.pem");
    expect(paths).toContain("myapp-1.0.0/src/apt-signing.asc");
    expect(paths).toContain("myapp-1.0.0/src/ca.pem");
    expect(paths.some((p) => p.includes("ship-release.key") || p.endsWith("deploy_key"))).toBe(false);
  });

  it("git: a tracked key is refused before anything is committed or tagged", async () => {
    const git = gitIn(dir);
    git("init", "-q");
    expect((await runRelease(dir, "manifest", "1.0.0")).code).toBe(0);
    expect((await runRelease(dir, "keygen", "--out", "keys")).code).toBe(0);
    git("add", "-A");
    git("commit", "-qm", "app");
    const head = git("rev-parse", "HEAD");
    const refused = await runRelease(dir, "git", "1.1.0", "feature");
    expect(refused.code).toBe(2);
    expect(refused.err).toContain(
      `${join(dir, "keys/ship-release.key")} holds a private key; it would go into the tag v1.1.0`,
    );
    expect(git("tag", "--list")).toBe("");
    expect(git("rev-parse", "HEAD")).toBe(head);
    expect(git("status", "--porcelain")).toBe("");
    const allowed = await runRelease(
      dir,
      "git",
      "1.1.0",
      "feature",
      "--allow-private-key",
      "keys/ship-release.key",
    );
    expect(allowed.code, allowed.err).toBe(0);
    expect(git("tag", "--list").trim()).toBe("v1.1.0");
  });
});

describe("ship release sign/publish input errors", () => {
  // --app names the archive and its folder: `..` or a `/` would write outside --out.
  it("--app that is no app name (`../../x`, `..`, `-x`) is exit 2 naming --app, and nothing is written", async () => {
    expect((await runRelease(dir, "manifest", "1.0.0")).code).toBe(0);
    for (const app of ["../../escaped", "..", "-x"]) {
      const built = await runRelease(dir, "http", "1.0.0", "d", `--app=${app}`, "--out", "out/dist");
      expect(built.code, app).toBe(2);
      expect(built.err.trim()).toBe(
        `ship release http: --app ${JSON.stringify(app)} must be 1 to 100 characters: letters, digits, '.', '_' or '-', starting with a letter, digit or '_'`,
      );
    }
    expect(await readdir(dir)).toEqual(["src", "update-manifest.yaml"].sort());
    const signed = await runRelease(dir, "sign", "x.tar.gz", "--key", "k", "--app=..");
    expect(signed.code).toBe(2);
    expect(signed.err).toContain('--app ".." must be');
  });

  it("names the unreadable file and exits 2", async () => {
    await runRelease(dir, "keygen");
    const sign = await runRelease(
      dir,
      "sign",
      "missing.tar.gz",
      "--key",
      "ship-release.key",
      "--manifest",
      "nope.yaml",
    );
    expect(sign.code).toBe(2);
    expect(sign.err).toMatch(/--manifest cannot read \S*nope\.yaml: no such file or directory \(ENOENT\)/);
    const publish = await runRelease(
      dir,
      ...["publish", "--hub", "http://127.0.0.1:1", "--token", "t", "--app", "a", "--version", "1.0.0"],
      ...["--artifact", "missing.tar.gz"],
    );
    expect(publish.code).toBe(2);
    expect(publish.err).toMatch(/missing\.tar\.gz/);
  });

  it("signs a git release over the commit and the manifest", async () => {
    await runRelease(dir, "keygen");
    await runRelease(dir, "manifest", "3.0.0");
    const commit = "b".repeat(40);
    const signed = await runRelease(
      dir,
      ...["--json", "sign", "--git-commit", commit, "--manifest", "update-manifest.yaml"],
      ...["--app", "myapp", "--key", "ship-release.key"],
    );
    expect(signed.code).toBe(0);
    const { path } = JSON.parse(signed.out) as { path: string };
    expect(path).toBe(join(dir, "myapp-3.0.0.git.sig"));
    const manifest = await readFile(join(dir, "update-manifest.yaml"), "utf8");
    const pub = await readFile(join(dir, "ship-release.pub"), "utf8");
    const expected = {
      app: "myapp",
      version: "3.0.0",
      artifactSha256: `git:${commit}`,
      manifestSha256: sha256Text(manifest),
    };
    expect(verifyRelease(await readFile(path, "utf8"), expected, [pub])).toMatch(/^[0-9a-f]{16}$/);
  });
});

describe("ship release under a root program like agent/cli/main.ts", () => {
  it("keeps its own --version and --json when the root has them too", async () => {
    const out: string[] = [];
    const program = new Command("ship")
      .version("9.9.9", "--version")
      .option("--json")
      .enablePositionalOptions()
      .exitOverride()
      .configureOutput({ writeOut: (s) => out.push(s), writeErr: (s) => out.push(s) });
    registerReleaseCommand(program, { out: (s) => out.push(s), err: (s) => out.push(s) });
    await program.parseAsync(["release", "-C", dir, "--json", "manifest", "4.0.0"], { from: "user" });
    expect(process.exitCode).toBe(0);
    process.exitCode = undefined;
    expect(JSON.parse(out.join(""))).toMatchObject({ version: "4.0.0" });
    out.length = 0;
    await runRelease(dir, "keygen");
    await program.parseAsync(
      [
        "release",
        "-C",
        dir,
        "sign",
        "--git-commit",
        "c".repeat(40),
        "--manifest",
        "update-manifest.yaml",
      ].concat(["--app", "a", "--version", "4.0.0", "--key", "ship-release.key"]),
      { from: "user" },
    );
    expect(process.exitCode).toBe(0);
    process.exitCode = undefined;
    expect(out.join("")).toMatch(/signed a 4\.0\.0/);
  });
});

describe("ship release git on a host without a git identity (real CLI)", () => {
  // A fresh CI runner: no user.name / user.email anywhere git looks.
  const noIdentity = (): NodeJS.ProcessEnv => {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      HOME: dir,
      GIT_CONFIG_GLOBAL: "/dev/null",
      GIT_CONFIG_NOSYSTEM: "1",
    };
    for (const k of [
      "EMAIL",
      "GIT_AUTHOR_NAME",
      "GIT_AUTHOR_EMAIL",
      "GIT_COMMITTER_NAME",
      "GIT_COMMITTER_EMAIL",
    ])
      delete env[k];
    return env;
  };
  const git = (...args: string[]) =>
    execFileSync("git", args, { cwd: dir, env: noIdentity() }).toString().trim();

  it("is exit 2 naming what to set, before the manifest is written, so the next try is not refused as 'not clean'", async (ctx) => {
    git("init", "-q", "-b", "main");
    await writeFile(join(dir, "update-manifest.yaml"), 'version: "0.1.0"\n');
    git("add", ".");
    execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "init"], {
      cwd: dir,
      env: noIdentity(),
    });
    // A host whose name gives git a usable email has an identity after all: nothing to show here.
    let hasIdentity = true;
    try {
      git("var", "GIT_COMMITTER_IDENT");
    } catch {
      hasIdentity = false;
    }
    if (hasIdentity) ctx.skip();

    const run = await runShip(["release", "-C", dir, "git", "0.2.0", "Fixes"], { env: noIdentity() });
    // Before: exit 1 "internal error: Author identity unknown …" over a dozen lines, the manifest
    // left modified and staged.
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr.trim().split("\n")).toHaveLength(1);
    expect(run.stderr).toContain("has no git identity to commit and tag the release with");
    expect(git("status", "--porcelain")).toBe("");
    expect(git("tag", "--list")).toBe("");

    git("config", "user.name", "CI");
    git("config", "user.email", "ci@example.com");
    const again = await runShip(["release", "-C", dir, "git", "0.2.0", "Fixes"], { env: noIdentity() });
    expect(again.code, again.stderr).toBe(0);
    expect(git("tag", "--list")).toBe("v0.2.0");
  });
});
