/**
 * max_download_mb against a clone whose own git settings make its fetch write beyond the pack it
 * receives. With `fetch.writeCommitGraph` set, git's fetch wrote the refused release's commits into
 * the clone's commit-graph; the refusal removed their pack, so the graph named commits the clone did
 * not have and `git fsck` failed on it. Now ship's fetch writes no commit-graph and ship writes it
 * once a fetch is kept, as the setting asks. Real git over file://, real CLI.
 */
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { hasProgram } from "../../support/require-program.js";
import { runShip } from "../../support/ship-cli.js";
import { commitFiles, git, makeRepos, type Repos, writeGitConfig } from "./git-repos.js";

describe.skipIf(!hasProgram("git"))(
  "git source: max_download_mb on a clone that writes a commit-graph",
  () => {
    let root: string;
    let repos: Repos;
    let app: string;

    beforeEach(async () => {
      root = await mkdtemp(join(tmpdir(), "ship-git-limit-graph-"));
      repos = await makeRepos(join(root, "repos"));
      app = join(root, "app");
      await mkdir(app);
    });
    afterEach(async () => {
      await rm(root, { recursive: true, force: true });
    });

    it("a release past the limit leaves the clone whole; one within it is in the clone's commit-graph", async () => {
      const config = await writeGitConfig(root, repos.clone, app, 'branch = "main"\nmax_download_mb = 0.1');
      const first = await runShip(["--config", config]);
      expect(first.code, first.stdout + first.stderr).toBe(0);
      await git(repos.clone, "config", "fetch.writeCommitGraph", "true");

      const commit = await commitFiles(repos.dev, "1.1.0", {
        "big.txt": randomBytes(300_000).toString("base64"),
      });
      await git(repos.dev, "push", "-q", "origin", "HEAD:main");
      const refs = await git(repos.clone, "for-each-ref", "--format=%(objectname) %(refname)");
      for (let run = 0; run < 2; run++) {
        const refused = await runShip(["--config", config]);
        expect(refused.code, refused.stdout + refused.stderr).toBe(2);
        expect(refused.stdout).toContain("the pack runs past [sources.web] max_download_mb = 0.1");
        expect(await readFile(join(app, "big.txt")).catch(() => "absent")).toBe("absent");
        expect(await git(repos.clone, "for-each-ref", "--format=%(objectname) %(refname)")).toBe(refs);
        await expect(git(repos.clone, "cat-file", "-e", commit)).rejects.toThrow();
        await git(repos.clone, "fsck", "--no-dangling");
      }

      const graphs = join(repos.clone, ".git", "objects", "info", "commit-graphs");
      expect(await readdir(graphs).catch(() => [])).toEqual([]);
      await writeGitConfig(root, repos.clone, app, 'branch = "main"\nmax_download_mb = 2');
      const raised = await runShip(["--config", config]);
      expect(raised.code, raised.stdout + raised.stderr).toBe(0);
      expect((await readdir(graphs)).some((name) => name.endsWith(".graph"))).toBe(true);
      // The kept release's commit is in the graph: verify reads every commit it names from the clone.
      await git(repos.clone, "commit-graph", "verify");
      await git(repos.clone, "fsck", "--no-dangling");
    });
  },
);
