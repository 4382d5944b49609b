/**
 * The install index kept while the app directory it describes was emptied, deleted or swapped for
 * an empty one: every run said "myapp: up to date (1.0.0)", exit 0, and installed nothing, of an app
 * with none of its files. Ship trusts its index without re-reading the app; the few paths the index
 * records in its header now prove it still describes the directory. Real `ship` runs.
 */
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp } from "../cli/local-app.js";
import { snapshot } from "./tree-fixtures.js";

let app: LocalApp;
let index: string;
beforeEach(async () => {
  app = await localApp();
  // Enough files that the probe is a sample of them, in more than one directory.
  const files: Record<string, string> = {};
  for (let i = 0; i < 12; i++) files[`${i % 3 === 0 ? "lib/" : ""}f${i}.txt`] = `${i}\n`;
  await app.release("r1", 'version: "1.0.0"\n', files);
  const run = await runShip(["--config", app.config]);
  expect(run.code, run.stderr).toBe(0);
  const [stateDir] = await readdir(join(app.root, "var/apps"));
  index = join(app.root, "var/apps", String(stateDir), "install-index.json");
});
afterEach(async () => {
  await app.cleanup();
});

const refusal = (why: string) =>
  `${index} does not describe ${app.appDir}, ${why}: ship's record of what it installed in the app; delete it, and the next run installs the release again over the app (files ship did not install stay); nothing was changed`;

describe("an install index kept over an app directory that no longer holds what it lists (real CLI)", () => {
  it("emptied, the state file deleted: refused naming the index (not 'up to date'); deleted as told, the next run installs", async () => {
    for (const name of await readdir(app.appDir)) await rm(join(app.appDir, name), { recursive: true });
    await rm(app.stateFile);
    for (const args of [[], ["--check-only"]]) {
      const run = await runShip(["--config", app.config, ...args]);
      expect(run.code, run.stdout + run.stderr).toBe(2);
      expect(run.stdout).not.toContain("up to date");
      const said = run.stdout + run.stderr;
      expect(said).toContain(
        `${index} does not describe ${app.appDir}, none of the files it lists that ship looked for (`,
      );
      expect(said).toMatch(
        / \(\S+(, \S+){3}\) is there \(emptied, a file system not mounted on it, or another directory\): ship's record/,
      );
    }
    expect(await readdir(app.appDir)).toEqual([]);
    expect(existsSync(index)).toBe(true);

    await rm(index);
    const again = await runShip(["--config", app.config]);
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect(await readFile(join(app.appDir, "lib/f9.txt"), "utf8")).toBe("9\n");
    expect((await readdir(app.appDir)).length).toBe(9);
  }, 60_000);

  it("the app directory deleted, or swapped for an empty one: refused, nothing made", async () => {
    await rename(app.appDir, `${app.appDir}.gone`);
    const gone = await runShip(["--config", app.config]);
    expect(gone.code, gone.stdout + gone.stderr).toBe(2);
    expect(gone.stdout + gone.stderr).toContain(refusal(`${app.appDir} does not exist`));
    expect(existsSync(app.appDir)).toBe(false);

    // What an unmounted file system leaves: an empty directory where the app was.
    await mkdir(app.appDir);
    const empty = await runShip(["--config", app.config, "--check-only"]);
    expect(empty.code, empty.stdout + empty.stderr).toBe(2);
    expect(empty.stdout).toContain(`${index} does not describe ${app.appDir}, none of the files it lists`);
    expect(await readdir(app.appDir)).toEqual([]);
  }, 60_000);

  it("files deleted one by one, or the whole app moved back into place, are not refused", async () => {
    await rm(join(app.appDir, "f1.txt"));
    await rm(join(app.appDir, "lib"), { recursive: true });
    await writeFile(join(app.appDir, "f2.txt"), "the operator's\n");
    const before = await snapshot(app.appDir);
    const some = await runShip(["--config", app.config]);
    expect(some.code, some.stdout + some.stderr).toBe(0);
    expect(some.stdout).toContain("myapp: up to date (1.0.0)");
    expect(await snapshot(app.appDir)).toEqual(before);

    await rename(app.appDir, `${app.appDir}.old`);
    await mkdir(app.appDir);
    for (const name of await readdir(`${app.appDir}.old`))
      await rename(join(`${app.appDir}.old`, name), join(app.appDir, name));
    const moved = await runShip(["--config", app.config, "--check-only"]);
    expect(moved.code, moved.stdout + moved.stderr).toBe(0);
  }, 60_000);
});
