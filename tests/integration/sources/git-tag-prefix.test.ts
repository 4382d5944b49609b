/**
 * Tag mode with tags named otherwise than `v1.2.3` (`release-1.10.0`, `app/2.0.0`, `myapp-1.2.3`):
 * the text before a tag's version is its name, and tags are ordered by the version after it. Read
 * as text runs, `release-2.0.0-rc.1` sorted above `release-2.0.0`, a tag naming no version
 * (`release-latest`) above every release, `v1.9.0` above `release-1.10.0`, and a prefixed tag was
 * never checked against its manifest or for having moved. Real git (file:// remote), real CLI.
 */
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { hasProgram } from "../../support/require-program.js";
import { runShip } from "../../support/ship-cli.js";
import { commitFiles, git, makeRepos, type Repos, writeGitConfig } from "./git-repos.js";

describe.skipIf(!hasProgram("git"))("git source, tag mode: tags with a name before the version", () => {
  let root: string;
  let repos: Repos;
  let app: string;
  const ship = (config: string, ...args: string[]) => runShip(["--config", config, ...args]);
  /** Commits `version` (manifest and app.txt) and tags it `tag`; `manifest` overrides the manifest's version. */
  const tagged = async (tag: string, version: string, manifest = version) => {
    await commitFiles(repos.dev, manifest, { "app.txt": `${version}\n` });
    await git(repos.dev, "tag", "-a", tag, "-m", version);
  };
  const push = () => git(repos.dev, "push", "-q", "--force", "origin", "HEAD:main", "--tags");
  const installed = () => readFile(join(app, "app.txt"), "utf8").catch(() => "none");

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "ship-git-tag-prefix-"));
    repos = await makeRepos(join(root, "repos"));
    app = join(root, "app");
    await mkdir(app);
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("orders release-1.9.0 < release-1.10.0 and a prefixed candidate before its release", async () => {
    await tagged("release-1.9.0", "1.9.0");
    await tagged("release-1.10.0-rc.1", "1.10.0-rc.1");
    await push();
    const config = await writeGitConfig(
      root,
      repos.clone,
      app,
      'tag = "release-*"\ninclude_prereleases = true',
    );
    expect((await ship(config)).code).toBe(0);
    expect(await installed()).toBe("1.10.0-rc.1\n");
    await tagged("release-1.10.0", "1.10.0");
    await push();
    const run = await ship(config);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toContain("updated 1.10.0-rc.1 → 1.10.0");
    expect(await installed()).toBe("1.10.0\n");
  });

  it("a release tag after a prefix with a digit (app2-1.0.0) is a release, not a pre-release", async () => {
    await tagged("app2-1.0.0", "1.0.0");
    await push();
    const config = await writeGitConfig(root, repos.clone, app, 'tag = "app2-*"');
    const run = await ship(config);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(await installed()).toBe("1.0.0\n");
  });

  it("tags of one pattern with several names (v1.9.0, release-1.10.0) are ordered by their versions", async () => {
    await tagged("v1.9.0", "1.9.0");
    await tagged("release-1.10.0", "1.10.0");
    await tagged("app/1.9.5", "1.9.5");
    await push();
    const config = await writeGitConfig(root, repos.clone, app, 'tag = "*"');
    const check = await ship(config, "--check-only");
    expect(check.code, check.stdout + check.stderr).toBe(100);
    expect(check.stdout).toContain("-> release-1.10.0 (");
    expect((await ship(config)).code).toBe(0);
    expect(await installed()).toBe("1.10.0\n");
  });

  it("date-stamped tags (deploy-2024-10-01) are releases ordered by date, not pre-releases of 2024", async () => {
    await tagged("deploy-2024-9-30", "2024.9.30");
    await tagged("deploy-2024-10-01", "2024.10.1");
    await push();
    const config = await writeGitConfig(root, repos.clone, app, 'tag = "deploy-*"');
    const run = await ship(config);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(await installed()).toBe("2024.10.1\n");
  });

  it("tags naming no version are ignored, and --check-only names them", async () => {
    await tagged("release-1.0.0", "1.0.0");
    await tagged("release-latest", "9.9.9");
    await tagged("release-candidate", "9.9.8");
    await push();
    const config = await writeGitConfig(root, repos.clone, app, 'tag = "release-*"');
    const check = await ship(config, "--check-only");
    expect(check.code, check.stdout + check.stderr).toBe(100);
    expect(check.stdout).toContain("-> release-1.0.0 (");
    expect(check.stdout).toContain("ignored tags naming no version: release-candidate, release-latest");
    expect((await ship(config)).code).toBe(0);
    expect(await installed()).toBe("1.0.0\n");
  });

  it("one tag naming no version (a moving 'production' tag) is followed; several are exit 2 naming the key", async () => {
    await tagged("production", "1.1.0");
    await push();
    const config = await writeGitConfig(root, repos.clone, app, 'tag = "production"');
    expect((await ship(config)).code).toBe(0);
    expect(await installed()).toBe("1.1.0\n");
    await git(repos.dev, "tag", "-d", "production");
    await tagged("production", "1.2.0");
    await push();
    const moved = await ship(config);
    expect(moved.code, moved.stdout + moved.stderr).toBe(0);
    expect(await installed()).toBe("1.2.0\n");

    await tagged("deploy-green", "2.0.0");
    await tagged("deploy-blue", "2.0.1");
    await push();
    const both = await writeGitConfig(root, repos.clone, app, 'tag = "deploy-*"');
    const run = await ship(both);
    expect(run.code, run.stdout + run.stderr).toBe(2);
    expect(run.stdout + run.stderr).toMatch(
      /sources\.web\.tag: the tags matching \\?"deploy-\*\\?" name no version \(deploy-blue, deploy-green\): ship cannot tell which is newest/,
    );
    expect(await installed()).toBe("1.2.0\n");
  });

  it("a prefixed version tag whose manifest names another version is refused, nothing installed", async () => {
    await tagged("release-2.3.0", "2.3.0", "2.2.0");
    await push();
    const config = await writeGitConfig(root, repos.clone, app, 'tag = "release-*"');
    const run = await ship(config);
    expect(run.code, run.stdout + run.stderr).toBe(2);
    expect(run.stdout + run.stderr).toContain(
      'git tag release-2.3.0: its update-manifest.yaml says version \\"2.2.0\\"',
    );
    expect(await installed()).toBe("none");
  });

  it("a prefixed version tag moved to another commit after it was installed is refused", async () => {
    await tagged("release-1.1.0", "1.1.0");
    await push();
    const config = await writeGitConfig(root, repos.clone, app, 'tag = "release-*"');
    expect((await ship(config)).code).toBe(0);
    await git(repos.dev, "tag", "-d", "release-1.1.0");
    await tagged("release-1.1.0", "1.1.0-other", "1.1.0");
    await push();
    const run = await ship(config);
    expect(run.code, run.stdout + run.stderr).toBe(2);
    expect(run.stdout + run.stderr).toContain("git tag release-1.1.0: moved");
    expect(await installed()).toBe("1.1.0\n");
  });
});
