/**
 * The app's state directory replaced by a file: `--rollback` of any backup is refused, exit 2, naming
 * the directory and the way out (state-dir-replaced.test.ts), but `--list-backups` listed every
 * backup as restorable (exit 0, `--json` `"restorable": true`) without a word of it. README: the
 * listing judges a backup by the rollback's rule and says why one is NOT RESTORABLE in the rollback's
 * own words (as it does for a killed run waiting for recovery).
 */
import { readdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp } from "../cli/local-app.js";

let app: LocalApp;
let stateDir: string;

beforeEach(async () => {
  app = await localApp();
  await app.release("r1", `version: "1.0.0"\n`, { "app.txt": "v1\n" });
  expect((await runShip(["--config", app.config])).code).toBe(0);
  await app.release("r2", `version: "2.0.0"\n`, { "app.txt": "v2\n" });
  expect((await runShip(["--config", app.config])).code).toBe(0);
  const apps = join(app.root, "var/apps");
  stateDir = join(apps, String((await readdir(apps))[0]));
});
afterEach(async () => {
  await app.cleanup();
});

describe("--list-backups with the app's state directory replaced by a file (real CLI)", () => {
  it("lists no backup as restorable that --rollback refuses, and names the directory", async () => {
    await rm(stateDir, { recursive: true });
    await writeFile(stateDir, "");
    const list = await runShip(["--config", app.config, "--list-backups", "--json"]);
    const said = list.stdout + list.stderr;
    expect(said).toContain(`${stateDir} (ship's state directory of the app`);
    expect(said).toContain("is not a directory (something replaced it with a file?)");
    const parsed = JSON.parse(list.stdout) as unknown;
    const rows = Array.isArray(parsed) ? (parsed as { id: string; restorable: boolean }[]) : [];
    for (const row of rows) {
      expect(row.restorable, row.id).toBe(false);
      const rollback = await runShip(["--config", app.config, "--rollback", row.id]);
      expect(rollback.code, row.id).toBe(2);
    }
  });
});
