/**
 * One `git cat-file --batch` session answers an update's questions in two phases: the installed
 * commit's manifest first (git-skipped-paths.ts reads git's structured `missing`, not its prose),
 * then the blobs to stage. Real repositories.
 */
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CatFileSession } from "../../../agent/sources/git-batch.js";
import { skippedByInstalled } from "../../../agent/sources/git-skipped-paths.js";
import { listTree } from "../../../agent/sources/git-tree.js";
import { hasProgram } from "../../support/require-program.js";
import { git, makeRepos, type Repos } from "./git-repos.js";

describe.skipIf(!hasProgram("git"))("git cat-file --batch session", () => {
  let root: string;
  let repos: Repos;
  const session = () => new CatFileSession(repos.dev, { PATH: process.env.PATH ?? "", LANG: "C" });
  const commit = async (files: Record<string, string>, remove: string[] = []) => {
    for (const path of remove) await git(repos.dev, "rm", "-q", "-r", path);
    for (const [path, body] of Object.entries(files)) {
      await mkdir(join(repos.dev, path, ".."), { recursive: true });
      await writeFile(join(repos.dev, path), body);
    }
    await git(repos.dev, "add", "-A");
    await git(repos.dev, "commit", "-q", "-m", "c");
    return git(repos.dev, "rev-parse", "HEAD");
  };
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "ship-git-batch-"));
    repos = await makeRepos(join(root, "repos"));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("a commit with no manifest at its root skipped nothing; the same session then writes the blobs", async () => {
    const id = await commit({ "a.txt": "a\n", "sub/b.txt": "b\n" }, ["update-manifest.yaml"]);
    const s = session();
    const skipped = await skippedByInstalled(s, id);
    expect(skipped).toBeDefined();
    expect(skipped?.("a.txt")).toBe(false);
    const tree = await listTree((args) => git(repos.dev, ...args), id);
    const dir = join(root, "staged-1");
    const hashes = await s.writeBlobs([...tree.values()], dir);
    expect(await readFile(join(dir, "sub/b.txt"), "utf8")).toBe("b\n");
    expect(hashes.size).toBe(tree.size);
    s.close();
  });

  it("a manifest's skip rule and protected directories are read from the commit", async () => {
    const id = await commit({
      "update-manifest.yaml":
        'version: "2.0.0"\nfiles:\n  "conf/app.conf":\n    action: skip\ndirectories:\n  data:\n    preserve: true\n',
    });
    const s = session();
    const skipped = await skippedByInstalled(s, id);
    s.close();
    expect(skipped?.("conf/app.conf")).toBe(true);
    expect(skipped?.("data/x")).toBe(true);
    expect(skipped?.("a.txt")).toBe(false);
  });

  it("a manifest that is a directory, or one that does not parse, cannot be read: undefined", async () => {
    const dirId = await commit({ "update-manifest.yaml/x": "x\n" }, ["update-manifest.yaml"]);
    const s1 = session();
    expect(await skippedByInstalled(s1, dirId)).toBeUndefined();
    s1.close();
    const badId = await commit({ "update-manifest.yaml": "version: [\n" }, ["update-manifest.yaml"]);
    const s2 = session();
    expect(await skippedByInstalled(s2, badId)).toBeUndefined();
    s2.close();
  });

  it("git ls-tree's listing keeps odd names whole (space, tab, newline) and each blob's kind", async () => {
    const id = await commit({
      "odd dir/a b.txt": "1\n",
      "t\tab.txt": "2\n",
      "n\nl.txt": "3\n",
      "run.sh": "#!/bin/sh\n",
    });
    await git(repos.dev, "update-index", "--chmod=+x", "run.sh");
    await symlink("run.sh", join(repos.dev, "link"));
    await git(repos.dev, "add", "link");
    await git(repos.dev, "commit", "-q", "-m", "kinds");
    const head = await git(repos.dev, "rev-parse", "HEAD");
    expect(head).not.toBe(id);
    const tree = await listTree((args) => git(repos.dev, ...args), head);
    expect(tree.get("odd dir/a b.txt")?.kind).toBe("file");
    expect(tree.get("t\tab.txt")?.kind).toBe("file");
    expect(tree.get("n\nl.txt")?.kind).toBe("file");
    expect(tree.get("run.sh")?.kind).toBe("exec");
    expect(tree.get("link")?.kind).toBe("symlink");
    expect(tree.get("run.sh")?.blob).toBe(await git(repos.dev, "rev-parse", "HEAD:run.sh"));
  });

  it("a blob the repository lacks fails the write (no hang), naming the path", async () => {
    const s = session();
    const missing = { path: "gone.txt", kind: "file" as const, blob: "0".repeat(40) };
    await expect(s.writeBlobs([missing], join(root, "staged-2"))).rejects.toThrow(/gone\.txt/);
    s.close();
  });
});
