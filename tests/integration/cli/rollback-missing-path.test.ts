/**
 * `ship --rollback PATH` of a path that is not there (a typo, a backup pruned or restored since)
 * said "is not a complete ship backup (no meta.json with complete: true)", as if a backup were
 * there, broken (review23). It says there is no such backup; a directory that is there but no
 * backup is still named as one. Real CLI; exit 2, nothing changed either way.
 */
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp } from "./local-app.js";

describe("ship --rollback of a path that is no backup (real CLI)", () => {
  let app: LocalApp;

  beforeEach(async () => {
    app = await localApp();
    await app.release("v1", 'version: "1.0.0"\n', { "app.py": "v1\n" });
    expect((await runShip(["--config", app.config])).code).toBe(0);
  });
  afterEach(async () => {
    await app.cleanup();
  });

  it("says a missing path does not exist, and a directory that is there is no complete backup", async () => {
    const missing = join(app.root, "var/backups/myapp/myapp-20990101T000000Z");
    const gone = await runShip(["--config", app.config, "--rollback", missing]);
    expect(gone.code, gone.stderr).toBe(2);
    expect(gone.stderr.trim()).toBe(
      `ship: ${missing} does not exist: no such backup (ship --list-backups lists them; a pruned or restored backup is gone)`,
    );
    const empty = join(app.root, "not-a-backup");
    await mkdir(empty);
    const other = await runShip(["--config", app.config, "--rollback", empty]);
    expect(other.code, other.stderr).toBe(2);
    expect(other.stderr).toContain(`${empty} is not a complete ship backup`);
    expect(await readFile(join(app.appDir, "app.py"), "utf8")).toBe("v1\n");
  });
});
