/**
 * A repository whose release is one directory (`myapp/update-manifest.yaml`, `myapp/...`, nothing
 * else at the root) installs that directory's content, as an archive packed with its top directory
 * does. The first install (a whole `git archive`) stripped it; every update after it, which writes
 * only the changed blobs, did not, and was refused with exit 2 ("has no update-manifest.yaml and
 * holds only the directory myapp/") for ever.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hasProgram } from "../../support/require-program.js";
import { runShip } from "../../support/ship-cli.js";
import { git, makeRepos, type Repos, writeGitConfig } from "../sources/git-repos.js";

describe.skipIf(!hasProgram("git"))("a git release under one top directory", () => {
  let root: string;
  let repos: Repos;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "ship-git-top-"));
    repos = await makeRepos(join(root, "repos"));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("updates install the directory's content, as the first install and a fresh one do", async () => {
    const commit = async (version: string, files: Record<string, string>) => {
      const all = { ...files, "myapp/update-manifest.yaml": `version: "${version}"\n` };
      for (const [rel, body] of Object.entries(all)) {
        await mkdir(dirname(join(repos.dev, rel)), { recursive: true });
        await writeFile(join(repos.dev, rel), body);
      }
      await git(repos.dev, "add", "-A");
      await git(repos.dev, "commit", "-q", "-m", version);
      await git(repos.dev, "push", "-q", "origin", "HEAD:main");
    };
    // The template's root files move into myapp/: the release is that directory from here on.
    await git(repos.dev, "rm", "-q", "-r", ".");
    await commit("1.0.0", { "myapp/a.txt": "a1\n", "myapp/lib/b.txt": "b1\n" });
    const app = join(root, "agent/app");
    await mkdir(app, { recursive: true });
    const config = await writeGitConfig(join(root, "agent"), repos.clone, app, 'branch = "main"');
    const first = await runShip(["--config", config]);
    expect(first.code, first.stderr).toBe(0);
    expect(await readFile(join(app, "a.txt"), "utf8")).toBe("a1\n");

    await commit("2.0.0", { "myapp/a.txt": "a2\n" });
    const update = await runShip(["--config", config]);
    expect(update.code, update.stderr).toBe(0);
    expect(await readFile(join(app, "a.txt"), "utf8")).toBe("a2\n");
    expect(await readFile(join(app, "lib/b.txt"), "utf8")).toBe("b1\n");
    expect((await readdir(app)).sort()).toEqual(["a.txt", "lib"]);

    const check = await runShip(["--config", config, "--check-only"]);
    expect(check.code, check.stderr).toBe(0);
  });
});
