/**
 * A repository that keeps files in Git LFS commits pointers; `git archive` exports them as such
 * unless git-lfs (not installed here, as on most servers) swaps the real files in. ship installed the
 * pointers over the app's files with exit 0. Now such a release is refused (exit 2) naming the files
 * and what to install, and the app keeps its files and version. Real git, real CLI.
 */
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { hasProgram } from "../../support/require-program.js";
import { runShip } from "../../support/ship-cli.js";
import { commitFiles, git, makeRepos, type Repos, writeGitConfig } from "./git-repos.js";

const POINTER =
  "version https://git-lfs.github.com/spec/v1\noid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\nsize 48213\n";
const LFS_ATTRIBUTES = "*.png filter=lfs diff=lfs merge=lfs -text\n";

describe.skipIf(!hasProgram("git"))("git source: a release holding Git LFS pointers", () => {
  let root: string;
  let repos: Repos;
  let config: string;
  let app: string;
  const ship = (...args: string[]) => runShip(["--config", config, ...args]);
  const state = async () => JSON.parse(await readFile(join(root, "var/state.json"), "utf8"));

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "ship-git-lfs-"));
    repos = await makeRepos(join(root, "repos"));
    app = join(root, "app");
    await mkdir(app);
    config = await writeGitConfig(root, repos.clone, app, 'branch = "main"');
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("is refused, naming the files: the app keeps its real files and its version", async () => {
    await commitFiles(repos.dev, "1.0.0", { "assets/logo.png": "\x89PNG the real image\n" });
    await git(repos.dev, "push", "-q", "origin", "HEAD:main");
    const first = await ship();
    expect(first.code, first.stdout + first.stderr).toBe(0);
    expect(await readFile(join(app, "assets/logo.png"), "utf8")).toBe("\x89PNG the real image\n");

    // `git lfs migrate import --include='*.png'`: the image is a pointer from now on.
    await commitFiles(repos.dev, "1.1.0", {
      ".gitattributes": LFS_ATTRIBUTES,
      "assets/logo.png": POINTER,
      "assets/icon.png": POINTER,
      "app.txt": "v1.1\n",
    });
    await git(repos.dev, "push", "-q", "origin", "HEAD:main");
    const run = await ship();
    expect(run.code, run.stdout + run.stderr).toBe(2);
    expect(run.stdout).toMatch(
      /^web: origin\/main \([0-9a-f]{12}\): assets\/icon\.png, assets\/logo\.png are Git LFS pointers, not the files: .*git-lfs is installed/m,
    );
    expect(await readFile(join(app, "assets/logo.png"), "utf8")).toBe("\x89PNG the real image\n");
    expect(await readFile(join(app, "app.txt"), "utf8")).toBe("v1\n");
    expect((await state()).sources.web.current_version).toBe("1.0.0");
  });

  it("a first install is refused the same way; a tree routed through LFS without pointers installs", async () => {
    await commitFiles(repos.dev, "1.1.0", { ".gitattributes": LFS_ATTRIBUTES, "logo.png": POINTER });
    await git(repos.dev, "push", "-q", "origin", "HEAD:main");
    const refused = await ship();
    expect(refused.code, refused.stdout + refused.stderr).toBe(2);
    expect(refused.stdout).toContain("logo.png is a Git LFS pointer, not the file:");
    expect(await readFile(join(app, "logo.png"), "utf8").catch(() => "absent")).toBe("absent");

    // The real file committed again (LFS given up), and a text that only quotes a pointer's first line.
    await commitFiles(repos.dev, "1.2.0", {
      "logo.png": "\x89PNG the real image\n",
      "docs/lfs.md": `Pointers start with:\n\n${POINTER}`,
    });
    await git(repos.dev, "push", "-q", "origin", "HEAD:main");
    const installed = await ship();
    expect(installed.code, installed.stdout + installed.stderr).toBe(0);
    expect(await readFile(join(app, "logo.png"), "utf8")).toBe("\x89PNG the real image\n");
    expect((await state()).sources.web.current_version).toBe("1.2.0");
  });
});
