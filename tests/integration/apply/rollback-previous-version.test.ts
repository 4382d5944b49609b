/**
 * `previous_version` after `ship --rollback` names the version the rollback took off the disk. It
 * was the state's `current_version` as found, so a state file that named another version (a hand
 * edit, a write lost to a full disk) made it say "9.9.9" was the previous version, which was never
 * installed; `current_version` was already corrected from the install index.
 */
import { readFile, writeFile } from "node:fs/promises";
import { afterEach, beforeEach, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp } from "../cli/local-app.js";

let app: LocalApp;

beforeEach(async () => {
  app = await localApp();
});
afterEach(async () => {
  await app.cleanup();
});

it("--rollback over a state file naming another version: previous_version is the version undone", async () => {
  await app.release("v1", 'version: "1.0.0"\n');
  expect((await runShip(["--config", app.config])).code).toBe(0);
  await app.release("v2", 'version: "2.0.0"\n');
  expect((await runShip(["--config", app.config])).code).toBe(0);
  const text = await readFile(app.stateFile, "utf8");
  await writeFile(app.stateFile, text.replace('"current_version": "2.0.0"', '"current_version": "9.9.9"'));
  const list = await runShip(["--config", app.config, "--list-backups", "--json"]);
  const [newest] = JSON.parse(list.stdout) as { id: string }[];
  const back = await runShip(["--config", app.config, "--rollback", String(newest?.id)]);
  expect(back.code, back.stdout + back.stderr).toBe(0);
  const state = await app.state();
  expect(state.sources.myapp?.current_version).toBe("1.0.0");
  expect(state.sources.myapp?.previous_version).toBe("2.0.0");
});
