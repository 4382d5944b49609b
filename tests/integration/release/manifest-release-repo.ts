/**
 * A git repository made afresh for each test (one app file), for the cases where `ship release`
 * must refuse the manifest as `ship --test-manifest` does: nothing built, committed or tagged.
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, expect } from "vitest";
import { runShip } from "../../support/ship-cli.js";

export const git = (cwd: string, ...args: string[]): string =>
  execFileSync("git", args, { cwd }).toString().trim();

export interface ManifestRepo {
  /** The test's temporary directory, holding `repo/`. */
  readonly dir: string;
  readonly repo: string;
  /** Writes update-manifest.yaml and commits it with the rest: its path and the commit. */
  commit(manifest: string | Buffer): Promise<{ file: string; head: string }>;
  /** `release http` and `release git` both say `line` on stderr, exit 2, leaving nothing behind. */
  expectRefusedByHttpAndGit(line: string, head: string): Promise<void>;
}

/** Registers the repository's beforeEach/afterEach in the calling describe. */
export function manifestRepo(prefix: string): ManifestRepo {
  let dir = "";
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), prefix));
    const repo = join(dir, "repo");
    execFileSync("git", ["init", "-q", "-b", "main", repo]);
    git(repo, "config", "user.email", "ci@example.com");
    git(repo, "config", "user.name", "CI");
    git(repo, "config", "commit.gpgsign", "false");
    await writeFile(join(repo, "app.py"), "print(1)\n");
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));
  return {
    get dir() {
      return dir;
    },
    get repo() {
      return join(dir, "repo");
    },
    async commit(manifest) {
      const file = join(this.repo, "update-manifest.yaml");
      await writeFile(file, manifest);
      git(this.repo, "add", "-A");
      git(this.repo, "commit", "-q", "-m", "init");
      return { file, head: git(this.repo, "rev-parse", "HEAD") };
    },
    async expectRefusedByHttpAndGit(line, head) {
      const out = join(dir, "dist");
      const http = await runShip(["release", "-C", this.repo, "http", "1.0.0", "Fixes", "--out", out]);
      expect(http.stderr).toBe(`ship release http: ${line}`);
      expect(http.code).toBe(2);
      expect(existsSync(out)).toBe(false);

      const tagged = await runShip(["release", "-C", this.repo, "git", "1.0.0", "Fixes"]);
      expect(tagged.stderr).toBe(`ship release git: ${line}`);
      expect(tagged.code).toBe(2);
      expect(git(this.repo, "rev-parse", "HEAD")).toBe(head);
      expect(git(this.repo, "tag", "--list")).toBe("");
      expect(git(this.repo, "status", "--porcelain")).toBe("");
    },
  };
}

/**
 * `ship release publish` options naming a hub nothing listens at (port 9) and a CI token file in
 * `dir`: a refusal must come before the hub is asked.
 */
export async function unreachableHub(dir: string): Promise<string[]> {
  const token = join(dir, "ci.token");
  await writeFile(token, "not-a-real-token\n");
  return ["--hub", "http://127.0.0.1:9", "--token-file", token, "--app", "myapp", "--version", "0.1.0"];
}

/**
 * A release signing key made once for the calling describe (`ship release keygen` in its beforeAll),
 * removed after it: `ship release sign` only reads the key (the signature goes beside the artifact
 * or to --out), so one key serves every test, those whose signing succeeds too (a keygen per test
 * was a `ship` start each). Read `key` inside tests; its public half is ship-release.pub beside it.
 */
export function signingKeyForBlock(prefix: string): { readonly key: string } {
  let dir = "";
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), prefix));
    const made = await runShip(["release", "keygen", "--out", join(dir, "keys")]);
    expect(made.code, made.stderr).toBe(0);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));
  return {
    get key() {
      return join(dir, "keys", "ship-release.key");
    },
  };
}
