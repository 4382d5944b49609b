/**
 * A whole-tree export (a first install, or an update the staged path cannot take) ran `git archive`
 * into a tar file in the source's downloads/ and only then read it under the archive limits: a
 * release a few kB in its pack (a blob of zeros compresses ~1000:1, and max_download_mb counts the
 * pack) was written out whole first, filling the disk before max_file_size_mb refused it, and the
 * operator read git's "write error" instead. Now the export streams into the extraction, which
 * stops git at the limit: the refusal names the file and the key, and nothing of it is left. Real
 * git, a real 4 MB tmpfs, the real CLI.
 */
import { appendFile, mkdir, mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { hasProgram } from "../../support/require-program.js";
import { runShip } from "../../support/ship-cli.js";
import { mountTmpfs, unmountTmpfs } from "../../support/tmpfs.js";
import { commitFiles, git, makeRepos, type Repos, writeGitConfig } from "./git-repos.js";

describe.skipIf(!hasProgram("git"))("git source: a whole-tree export under the limits", () => {
  let root: string;
  let repos: Repos;
  let config: string;
  let app: string;
  let mounted: string | undefined;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "ship-git-export-stream-"));
    repos = await makeRepos(join(root, "repos"));
    app = join(root, "app");
    await mkdir(app);
    config = await writeGitConfig(root, repos.clone, app, 'branch = "main"');
    await appendFile(config, "\n[sources.web.security]\nmax_file_size_mb = 1\n");
  });
  afterEach(async () => {
    if (mounted !== undefined) unmountTmpfs(mounted);
    mounted = undefined;
    await rm(root, { recursive: true, force: true });
  });

  it("a 40 MB blob of zeros on a 4 MB disk is refused by max_file_size_mb, not by a full disk", async (ctx) => {
    const zeros = Buffer.alloc(40 * 1024 * 1024).toString();
    const commit = await commitFiles(repos.dev, "1.1.0", { "data/zeros.bin": zeros });
    await git(repos.dev, "push", "-q", "origin", "HEAD:main");
    const varDir = join(root, "var");
    await mkdir(varDir);
    if (!mountTmpfs(varDir, "4m")) return ctx.skip();
    mounted = varDir;
    const run = await runShip(["--config", config]);
    expect(run.code, run.stdout + run.stderr).toBe(2);
    expect(run.stdout.trim()).toBe(
      `web: origin/main (${commit.slice(0, 12)}): entry "data/zeros.bin": 40.00 MB is over [sources.web.security] max_file_size_mb = 1`,
    );
    expect(await readdir(app)).toEqual([]);
  });
});
