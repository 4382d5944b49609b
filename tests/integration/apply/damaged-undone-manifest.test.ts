/**
 * A backup whose copy of the undone release's manifest (manifest.json: its rollback hooks and
 * notifications) was truncated, met by real `ship --rollback` runs. Before: `ship: internal error:
 * Unterminated string in JSON at position 15`, exit 1, naming no file; in an older backup of a
 * chain, the newer backups were restored first and the rollback then stopped half-way with that
 * line. Now: exit 2 naming the file and the way out, before anything moves; moved aside, the
 * rollback runs without that release's hooks.
 */
import { readdir, readFile, rename, truncate } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { builtOnceRestoredEachTest } from "../../support/built-once.js";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp } from "../cli/local-app.js";
import { snapshot } from "./tree-fixtures.js";

let app: LocalApp;
// Every test starts from 3.0.0 over 1.0.0 and 2.0.0 (three backups), put back as built before each.
builtOnceRestoredEachTest(async () => {
  app = await localApp();
  for (const v of ["1", "2", "3"]) {
    const manifest = `version: "${v}.0.0"\nhooks:\n  rollback: ["echo undo ${v} >> $SHIP_APP_DIR/../rollback.log"]\n`;
    await app.release(`r${v}`, manifest, { "app.txt": `v${v}\n`, [`only-${v}.txt`]: `${v}\n` });
    const run = await runShip(["--config", app.config]);
    expect(run.code, run.stderr).toBe(0);
  }
  return app.root;
});

/** The backups' paths, oldest first: the pre-ship one, then those that restore 1.0.0 and 2.0.0. */
async function backups(): Promise<string[]> {
  const dir = join(app.root, "var/backups/myapp");
  return (await readdir(dir))
    .filter((n) => n.startsWith("myapp-"))
    .sort()
    .map((n) => join(dir, n));
}

async function rollbackLog(): Promise<string> {
  return readFile(join(app.root, "rollback.log"), "utf8").catch(() => "");
}

const says = (path: string) =>
  `ship: ${path}/manifest.json is damaged, it is not valid JSON (Unterminated string in JSON at position 15): this backup's copy of the manifest of the release it undoes (its rollback hooks and notifications); move it aside to roll back without them; nothing was changed`;

/** `--rollback target` with `damaged`'s manifest.json truncated: exit 2 naming it, nothing run or changed. */
async function refusedOver(damaged: string, target: string): Promise<void> {
  await truncate(join(damaged, "manifest.json"), 15);
  const before = await snapshot(app.appDir);
  const run = await runShip(["--config", app.config, "--rollback", target]);
  expect(run.code, run.stdout + run.stderr).toBe(2);
  expect(run.stderr.trim().split("\n").at(-1)).toBe(says(damaged));
  expect(await snapshot(app.appDir)).toEqual(before);
  expect(await rollbackLog()).toBe("");
  expect((await app.state()).sources.myapp?.current_version).toBe("3.0.0");
}

describe("--rollback of a backup whose saved manifest is damaged (real CLI)", () => {
  it("exit 2 naming it, nothing run or changed; moved aside, the rollback runs without its hooks", async () => {
    const [, , newest = ""] = await backups();
    await refusedOver(newest, newest);

    await rename(join(newest, "manifest.json"), join(app.root, "manifest.json.damaged"));
    const again = await runShip(["--config", app.config, "--rollback", newest]);
    expect(again.code, again.stderr).toBe(0);
    expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("v2\n");
    expect(await rollbackLog()).toBe("");
  });

  it("in an older backup of a chain: exit 2 before the newer one is restored", async () => {
    const [, older = ""] = await backups();
    await refusedOver(older, older);
  });

  it("a whole backup's rollback runs its hooks (the log the tests above read is the hooks' own)", async () => {
    const [, , newest = ""] = await backups();
    const run = await runShip(["--config", app.config, "--rollback", newest]);
    expect(run.code, run.stderr).toBe(0);
    expect(await rollbackLog()).toBe("undo 3\n");
  });
});
