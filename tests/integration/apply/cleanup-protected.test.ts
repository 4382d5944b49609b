/**
 * `cleanup.remove_directories` / `remove_files` naming a directory that holds a protected
 * (`preserve: true`) one, met by real `ship` runs on a local release. Removing `var` whole took the
 * preserved `var/data` with it, the operator's database included, and said nothing: the app went
 * on without its data (kept only in a backup that `keep_backups` later prunes). Now the protected
 * directory stays with everything in it, the rest goes, and the log names what was kept.
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

const PRESERVE = `directories:\n  var/data:\n    preserve: true\n`;

async function installThenClean(cleanup: string): Promise<Awaited<ReturnType<typeof runShip>>> {
  await app.release("r1", `version: "1.0.0"\n${PRESERVE}`, {
    "app.txt": "v1\n",
    "var/cache.txt": "cache\n",
    "var/data/.gitkeep": "",
  });
  expect((await runShip(["--config", app.config])).code).toBe(0);
  await writeTree(app.appDir, { "var/data/db.sqlite": "the customer's data\n", "var/tmp.txt": "scratch\n" });
  await app.release("r2", `version: "2.0.0"\n${PRESERVE}cleanup:\n${cleanup}`, { "app.txt": "v2\n" });
  return runShip(["--config", app.config]);
}

describe("cleanup never removes a protected directory inside what it removes (real CLI)", () => {
  it("remove_directories: [var] keeps var/data and everything in it", async () => {
    const run = await installThenClean(`  remove_directories: ["var"]\n`);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(Object.keys(await snapshot(app.appDir)).sort()).toEqual([
      "app.txt",
      "var",
      "var/data",
      "var/data/.gitkeep",
      "var/data/db.sqlite",
    ]);
    expect(await readFile(join(app.appDir, "var/data/db.sqlite"), "utf8")).toBe("the customer's data\n");
    expect(run.stderr).toContain("keeping the protected directories inside a directory it removes");
    expect(run.stderr).toContain('"kept":["var/data"]');
  });

  it("a remove_files glob matching the directory keeps it too; a rollback brings the rest back", async () => {
    const run = await installThenClean(`  remove_files: ["var"]\n`);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(await readFile(join(app.appDir, "var/data/db.sqlite"), "utf8")).toBe("the customer's data\n");
    expect(Object.keys(await snapshot(join(app.appDir, "var"))).sort()).toEqual([
      "data",
      "data/.gitkeep",
      "data/db.sqlite",
    ]);

    const list = await runShip(["--config", app.config, "--list-backups", "--json"]);
    const newest = (JSON.parse(list.stdout) as { id: string }[])[0];
    const back = await runShip(["--config", app.config, "--rollback", String(newest?.id)]);
    expect(back.code, back.stdout + back.stderr).toBe(0);
    expect(await readFile(join(app.appDir, "var/tmp.txt"), "utf8")).toBe("scratch\n");
    expect(await readFile(join(app.appDir, "var/cache.txt"), "utf8")).toBe("cache\n");
    expect(await readFile(join(app.appDir, "var/data/db.sqlite"), "utf8")).toBe("the customer's data\n");
  });
});
