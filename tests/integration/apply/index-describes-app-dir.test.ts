/**
 * The install index kept while the app directory it describes was deleted, emptied or replaced (a
 * copy moved into place, another empty directory where a file system is not mounted): every run said
 * "myapp: up to date (1.0.0)", exit 0, and installed nothing, of an app without its files. The mark
 * the index records in its header (app-dir-mark.ts) now tells, and the run installs the release
 * again, with a WARNING naming the index; a healthy directory is never sent there. Real `ship` runs.
 */
import { cp, mkdir, readdir, readFile, rename, rm, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp } from "../cli/local-app.js";
import { snapshot } from "./tree-fixtures.js";

let app: LocalApp;
let index: string;
const files: Record<string, string> = {};
for (let i = 0; i < 12; i++) files[`${i % 3 === 0 ? "lib/" : ""}f${i}.txt`] = `${i}\n`;

beforeEach(async () => {
  app = await localApp();
  // Enough files that the mark's probe is a sample of them, in more than one directory.
  await app.release("r1", 'version: "1.0.0"\n', files);
  const run = await runShip(["--config", app.config]);
  expect(run.code, run.stderr).toBe(0);
  const [stateDir] = await readdir(join(app.root, "var/apps"));
  index = join(app.root, "var/apps", String(stateDir), "install-index.json");
});
afterEach(async () => {
  await app.cleanup();
});

/** The check says the run installs 1.0.0 again (exit 100), the run does with a WARNING, the next is up to date. */
async function expectReinstall(why: string): Promise<void> {
  const check = await runShip(["--config", app.config, "--check-only"]);
  expect(check.code, check.stdout + check.stderr).toBe(100);
  expect(check.stdout).toContain(`myapp: update available (${index} does not describe ${app.appDir}: ${why}`);
  const run = await runShip(["--config", app.config]);
  expect(run.code, run.stdout + run.stderr).toBe(0);
  const said = run.stdout + run.stderr;
  expect(run.stdout).toContain("myapp: installed 1.0.0");
  expect(said).toContain(`WARNING: ${index} does not describe ${app.appDir}: ${why}`);
  expect(said).toContain("it was set aside and 1.0.0 is installed again over the app");
  for (const [rel, text] of Object.entries(files))
    expect(await readFile(join(app.appDir, rel), "utf8")).toBe(text);
  const again = await runShip(["--config", app.config]);
  expect(again.stdout + again.stderr).toContain("myapp: up to date (1.0.0)");
}

describe("an install index kept over an app directory that no longer holds what it lists (real CLI)", () => {
  it("emptied, the state file deleted too: installed again (it said 'up to date')", async () => {
    for (const name of await readdir(app.appDir)) await rm(join(app.appDir, name), { recursive: true });
    await rm(app.stateFile);
    await expectReinstall("it is empty: none of the files ship installed there (");
  }, 60_000);

  it("emptied under an index an older ship wrote (no mark in its header): installed again", async () => {
    const bytes = await readFile(index);
    const end = bytes.indexOf(10);
    const { appDirMark, ...header } = JSON.parse(bytes.subarray(0, end).toString("utf8"));
    expect(appDirMark).toBeDefined();
    await writeFile(index, Buffer.concat([Buffer.from(JSON.stringify(header)), bytes.subarray(end)]));
    for (const name of await readdir(app.appDir)) await rm(join(app.appDir, name), { recursive: true });
    await expectReinstall("it is empty");
  }, 60_000);

  it("deleted: installed again", async () => {
    await rm(app.appDir, { recursive: true });
    await expectReinstall("it does not exist");
  }, 60_000);

  it("an empty directory in its place (a file system not mounted): installed again", async () => {
    await rename(app.appDir, `${app.appDir}.gone`);
    await mkdir(app.appDir);
    await expectReinstall("it is another directory than the one ship installed into (device ");
  }, 60_000);

  it("a fresh copy moved into its place (no times kept), one file edited there: installed again, the edit kept in the backup", async () => {
    await cp(app.appDir, `${app.appDir}.new`, { recursive: true });
    // Its files written at another time than ship's (within the install's second here).
    for (const rel of Object.keys(files)) await utimes(join(`${app.appDir}.new`, rel), 1.6e9, 1.6e9);
    await writeFile(join(`${app.appDir}.new`, "f1.txt"), "edited in the copy\n");
    await rename(app.appDir, `${app.appDir}.old`);
    await rename(`${app.appDir}.new`, app.appDir);
    await expectReinstall("it is another directory than the one ship installed into (device ");
    const backups = join(app.root, "var/backups/myapp");
    const saved = await Promise.all(
      (await readdir(backups)).map((id) =>
        readFile(join(backups, id, "files/f1.txt"), "utf8").catch(() => ""),
      ),
    );
    expect(saved).toContain("edited in the copy\n");
  }, 60_000);

  it("a healthy directory is up to date: files deleted or rewritten one by one, all but the operator's gone", async () => {
    await rm(join(app.appDir, "f1.txt"));
    await rm(join(app.appDir, "lib"), { recursive: true });
    await expectUpToDate();
    // Every file written anew (an editor's save: new inodes) in the same directory.
    for (const name of await readdir(app.appDir)) {
      const path = join(app.appDir, name);
      const text = await readFile(path, "utf8");
      await rm(path);
      await writeFile(path, `${text}edited\n`);
    }
    await expectUpToDate();
    // What ship installed all gone but a file of the operator's: theirs to say, not an emptied app.
    for (const name of await readdir(app.appDir)) await rm(join(app.appDir, name), { recursive: true });
    await writeFile(join(app.appDir, "mine.txt"), "the operator's\n");
    await expectUpToDate();
  }, 90_000);

  it("the app's files moved whole into a new directory, or a copy with its times moved into place: up to date", async () => {
    await rename(app.appDir, `${app.appDir}.old`);
    await mkdir(app.appDir);
    for (const name of await readdir(`${app.appDir}.old`))
      await rename(join(`${app.appDir}.old`, name), join(app.appDir, name));
    await expectUpToDate();
    // What `cp -a`, rsync or a backup tool's restore makes: new inodes, the same sizes and mtimes.
    await cp(app.appDir, `${app.appDir}.copy`, { recursive: true, preserveTimestamps: true });
    await rm(app.appDir, { recursive: true });
    await rename(`${app.appDir}.copy`, app.appDir);
    await expectUpToDate();
  }, 60_000);
});

/** Up to date, checked and run, and nothing in the app changed. */
async function expectUpToDate(): Promise<void> {
  const before = await snapshot(app.appDir);
  for (const args of [["--check-only"], []]) {
    const run = await runShip(["--config", app.config, ...args]);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toContain("myapp: up to date (1.0.0)");
  }
  expect(await snapshot(app.appDir)).toEqual(before);
}
