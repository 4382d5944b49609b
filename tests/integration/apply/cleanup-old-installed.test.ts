/**
 * `cleanup_old` rotates what the app writes into a directory, not what the release installed there:
 * a `logs/README` shipped with the release was deleted once its install was keep_days old, on a run
 * that installed nothing and at the end of an update alike, and ship's install record went on
 * listing a file the app no longer had. Real `ship` runs.
 */
import { existsSync } from "node:fs";
import { readFile, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp } from "../cli/local-app.js";

const rules = `directories:\n  logs:\n    preserve: true\n    cleanup_old: true\n    keep_days: 7\n`;
const monthAgo = () => Date.now() / 1000 - 30 * 24 * 60 * 60;

let app: LocalApp;
beforeEach(async () => {
  app = await localApp();
  await app.release("r1", `version: "1.0.0"\n${rules}`, {
    "app.txt": "v1\n",
    "logs/README": "the app's logs\n",
  });
  expect((await runShip(["--config", app.config])).code).toBe(0);
});
afterEach(async () => {
  await app.cleanup();
});

/** An operator's (the app's) log and the release's README, both a month old. */
async function ageLogs(): Promise<void> {
  await writeFile(join(app.appDir, "logs/app.log"), "old\n");
  for (const name of ["app.log", "README"])
    await utimes(join(app.appDir, "logs", name), monthAgo(), monthAgo());
}

describe("cleanup_old and the files the release installed (real CLI)", () => {
  it("a run that installs nothing prunes the app's old log, not the release's README", async () => {
    await ageLogs();
    const idle = await runShip(["--config", app.config]);
    expect(idle.code, idle.stdout + idle.stderr).toBe(0);
    expect(existsSync(join(app.appDir, "logs/app.log"))).toBe(false);
    expect(await readFile(join(app.appDir, "logs/README"), "utf8")).toBe("the app's logs\n");
  });

  it("an update's cleanup step: the same", async () => {
    await ageLogs();
    await app.release("r2", `version: "2.0.0"\n${rules}`, {
      "app.txt": "v2\n",
      "logs/README": "the app's logs\n",
    });
    const run = await runShip(["--config", app.config]);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toBe("myapp: updated 1.0.0 → 2.0.0\n");
    expect(existsSync(join(app.appDir, "logs/app.log"))).toBe(false);
    expect(await readFile(join(app.appDir, "logs/README"), "utf8")).toBe("the app's logs\n");
  });
});
