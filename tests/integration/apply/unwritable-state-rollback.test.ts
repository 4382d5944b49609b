/**
 * `ship --rollback` when the state file cannot be written (its directory or the file `chattr +i`,
 * or made by root while ship runs as a service user). Real `ship` runs. The restore's own check
 * asked only about the app, the backup and the app's state directory: every file went back, then
 * "cannot write …/state.json: operation not permitted (EPERM)", exit 1, with the state still
 * naming the undone version and no word that the app had moved. Now it is refused up front.
 */
import { spawnSync } from "node:child_process";
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import type { LocalApp } from "../cli/local-app.js";
import { installedVersionsForFile } from "./installed-versions.js";
import { snapshot } from "./tree-fixtures.js";

let app: LocalApp;
const immutable: string[] = [];

installedVersionsForFile(["1", "2"], (made) => {
  app = made;
});
afterEach(async () => {
  for (const path of immutable.splice(0)) spawnSync("chattr", ["-i", path]);
});

describe("ship --rollback with a state file it cannot write (real CLI)", () => {
  for (const which of ["its directory", "the file"] as const) {
    it(`${which} immutable: refused naming it, exit 1, nothing changed`, async (ctx) => {
      const listed = await runShip(["--config", app.config, "--list-backups", "--json"]);
      const [newest] = JSON.parse(listed.stdout) as { id: string }[];
      const locked = which === "the file" ? app.stateFile : dirname(app.stateFile);
      if (spawnSync("chattr", ["+i", locked]).status !== 0) {
        console.warn("SKIPPING: chattr +i is not available here (not root, or not ext4)");
        ctx.skip();
      }
      immutable.push(locked);
      const before = await snapshot(app.appDir);

      const run = await runShip(["--config", app.config, "--rollback", String(newest?.id)]);
      expect(run.code, run.stdout + run.stderr).toBe(1);
      expect(run.stderr).toContain(
        `myapp: cannot restore: ${locked} is not writable: operation not permitted (EPERM) (ship records the restored version there); nothing was changed`,
      );
      expect(await snapshot(app.appDir)).toEqual(before);

      spawnSync("chattr", ["-i", locked]);
      const back = await runShip(["--config", app.config, "--rollback", String(newest?.id)]);
      expect(back.code, back.stdout + back.stderr).toBe(0);
      expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("v1\n");
      expect((await app.state()).sources.myapp?.current_version).toBe("1.0.0");
    });
  }
});
