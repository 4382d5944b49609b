/**
 * A `ship --rollback` that fails must not leave the state reading as a success: with a damaged
 * journal (exit 3) the state kept `last_result: "updated"` beside the journal error in `last_error`,
 * and the agent's hello showed "updated". Now "restore_failed" (needs a person) or, for a rollback
 * refused before anything moved, "failed_unchanged".
 */
import { readdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp } from "../cli/local-app.js";
import { snapshot } from "./tree-fixtures.js";

let app: LocalApp;

beforeEach(async () => {
  app = await localApp();
  for (const v of ["1", "2", "3"]) {
    await app.release(`r${v}`, `version: "${v}.0.0"\n`, { "app.txt": `v${v}\n` });
    expect((await runShip(["--config", app.config])).code).toBe(0);
  }
  expect((await app.state()).sources.myapp?.last_result).toBe("updated");
});
afterEach(async () => {
  await app.cleanup();
});

async function backups(): Promise<{ id: string; path: string; version: string | null }[]> {
  const list = await runShip(["--config", app.config, "--list-backups", "--json"]);
  return JSON.parse(list.stdout) as { id: string; path: string; version: string | null }[];
}

describe("a failed --rollback in the state file (real CLI)", () => {
  it("a damaged journal (exit 3): last_result restore_failed, not the update's 'updated'", async () => {
    const [newest] = await backups();
    const apps = join(app.root, "var/apps");
    const journal = join(apps, String((await readdir(apps))[0]), "journal.json");
    await writeFile(journal, `{"kind":"update",`);
    const run = await runShip(["--config", app.config, "--rollback", String(newest?.id)]);
    expect(run.code, run.stdout + run.stderr).toBe(3);
    const state = (await app.state()).sources.myapp;
    expect(state?.last_result).toBe("restore_failed");
    expect(String(state?.last_error)).toContain(`${journal} is damaged`);
  });

  it("refused before anything moved (a backup deleted by hand, exit 2): last_result failed_unchanged", async () => {
    const list = await backups();
    const one = list.find((b) => b.version === "1.0.0");
    await rm(String(list[0]?.path), { recursive: true });
    const before = await snapshot(app.appDir);
    const run = await runShip(["--config", app.config, "--rollback", String(one?.id)]);
    expect(run.code, run.stdout + run.stderr).toBe(2);
    expect(await snapshot(app.appDir)).toEqual(before);
    const state = (await app.state()).sources.myapp;
    expect(state?.last_result).toBe("failed_unchanged");
    expect(state?.current_version).toBe("3.0.0");
    expect(String(state?.last_error)).not.toBe("null");
  });
});
