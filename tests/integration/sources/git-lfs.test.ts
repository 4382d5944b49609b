/**
 * A repository that keeps files in Git LFS commits pointers; `git archive` exports them as such
 * unless git-lfs (not installed here, as on most servers) swaps the real files in. ship installed the
 * pointers over the app's files with exit 0. Now such a release is refused (exit 2) naming the files
 * and what to install, and the app keeps its files and version. Real git, real CLI.
 */
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
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

  /**
   * git-lfs downloads each LFS file as `git archive` smudges it: bytes max_download_mb never saw
   * (it counted the pack, which holds only the pointers). A filter standing in for git-lfs writes
   * the size the pointer declares and leaves a mark that it ran (was "downloading").
   */
  async function lfsFilter(): Promise<string> {
    const mark = join(root, "lfs-ran");
    const script = join(root, "fake-git-lfs-smudge");
    await writeFile(script, `#!/bin/sh\ntouch '${mark}'\nhead -c "$(sed -n 's/^size //p')" /dev/zero\n`);
    await chmod(script, 0o755);
    await git(repos.clone, "config", "filter.lfs.smudge", script);
    return mark;
  }
  const pointerOf = (oid: string, size: number) =>
    `version https://git-lfs.github.com/spec/v1\noid sha256:${oid}\nsize ${size}\n`;

  it("LFS files past max_download_mb are refused before git-lfs fetches any of them; cached ones are not counted", async () => {
    config = await writeGitConfig(root, repos.clone, app, 'branch = "main"\nmax_download_mb = 1');
    const mark = await lfsFilter();
    const bigOid = "a".repeat(64);
    await commitFiles(repos.dev, "1.1.0", {
      ".gitattributes": "*.bin filter=lfs diff=lfs merge=lfs -text\n",
      "model.bin": pointerOf(bigOid, 3 << 20),
      "small.bin": pointerOf("b".repeat(64), 1000),
    });
    await git(repos.dev, "push", "-q", "origin", "HEAD:main");
    const run = await ship();
    expect(run.code, run.stdout + run.stderr).toBe(2);
    expect(run.stdout).toMatch(
      /^web: origin\/main \([0-9a-f]{12}\): its Git LFS files to download \(3\.00 MB in 2 files: model\.bin, small\.bin\) run past \[sources\.web\] max_download_mb = 1: git-lfs fetched none of them and nothing was installed/m,
    );
    expect(await stat(mark).catch(() => "absent"), "git-lfs was never started").toBe("absent");
    expect(await readFile(join(app, "app.txt"), "utf8").catch(() => "absent")).toBe("absent");

    // The big one already in the clone's LFS store (an earlier run, or `git lfs fetch`): only
    // small.bin would be downloaded, and the release installs.
    const store = join(repos.clone, ".git/lfs/objects/aa/aa");
    await mkdir(store, { recursive: true });
    await writeFile(join(store, bigOid), "");
    const installed = await ship();
    expect(installed.code, installed.stdout + installed.stderr).toBe(0);
    expect((await stat(join(app, "model.bin"))).size).toBe(3 << 20);
    expect((await state()).sources.web.current_version).toBe("1.1.0");
  });
});
