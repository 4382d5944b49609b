/**
 * Tag mode follows releases: a release candidate tagged for testing (`v2.0.0-rc.1`) was installed on
 * every host following `tag = "v*"` as the newest version. Pre-releases are skipped unless the
 * source sets include_prereleases, and --check-only says which tag it chose and what it passed
 * over. Real git (file:// remote), real CLI.
 */
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { hasProgram } from "../../support/require-program.js";
import { runShip } from "../../support/ship-cli.js";
import { commitFiles, git, makeRepos, type Repos, writeGitConfig } from "./git-repos.js";

describe.skipIf(!hasProgram("git"))("git source, tag mode: pre-release tags", () => {
  let root: string;
  let repos: Repos;
  let app: string;
  const ship = (config: string, ...args: string[]) => runShip(["--config", config, ...args]);
  const tagged = async (version: string, tag = `v${version}`) => {
    await commitFiles(repos.dev, version, { "app.txt": `${version}\n` });
    await git(repos.dev, "tag", "-a", tag, "-m", version);
  };
  const push = () => git(repos.dev, "push", "-q", "origin", "HEAD:main", "--tags");

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "ship-git-prerelease-"));
    repos = await makeRepos(join(root, "repos"));
    await git(repos.dev, "tag", "v1.0.0");
    app = join(root, "app");
    await mkdir(app);
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("installs the newest release, naming the newer pre-releases it skipped", async () => {
    await tagged("1.1.0");
    await tagged("2.0.0-rc.1");
    await tagged("2.0.0-beta.2");
    await push();
    const config = await writeGitConfig(root, repos.clone, app, 'tag = "v*"');
    const check = await ship(config, "--check-only");
    expect(check.code, check.stdout + check.stderr).toBe(100);
    expect(check.stdout).toContain("-> v1.1.0 (");
    expect(check.stdout).toMatch(
      /newest release tag matching "v\*", skipped pre-releases v2\.0\.0-rc\.1, v2\.0\.0-beta\.2 \(include_prereleases = true takes them\)/,
    );
    const run = await ship(config);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(await readFile(join(app, "app.txt"), "utf8")).toBe("1.1.0\n");

    // The release itself, once tagged, is newer than its candidates and is installed.
    await tagged("2.0.0");
    await push();
    expect((await ship(config)).code).toBe(0);
    expect(await readFile(join(app, "app.txt"), "utf8")).toBe("2.0.0\n");
    const after = await ship(config, "--check-only");
    expect(after.code, after.stdout + after.stderr).toBe(0);
    expect(after.stdout).not.toContain("skipped");
  });

  it("installs a pre-release when the source opts in", async () => {
    await tagged("2.0.0-rc.1");
    await push();
    const config = await writeGitConfig(root, repos.clone, app, 'tag = "v*"\ninclude_prereleases = true');
    const run = await ship(config);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(await readFile(join(app, "app.txt"), "utf8")).toBe("2.0.0-rc.1\n");
  });

  it("a candidate written without semver's '-' (v2.0.0rc2, as Python writes it) is older than its release", async () => {
    await tagged("2.0.0rc2");
    await push();
    const config = await writeGitConfig(root, repos.clone, app, 'tag = "v*"\ninclude_prereleases = true');
    expect((await ship(config)).code).toBe(0);
    expect(await readFile(join(app, "app.txt"), "utf8")).toBe("2.0.0rc2\n");
    // The release is chosen over its candidate and installed as an upgrade, not refused as a downgrade.
    await tagged("2.0.0");
    await push();
    const run = await ship(config);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toContain("updated 2.0.0rc2 → 2.0.0");
    expect(await readFile(join(app, "app.txt"), "utf8")).toBe("2.0.0\n");
  });

  it("only pre-releases matching: exit 2 naming the key and the way to take them, nothing installed", async () => {
    await tagged("3.0.0-alpha.1", "r3.0.0-alpha.1");
    await tagged("3.0.0rc2", "r3.0.0rc2");
    await push();
    const config = await writeGitConfig(root, repos.clone, app, 'tag = "r*"');
    const run = await ship(config);
    expect(run.code, run.stdout + run.stderr).toBe(2);
    expect(run.stdout + run.stderr).toMatch(
      /sources\.web\.tag: no release tag from the remote .* matches \\?"r\*\\?", only pre-releases \(r3\.0\.0rc2, r3\.0\.0-alpha\.1\), which are skipped: set include_prereleases = true/,
    );
    expect(await readFile(join(app, "app.txt"), "utf8").catch(() => "none")).toBe("none");
  });
});
