/**
 * The app's state directory (var/apps/<app>: install index, journal, run records) replaced by a
 * file, by a pre_update hook or by hand. The run said "UPDATE FAILED AND RESTORE FAILED — the app
 * needs a person", exit 3, of an app it had not touched (the journal could not be opened, which read
 * as an apply that died half-way); the runs after it, `--recover` and `--rollback` each said a bare
 * "cannot open/read …: a component of the path is not a directory (ENOTDIR)". Now each names the
 * directory and the way out: the run whose hook did it is a failed run that changed nothing
 * (exit 1), every later command refuses as bad input (exit 2), and nothing on disk changes.
 * `--list-backups` listed every backup as restorable meanwhile (exit 0, `--json` `"restorable":
 * true`): it now judges them by the rollback's rule and says why, in the rollback's words.
 */
import { readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp } from "../cli/local-app.js";
import { snapshot } from "./tree-fixtures.js";

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

const notADirectory = (dir: string) =>
  `${dir} (ship's state directory of the app: its install index, journal and run records) is not a directory (something replaced it with a file?): move that aside and let ship make the directory again`;

describe("the app's state directory replaced by a file (real CLI)", () => {
  it("by a pre_update hook: the run failed and changed nothing (exit 1), not 'RESTORE FAILED'; no partial backup left", async () => {
    const backups = join(app.root, "var/backups/myapp");
    const before = await readdir(backups);
    await app.release(
      "r3",
      `version: "3.0.0"\nhooks:\n  pre_update:\n    - "rm -rf '${stateDir}' && touch '${stateDir}'"\n`,
      { "app.txt": "v3\n" },
    );
    const run = await runShip(["--config", app.config]);
    expect(run.code, run.stdout + run.stderr).toBe(1);
    expect(run.stdout + run.stderr).not.toContain("RESTORE FAILED");
    expect(run.stdout).toContain("update failed at apply");
    expect(run.stdout).toContain(`${stateDir} is not a directory (something replaced it with a file?)`);
    expect(run.stdout).toContain("the app's files were not changed");
    expect(run.stdout + run.stderr).not.toContain("(ENOTDIR)");
    expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("v2\n");
    expect(await readdir(backups)).toEqual(before);
    expect((await app.state()).sources.myapp?.last_result).toBe("failed_unchanged");
  });

  it("every later command names it, exit 2, nothing changed; moved aside, the next run works again", async () => {
    const list = await runShip(["--config", app.config, "--list-backups", "--json"]);
    const [newest] = JSON.parse(list.stdout) as { id: string }[];
    await rm(stateDir, { recursive: true });
    await writeFile(stateDir, "");
    await app.release("r3", `version: "3.0.0"\n`, { "app.txt": "v3\n" });
    const before = await snapshot(app.root);
    for (const args of [[], ["--check-only"], ["--recover"], ["--rollback", String(newest?.id)]]) {
      const run = await runShip(["--config", app.config, ...args]);
      expect(run.code, `${args.join(" ")}: ${run.stdout}${run.stderr}`).toBe(2);
      expect(run.stdout + run.stderr, args.join(" ")).toContain(notADirectory(stateDir));
      expect(run.stdout + run.stderr, args.join(" ")).not.toContain("(ENOTDIR)");
      expect(await snapshot(app.root), args.join(" ")).toEqual(before);
    }
    await rm(stateDir);
    // Exit 100: an update is available (the index was lost with the directory; the state knows 2.0.0).
    const run = await runShip(["--config", app.config, "--check-only"]);
    expect(run.code, run.stdout + run.stderr).toBe(100);
    expect(run.stdout).toContain("ship installed 2.0.0) -> 3.0.0");
  });
});

describe("--list-backups with the app's state directory replaced by a file (real CLI)", () => {
  it("lists no backup as restorable that --rollback refuses, and names the directory", async () => {
    await rm(stateDir, { recursive: true });
    await writeFile(stateDir, "");
    const list = await runShip(["--config", app.config, "--list-backups", "--json"]);
    expect(list.stdout + list.stderr).toContain(notADirectory(stateDir));
    const parsed = JSON.parse(list.stdout) as unknown;
    const rows = Array.isArray(parsed) ? (parsed as { id: string; restorable: boolean }[]) : [];
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) {
      expect(row.restorable, row.id).toBe(false);
      const rollback = await runShip(["--config", app.config, "--rollback", row.id]);
      expect(rollback.code, row.id).toBe(2);
    }
  });
});
