/**
 * `ship release http` and `git` set the version in the author's manifest: one that does not parse
 * was "update-manifest.yaml YAML: Missing closing "quote at line 3, column 1:" (the first problem
 * only, cut where yaml's excerpt began), and a key written twice "YAML: Map keys must be unique …",
 * naming no key. They are reported as `ship --test-manifest` reports them: file:line:column and
 * key, every problem, exit 2, nothing built, committed or tagged.
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

const BROKEN: [string, string, (file: string) => string][] = [
  ["an unclosed quote", 'version: "0.1.0\nfiles: [\n', (file) => `${file}:3:1 YAML: Missing closing "quote`],
  [
    "a rule written twice",
    'version: "0.1.0"\nfiles:\n  "config/*.toml":\n    action: merge_toml\n  "config/*.toml":\n    action: replace\n',
    (file) =>
      `${file}:5:3 files."config/*.toml": is written twice in its mapping (first at line 3): keep one`,
  ],
];

describe.skipIf(!hasProgram("git"))("ship release: a manifest that does not parse", () => {
  let dir: string;
  let repo: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "ship-release-yaml-"));
    repo = join(dir, "repo");
    execFileSync("git", ["init", "-q", "-b", "main", repo]);
    git(repo, "config", "user.email", "ci@example.com");
    git(repo, "config", "user.name", "CI");
    git(repo, "config", "commit.gpgsign", "false");
    await writeFile(join(repo, "app.py"), "print(1)\n");
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it.each(BROKEN)(
    "with %s is reported as --test-manifest reports it, for http and git",
    async (_what, text, said) => {
      const file = join(repo, "update-manifest.yaml");
      await writeFile(file, text);
      git(repo, "add", "-A");
      git(repo, "commit", "-q", "-m", "init");
      const head = git(repo, "rev-parse", "HEAD");
      const checked = await runShip(["--test-manifest", file]);
      expect(checked.stderr).toBe(`ship: ${said(file)}\n`);

      const out = join(dir, "dist");
      const http = await runShip(["release", "-C", repo, "http", "1.0.0", "Fixes", "--out", out]);
      expect(http.stderr).toBe(`ship release http: ${said(file)}\n`);
      expect(http.code).toBe(2);
      expect(existsSync(out)).toBe(false);

      const tagged = await runShip(["release", "-C", repo, "git", "1.0.0", "Fixes"]);
      expect(tagged.stderr).toBe(`ship release git: ${said(file)}\n`);
      expect(tagged.code).toBe(2);
      expect(git(repo, "rev-parse", "HEAD")).toBe(head);
      expect(git(repo, "tag", "--list")).toBe("");
      expect(git(repo, "status", "--porcelain")).toBe("");
    },
  );
});
