/** What the tests of a backup's damaged saved install index (index.json) read of a local app. */
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { expect } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import type { LocalApp } from "../cli/local-app.js";
import { snapshot } from "./tree-fixtures.js";

/** The app's backups, oldest first: the pre-ship one, then those that restore 1.0.0 and 2.0.0. */
export async function backups(app: LocalApp): Promise<string[]> {
  return (await readdir(join(app.root, "var/backups/myapp"))).filter((n) => n.startsWith("myapp-")).sort();
}

/**
 * What a refused rollback must leave as it was: the app, ship's install index, the installed
 * version the state file names (a refusal as bad input records nothing: failed-rollback-state.test.ts).
 */
export async function watched(app: LocalApp): Promise<unknown> {
  return {
    app: await snapshot(app.appDir),
    index: await snapshot(join(app.root, "var/apps")),
    version: (await app.state()).sources.myapp?.current_version,
  };
}

/**
 * `--list-backups` leaves backup `name` out saying `damaged`, and `--rollback name` refuses it the
 * same way, exit 2, with the app, its index and the state as they were.
 */
export async function expectRefused(app: LocalApp, name: string, damaged: string): Promise<void> {
  const before = await watched(app);
  // The listing judges by the rollback's rule: the file was written since the backup was made.
  const listed = await runShip(["--config", app.config, "--list-backups"]);
  expect(listed.code, listed.stdout + listed.stderr).toBe(2);
  expect(listed.stderr).toContain(`not listed: ${damaged}`);

  const run = await runShip(["--config", app.config, "--rollback", name]);
  expect(run.code, run.stdout + run.stderr).toBe(2);
  expect(run.stderr).toContain(`ship: ${damaged}`);
  expect(run.stdout).not.toContain("back on");
  expect(await watched(app)).toEqual(before);
}
