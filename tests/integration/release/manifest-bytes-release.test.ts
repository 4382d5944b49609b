/**
 * `ship release http` and `git` promise to report a manifest that does not parse as `ship
 * --test-manifest` does: exit 2, nothing built, committed or tagged. Three kinds still get through:
 * - a byte that is not UTF-8 (a comment saved as Latin-1, "# café"): --test-manifest is exit 2
 *   "holds a byte that is not UTF-8 … save it as UTF-8", but release built the archive and git
 *   committed and tagged it, exit 0, with the byte rewritten to U+FFFD in the author's manifest;
 * - a NUL byte: --test-manifest "is not UTF-8 text (a binary file?)", release exit 0, tagged;
 * - an alias with no anchor (`a: *x`): --test-manifest exit 2, release "internal error: Unresolved
 *   alias …", exit 1;
 * - a list where the mapping goes, or UTF-16 text: both exit 2, but release says only "the
 *   manifest must be a mapping of keys" (no line:column; for UTF-16 not that it is UTF-16, which
 *   --test-manifest says with the way out: "save it as UTF-8").
 * Real git repositories, real `ship` runs.
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { hasProgram } from "../../support/require-program.js";
import { runShip } from "../../support/ship-cli.js";

const git = (cwd: string, ...args: string[]): string => execFileSync("git", args, { cwd }).toString().trim();

const BROKEN: [string, Buffer][] = [
  ["a comment saved as Latin-1", Buffer.from('version: "0.1.0"\n# r\xe9sum\xe9 of the release\n', "latin1")],
  ["a NUL byte", Buffer.from('version: "0.1.0"\n# a\u0000b\n', "utf8")],
  ["a list, not a mapping", Buffer.from("- version: 0.1.0\n", "utf8")],
  ["UTF-16 text", Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('version: "0.1.0"\n', "utf16le")])],
  ["an alias with no anchor", Buffer.from('version: "0.1.0"\nfiles:\n  "a.toml": *rule\n', "utf8")],
  // Neighbours of the same kinds: text where the mapping goes, big-endian UTF-16, an alias above
  // its anchor (yaml resolves aliases only backwards).
  ["a string, not a mapping", Buffer.from("just a note\n", "utf8")],
  [
    "UTF-16 big-endian text",
    Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from('version: "0.1.0"\n', "utf16le").swap16()]),
  ],
  ["an alias above its anchor", Buffer.from('version: "0.1.0"\na: *later\nx-b: &later 1\n', "utf8")],
];

describe.skipIf(!hasProgram("git"))("ship release: a manifest --test-manifest refuses", () => {
  let dir: string;
  let repo: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "ship-release-bytes-"));
    repo = join(dir, "repo");
    execFileSync("git", ["init", "-q", "-b", "main", repo]);
    git(repo, "config", "user.email", "ci@example.com");
    git(repo, "config", "user.name", "CI");
    git(repo, "config", "commit.gpgsign", "false");
    await writeFile(join(repo, "app.py"), "print(1)\n");
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it.each(BROKEN)(
    "with %s is refused by release http and git as --test-manifest refuses it",
    async (_what, bytes) => {
      const file = join(repo, "update-manifest.yaml");
      await writeFile(file, bytes);
      git(repo, "add", "-A");
      git(repo, "commit", "-q", "-m", "init");
      const head = git(repo, "rev-parse", "HEAD");
      const checked = await runShip(["--test-manifest", file]);
      expect(checked.code).toBe(2);
      const said = checked.stderr.replace(/^ship: /, "");

      const out = join(dir, "dist");
      const http = await runShip(["release", "-C", repo, "http", "1.0.0", "Fixes", "--out", out]);
      expect(http.stderr).toBe(`ship release http: ${said}`);
      expect(http.code).toBe(2);
      expect(existsSync(out)).toBe(false);

      const tagged = await runShip(["release", "-C", repo, "git", "1.0.0", "Fixes"]);
      expect(tagged.stderr).toBe(`ship release git: ${said}`);
      expect(tagged.code).toBe(2);
      expect(git(repo, "rev-parse", "HEAD")).toBe(head);
      expect(git(repo, "tag", "--list")).toBe("");
      expect(git(repo, "status", "--porcelain")).toBe("");

      // sign and publish take the manifest from --manifest (or publish from -C's directory): it was
      // read as UTF-8 regardless, and a Latin-1 byte signed and sent to the hub as U+FFFD.
      const keys = join(dir, "keys");
      expect((await runShip(["release", "keygen", "--out", keys])).code).toBe(0);
      const key = join(keys, "ship-release.key");
      const sig = join(dir, "r.sig");
      const signed = await runShip([
        "release",
        "sign",
        "--git-commit",
        head,
        "--manifest",
        file,
        "--key",
        key,
        "--out",
        sig,
      ]);
      expect(signed.stderr).toBe(`ship release sign: ${said}`);
      expect(signed.code).toBe(2);
      expect(existsSync(sig)).toBe(false);

      const token = join(dir, "ci.token");
      await writeFile(token, "not-a-real-token\n");
      const hub = [
        "--hub",
        "http://127.0.0.1:9",
        "--token-file",
        token,
        "--app",
        "myapp",
        "--version",
        "0.1.0",
      ];
      // The hub parses what publish sends (and refuses it there): only the bytes are publish's to read.
      if (!/UTF-8|binary/.test(said)) return;
      for (const manifest of [["--manifest", file], []]) {
        const published = await runShip([
          "release",
          "-C",
          repo,
          "publish",
          ...hub,
          "--git-commit",
          head,
          ...manifest,
        ]);
        expect(published.stderr).toBe(`ship release publish: ${said}`);
        expect(published.code).toBe(2);
      }
    },
  );
});
