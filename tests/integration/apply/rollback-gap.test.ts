/**
 * `ship --rollback` when the backup of the last update is gone (deleted by hand to free space):
 * real `ship` runs. Each backup undoes one update, so restoring the older ones cannot undo 3.0.0 —
 * yet the rollback went ahead with a warning in the log: 3.0.0's app.txt stayed ("left alone")
 * and its f3.txt was not even named, 1.0.0's f1.txt came back beside them, the state said 1.0.0,
 * and it printed "back on 1.0.0", exit 0: a mixed tree reported as a clean rollback. Now it is
 * refused before anything moves, naming the gap (exit 2).
 */
import { readFile, rm } from "node:fs/promises";
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

describe("ship --rollback across a missing backup (real CLI)", () => {
  it("is refused, naming the gap, with nothing changed", async () => {
    await installVersions(app, ["1", "2", "3"]);
    const list = async () =>
      JSON.parse((await runShip(["--config", app.config, "--list-backups", "--json"])).stdout) as {
        id: string;
        path: string;
        version: string | null;
      }[];
    const [newest] = await list();
    await rm(String(newest?.path), { recursive: true });
    const target = (await list()).find((b) => b.version === "1.0.0");
    const before = await snapshot(app.appDir);

    const run = await runShip(["--config", app.config, "--rollback", String(target?.id)]);
    expect(run.code, run.stdout + run.stderr).toBe(2);
    expect(run.stderr).toContain(
      `has no backup that undoes the installed 3.0.0: the newest backup of myapp, ${target?.id}, undoes 2.0.0`,
    );
    expect(run.stderr).toContain("nothing was changed");
    expect(run.stdout).not.toContain("back on");
    expect(await snapshot(app.appDir)).toEqual(before);
    expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("v3\n");
    expect((await app.state()).sources.myapp?.current_version).toBe("3.0.0");
    expect((await list()).map((b) => b.id)).toContain(target?.id);
  });
});
