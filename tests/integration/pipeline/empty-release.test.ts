import { execFileSync } from "node:child_process";
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { hasProgram } from "../../support/require-program.js";
import { runShip } from "../../support/ship-cli.js";
import { commitFiles, git, makeRepos, writeGitConfig } from "../sources/git-repos.js";
import { createSandbox, hashTree, type Sandbox } from "./harness.js";

let box: Sandbox;
beforeEach(async () => {
  box = await createSandbox();
});
afterEach(async () => {
  await box.cleanup();
});

/**
 * A release with nothing in it (the release volume not mounted yet, an upload not begun, a tarball
 * packed from the wrong directory) installed as "every file dropped": the app was emptied, exit 0,
 * "updated 1.0.0 → tree:e3b0c442…". It is refused before anything runs, whatever the source.
 */
describe("an empty release", () => {
  async function installV1(): Promise<Record<string, string>> {
    const v1 = await box.release(
      "v1",
      { "app.py": "print('v1')\n", "conf/app.toml": "a = 1\n" },
      {
        version: "1.0.0",
      },
    );
    expect((await box.run(v1)).exitCode).toBe(0);
    return hashTree(box.appDir);
  }

  it("as an empty directory is refused, exit 2, the app untouched", async () => {
    const before = await installV1();
    const empty = join(box.root, "releases", "unmounted");
    await mkdir(empty, { recursive: true });
    const result = await box.run(empty);
    expect(result.exitCode).toBe(2);
    expect(result.message).toContain(`${empty} holds no files`);
    expect(await hashTree(box.appDir)).toEqual(before);
    const state = await box.state();
    expect(Object.values(state.sources)).toMatchObject([{ current_version: "1.0.0" }]);
  });

  it("as an archive of empty directories only (packed from the wrong one) is refused the same way", async () => {
    const before = await installV1();
    const packed = join(box.root, "packed");
    await mkdir(join(packed, "myapp-1.2.3", "src"), { recursive: true });
    const archive = join(box.root, "releases", "dirs-only.tar.gz");
    execFileSync("tar", ["-czf", archive, "-C", packed, "myapp-1.2.3"]);
    const result = await box.run(archive);
    expect(result.exitCode).toBe(2);
    expect(result.message).toContain("holds no files and no update-manifest.yaml (only empty directories)");
    expect(await hashTree(box.appDir)).toEqual(before);
  });

  // (refused already as no archive at all: tar's end blocks alone are not one)
  it("as an archive with no entries is refused too", async () => {
    const before = await installV1();
    const archive = join(box.root, "releases", "empty.tar.gz");
    execFileSync("tar", ["-czf", archive, "-T", "/dev/null"]);
    const result = await box.run(archive);
    expect(result.exitCode).toBe(2);
    expect(await hashTree(box.appDir)).toEqual(before);
  });
});

/**
 * A release holding its manifest and nothing to install (the manifest published without the app,
 * or every file left out by skip rules and protected directories) is the same mistake: installed,
 * it removed every file ship had installed (a WARNING each), exit 0.
 */
describe("a release with nothing to install but its manifest", () => {
  /** Release `name` holding only its manifest. */
  async function manifestOnly(name: string): Promise<string> {
    await mkdir(join(box.root, "releases", name), { recursive: true });
    return box.release(name, {}, { version: "2.0.0" });
  }

  async function installV1(): Promise<Record<string, string>> {
    const v1 = await box.release("v1", { "app.py": "v1\n", "data/seed.txt": "seed\n" }, { version: "1.0.0" });
    expect((await box.run(v1)).exitCode).toBe(0);
    return hashTree(box.appDir);
  }

  it("as a directory is refused, exit 2, in a run and in --check-only, the app untouched", async () => {
    const before = await installV1();
    const alone = await manifestOnly("manifest-only");
    for (const checkOnly of [true, false]) {
      const result = await box.run(alone, { checkOnly });
      expect(result.exitCode).toBe(2);
      expect(result.message).toContain(`${alone} holds no file to install, only its update-manifest.yaml`);
    }
    expect(await hashTree(box.appDir)).toEqual(before);
    expect(Object.values((await box.state()).sources)).toMatchObject([{ current_version: "1.0.0" }]);
  });

  it("as an archive is refused the same way", async () => {
    const before = await installV1();
    const packed = await manifestOnly("packed");
    const archive = join(box.root, "releases", "manifest-only.tar.gz");
    execFileSync("tar", ["-czf", archive, "-C", packed, "update-manifest.yaml"]);
    const result = await box.run(archive);
    expect(result.exitCode).toBe(2);
    expect(result.message).toContain("holds no file to install, only its update-manifest.yaml");
    expect(await hashTree(box.appDir)).toEqual(before);
  });

  it("when skip rules and protected directories leave out every other file, naming them", async () => {
    const before = await installV1();
    const kept = await box.release(
      "kept-out",
      { "local.conf": "x\n", "data/seed.txt": "seed 2\n" },
      {
        version: "2.0.0",
        files: { "local.conf": { action: "skip" } },
        directories: { data: { preserve: true } },
      },
    );
    const result = await box.run(kept);
    expect(result.exitCode).toBe(2);
    expect(result.message).toContain(
      "skip rules or protected directories keep out the rest: data/seed.txt (protected directory data), local.conf (skip rule local.conf)",
    );
    expect(await hashTree(box.appDir)).toEqual(before);
  });

  it("a release with one file to install beside them is installed", async () => {
    await installV1();
    const one = await box.release(
      "one-file",
      { "local.conf": "x\n", "app.py": "v2\n" },
      { version: "2.0.0", files: { "local.conf": { action: "skip" } } },
    );
    expect((await box.run(one)).exitCode).toBe(0);
  });

  it.skipIf(!hasProgram("git"))(
    "from git (a commit that removed every file but the manifest) is refused by the CLI",
    async () => {
      const repos = await makeRepos(join(box.root, "repos"));
      const config = await writeGitConfig(box.root, repos.clone, box.appDir, 'branch = "main"');
      expect((await runShip(["--config", config])).code).toBe(0);
      const before = await hashTree(box.appDir);
      await rm(join(repos.dev, "app.txt"));
      await rm(join(repos.dev, "config"), { recursive: true });
      await commitFiles(repos.dev, "2.0.0", {});
      await git(repos.dev, "push", "-q", "origin", "HEAD:main");
      for (const args of [["--check-only"], []]) {
        const run = await runShip(["--config", config, ...args]);
        expect(run.code, run.stderr).toBe(2);
        expect(run.stderr).toContain("holds no file to install, only its update-manifest.yaml");
      }
      expect(await hashTree(box.appDir)).toEqual(before);
    },
  );
});
