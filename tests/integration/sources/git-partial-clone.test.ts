/**
 * A partial clone as local_path (`git clone --filter=blob:none`, left by an old run or made to save
 * disk): ship's fetch brought commits and trees only, and git fetched each file's content from the
 * remote as the export or staging read it — outside max_download_mb, so a 3 MB file was installed
 * with max_download_mb = 1. Now the release's missing objects are fetched by ship under its limits
 * before anything reads them. Real git over file:// with filters allowed, real CLI.
 */
import { randomBytes } from "node:crypto";
import { appendFile, mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { hasProgram } from "../../support/require-program.js";
import { runShip } from "../../support/ship-cli.js";
import { commitFiles, git, makeRepos, type Repos, writeGitConfig } from "./git-repos.js";

describe.skipIf(!hasProgram("git"))("git source: a partial clone as local_path", () => {
  let root: string;
  let repos: Repos;
  let config: string;
  let app: string;
  let partial: string;
  const ship = () => runShip(["--config", config]);
  /** The objects the partial clone lacks, all commits included. */
  const missing = async () =>
    (await git(partial, "rev-list", "--objects", "--all", "--missing=print"))
      .split("\n")
      .filter((l) => l.startsWith("?"));

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "ship-git-partial-"));
    repos = await makeRepos(join(root, "repos"));
    await git(repos.bare, "config", "uploadpack.allowFilter", "true");
    await commitFiles(repos.dev, "1.1.0", { "old.txt": "old\n" });
    await git(repos.dev, "push", "-q", "origin", "HEAD:main");
    partial = join(root, "partial");
    await git(root, "clone", "-q", "--filter=blob:none", "--no-checkout", `file://${repos.bare}`, partial);
    app = join(root, "app");
    await mkdir(app);
    config = await writeGitConfig(root, partial, app, 'branch = "main"');
    await appendFile(config, "max_download_mb = 1\n");
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("installs its releases, and a file past max_download_mb is refused, not fetched behind the limit", async () => {
    expect(await missing(), "the clone is partial").not.toEqual([]);
    const first = await ship();
    expect(first.code, first.stdout + first.stderr).toBe(0);
    expect(await readFile(join(app, "old.txt"), "utf8")).toBe("old\n");

    const big = randomBytes(3 << 20).toString("base64");
    const commit = await commitFiles(repos.dev, "1.2.0", { "big.txt": big });
    await git(repos.dev, "push", "-q", "origin", "HEAD:main");
    const refused = await ship();
    expect(refused.code, refused.stdout + refused.stderr).toBe(2);
    expect(refused.stdout).toContain("the pack runs past [sources.web] max_download_mb = 1");
    expect(await readFile(join(app, "big.txt")).catch(() => "absent")).toBe("absent");
    // Its content was not fetched behind the limit either (cat-file would fetch it: these do not).
    const blob = await git(partial, "rev-parse", `${commit}:big.txt`);
    const objects = await git(partial, "rev-list", "--objects", "--no-walk", "--missing=print", commit);
    expect(objects.split("\n")).toContain(`?${blob}`);

    await writeGitConfig(root, partial, app, 'branch = "main"');
    const raised = await ship();
    expect(raised.code, raised.stdout + raised.stderr).toBe(0);
    expect(await readFile(join(app, "big.txt"), "utf8")).toBe(big);
  });
});
