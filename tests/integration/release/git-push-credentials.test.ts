/**
 * `ship release git --push` to an https remote whose URL holds a token: `--remote
 * https://user:TOKEN@host/…`, or the default `origin` of a CI checkout made with one (GitLab CI's
 * `https://gitlab-ci-token:TOKEN@…`). Against a real `git http-backend` demanding Basic auth, no
 * process's command line may hold the token while git talks to the server: it was on `git
 * ls-remote`'s and `git push`'s argv (a URL remote) and on git-remote-http's (either), where `ps`
 * shows it to every local user of the CI runner. ship's git source had this fixed (a credential
 * helper); the release command now goes the same way.
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startWatchedGitServer } from "../../support/command-lines.js";
import { hasProgram } from "../../support/require-program.js";
import { GIT_HTTP_BACKEND } from "../../support/servers/git-http.js";
import type { TestServer } from "../../support/servers/http-server.js";
import { runShip } from "../../support/ship-cli.js";

const TOKEN = "glpat-r3leaseT0kenValue";
const git = (cwd: string, ...args: string[]): string => execFileSync("git", args, { cwd }).toString().trim();

describe.skipIf(!hasProgram("git") || !existsSync(GIT_HTTP_BACKEND))(
  "ship release git --push to a remote URL holding a token (real git http-backend, Basic auth)",
  () => {
    let dir: string;
    let repo: string;
    let server: TestServer;
    let seen: string[];
    let authorized: () => number;

    beforeEach(async () => {
      dir = await mkdtemp(join(tmpdir(), "ship-release-push-cred-"));
      const bare = join(dir, "origin.git");
      execFileSync("git", ["init", "-q", "--bare", "-b", "main", bare]);
      git(bare, "config", "http.receivepack", "true");
      repo = join(dir, "repo");
      execFileSync("git", ["init", "-q", "-b", "main", repo]);
      for (const [key, value] of [
        ["user.email", "ci@example.com"],
        ["user.name", "CI"],
        ["commit.gpgsign", "false"],
        ["tag.gpgsign", "false"],
      ] as const)
        git(repo, "config", key, value);
      await writeFile(join(repo, "app.py"), "print('v1')\n");
      await writeFile(join(repo, "update-manifest.yaml"), 'version: "0.1.0"\n');
      git(repo, "add", ".");
      git(repo, "commit", "-q", "-m", "initial");
      git(repo, "push", "-q", bare, "main");
      ({ server, seen, authorized } = await startWatchedGitServer(dir, `gitlab-ci-token:${TOKEN}`, TOKEN));
    });
    afterEach(async () => {
      await server.close();
      await rm(dir, { recursive: true, force: true });
    });

    const remoteUrl = () => `${server.url.replace("http://", `http://gitlab-ci-token:${TOKEN}@`)}/origin.git`;

    it.each([
      { remote: "given as --remote URL", flag: true },
      { remote: "the checkout's origin", flag: false },
    ])(
      "pushes the commit and tag with the token on no command line and in no output ($remote)",
      async ({ flag }) => {
        git(repo, "remote", "add", "origin", flag ? join(dir, "origin.git") : remoteUrl());
        const args = ["release", "-C", repo, "git", "1.0.0", "First", "--push"];
        const run = await runShip(flag ? [...args, "--remote", remoteUrl()] : args);
        expect(run.code, run.stdout + run.stderr).toBe(0);
        expect(authorized()).toBeGreaterThan(0);
        expect(git(join(dir, "origin.git"), "tag", "--list")).toBe("v1.0.0");
        // ship's own command line holds what it was given: said, with the way to keep it off.
        expect(seen.filter((line) => !line.includes(" release -C "))).toEqual([]);
        expect(run.stdout + run.stderr).not.toContain(TOKEN);
        if (flag)
          expect(run.stderr).toContain(
            "warning: --remote holds credentials, which every local user can read in the process list (ps)",
          );
        else expect(run.stderr).not.toContain("warning");
      },
    );

    it("a push URL of its own holding the token (git remote set-url --push) goes by the helper too", async () => {
      // A public repository read anonymously, pushed to with a token: only remote.origin.pushurl
      // holds it, and git push (not ls-remote) reads it.
      git(repo, "remote", "add", "origin", join(dir, "origin.git"));
      git(repo, "remote", "set-url", "--push", "origin", remoteUrl());
      const run = await runShip(["release", "-C", repo, "git", "1.0.0", "First", "--push"]);
      expect(run.code, run.stdout + run.stderr).toBe(0);
      expect(authorized()).toBeGreaterThan(0);
      expect(git(join(dir, "origin.git"), "tag", "--list")).toBe("v1.0.0");
      expect(seen).toEqual([]);
      expect(run.stdout + run.stderr).not.toContain(TOKEN);
    });

    it("a refused token fails naming the remote with its credentials masked, nothing on a command line", async () => {
      git(repo, "remote", "add", "origin", remoteUrl().replace(TOKEN, `wrong-${TOKEN}`));
      const run = await runShip(["release", "-C", repo, "git", "1.0.0", "First", "--push"]);
      expect(run.code, run.stdout + run.stderr).toBe(1);
      expect(run.stdout + run.stderr).not.toContain(TOKEN);
      expect(seen).toEqual([]);
      expect(git(repo, "tag", "--list")).toBe("");
    });
  },
);
