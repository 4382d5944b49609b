/**
 * `ship --rollback` while an update killed mid-apply waits for recovery (its journal is there): real
 * `ship` runs, a real SIGKILL via SHIP_FAULT. It said "UPDATE FAILED AND RESTORE FAILED — the app
 * needs a person. update: restore requested; restore: an interrupted run is pending: recover first",
 * exit 3, and recorded restore_failed, though no update had run and nothing had been restored. Now
 * it is a refusal before anything moves, naming the way out; after `--recover` the rollback works.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp } from "../cli/local-app.js";
import { installVersions } from "./installed-versions.js";
import { snapshot } from "./tree-fixtures.js";

let app: LocalApp;
beforeEach(async () => {
  app = await localApp();
});
afterEach(async () => {
  await app.cleanup();
});

describe("ship --rollback over an update killed mid-apply (real CLI)", () => {
  it("is refused, nothing changed, exit 1 naming --recover; then it works", async () => {
    await installVersions(app, ["1", "2"]);
    await app.release("r3", `version: "3.0.0"\n`, { "app.txt": "v3\n", "f3.txt": "3\n" });
    const killed = await runShip(["--config", app.config], { env: { SHIP_FAULT: "apply:file@2" } });
    expect(killed.code).toBeNull();
    const listed = await runShip(["--config", app.config, "--list-backups", "--json"]);
    const target = (JSON.parse(listed.stdout) as { id: string; version: string | null }[]).find(
      (b) => b.version === "1.0.0",
    );
    const before = await snapshot(app.appDir);

    const refused = await runShip(["--config", app.config, "--rollback", String(target?.id)]);
    expect(refused.code, refused.stdout + refused.stderr).toBe(1);
    expect(refused.stderr).toContain(
      "myapp: cannot restore: a run was killed while changing the app and waits for recovery (its journal.json): run ship --recover first, then roll back; nothing was changed",
    );
    expect(refused.stderr).not.toContain("RESTORE FAILED");
    expect(await snapshot(app.appDir)).toEqual(before);
    expect((await app.state()).sources.myapp?.last_result).toBe("failed_unchanged");

    expect((await runShip(["--config", app.config, "--recover"])).code).toBe(0);
    const back = await runShip(["--config", app.config, "--rollback", String(target?.id)]);
    expect(back.code, back.stdout + back.stderr).toBe(0);
    expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("v1\n");
  });
});
