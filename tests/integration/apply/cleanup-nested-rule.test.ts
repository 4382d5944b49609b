/**
 * cleanup and the manifest's `directories` rule disagreed: the manifest lets the most specific entry
 * decide (`data/cache` with preserve: false inside a preserved `data` is not protected, and the
 * apply clears it), but cleanup took any preserved ancestor as protecting it, so
 * `remove_directories: ["data/cache"]` was refused ("outside the app or protected") and a
 * `remove_files` glob never reached `data/cache`. Now cleanup follows the manifest's rule; what the
 * preserved `data` holds outside `data/cache` is still never touched. Real `ship` runs.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp } from "../cli/local-app.js";
import { snapshot, writeTree } from "./tree-fixtures.js";

let app: LocalApp;

beforeEach(async () => {
  app = await localApp();
});
afterEach(async () => {
  await app.cleanup();
});

const DIRS = `directories:\n  data:\n    preserve: true\n  data/cache:\n    preserve: false\n`;

async function installThenClean(cleanup: string): Promise<Awaited<ReturnType<typeof runShip>>> {
  await app.release("r1", `version: "1.0.0"\n${DIRS}`, { "app.txt": "v1\n", "data/.gitkeep": "" });
  expect((await runShip(["--config", app.config])).code).toBe(0);
  await writeTree(app.appDir, {
    "data/db.sqlite": "the customer's data\n",
    "data/old.tmp": "the operator's\n",
    "data/cache/page.tmp": "cached\n",
    "data/cache/index.bin": "cached\n",
  });
  await app.release("r2", `version: "2.0.0"\n${DIRS}cleanup:\n${cleanup}`, { "app.txt": "v2\n" });
  return runShip(["--config", app.config]);
}

describe("cleanup follows the manifest's most-specific directories rule (real CLI)", () => {
  it("remove_directories: [data/cache] removes it; data's own files stay", async () => {
    const run = await installThenClean(`  remove_directories: ["data/cache"]\n`);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stderr).not.toContain("not removing a directory outside the app or protected");
    expect(Object.keys(await snapshot(join(app.appDir, "data"))).sort()).toEqual([
      ".gitkeep",
      "db.sqlite",
      "old.tmp",
    ]);
  });

  it("a remove_files glob reaches data/cache, never the preserved data around it", async () => {
    const run = await installThenClean(`  remove_files: ["*.tmp"]\n`);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(Object.keys(await snapshot(join(app.appDir, "data"))).sort()).toEqual([
      ".gitkeep",
      "cache",
      "cache/index.bin",
      "db.sqlite",
      "old.tmp",
    ]);
    expect(await readFile(join(app.appDir, "data/old.tmp"), "utf8")).toBe("the operator's\n");
  });
});
