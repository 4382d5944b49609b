/**
 * Retention after a source was renamed in ship.toml (`[sources.myapp]` → `[sources.web]`, the same
 * app_dir), with real `ship` runs. Pruning listed only the new name's backups: with keep_backups 2,
 * myapp's backups stayed for ever beside web's two (and a chain through them had a gap anyway).
 * The merge bases myapp's backups need were deleted by web's first update, so after a rollback to
 * one of them the next update merged without its base and kept a shipped default as if the user had
 * set it. And a `backup_replace` file's `.bak`, written by myapp's update, was taken for the
 * operator's own by every update under the new name and never refreshed again.
 */
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp } from "../cli/local-app.js";

let app: LocalApp;
beforeEach(async () => {
  app = await localApp();
});
afterEach(async () => {
  await app.cleanup();
});

const renamed = async () =>
  writeFile(app.config, (await readFile(app.config, "utf8")).replace("[sources.myapp]", "[sources.web]"));

const listed = async () =>
  JSON.parse((await runShip(["--config", app.config, "--list-backups", "--json"])).stdout) as {
    id: string;
    app: string;
    version: string | null;
  }[];

describe("backups after a source was renamed (real CLI)", () => {
  it("counts the backups made under the old name, keeping the newest", async () => {
    const manifest = (v: string) => `version: "${v}.0.0"\nrollback:\n  keep_backups: 2\n`;
    for (const v of ["1", "2", "3"]) {
      await app.release(`r${v}`, manifest(v), { "app.txt": `v${v}\n` });
      expect((await runShip(["--config", app.config])).code).toBe(0);
    }
    for (const v of ["4", "5"]) {
      await app.release(`r${v}`, manifest(v), { "app.txt": `v${v}\n` });
      await renamed();
      expect((await runShip(["--config", app.config])).code).toBe(0);
    }
    const kept = await listed();
    expect(kept.map((b) => [b.app, b.version])).toEqual([
      ["web", "4.0.0"],
      ["web", "3.0.0"],
    ]);
    expect(await readdir(join(app.root, "var/backups/myapp"))).toEqual([]);
    // The newest two still roll back as a chain.
    const back = await runShip(["--config", app.config, "--rollback", String(kept[1]?.id)]);
    expect(back.code, back.stdout + back.stderr).toBe(0);
    expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("v3\n");
  });

  it("keeps the merge bases the old name's backups need: an update after rolling back to one merges as before", async () => {
    const manifest = (v: string) =>
      `version: "${v}.0.0"\nfiles:\n  "config.json":\n    action: merge_json\n    merge_strategy: preserve_user\n`;
    await app.release("r1", manifest("1"), { "config.json": `{"port": 80, "name": "a"}\n` });
    expect((await runShip(["--config", app.config])).code).toBe(0);
    await app.release("r2", manifest("2"), { "config.json": `{"port": 80, "name": "a", "x": 1}\n` });
    expect((await runShip(["--config", app.config])).code).toBe(0);
    // web's first update: 3.0.0 ships a new default port.
    await app.release("r3", manifest("3"), { "config.json": `{"port": 8080, "name": "a", "x": 1}\n` });
    await renamed();
    expect((await runShip(["--config", app.config])).code).toBe(0);

    const one = (await listed()).find((b) => b.version === "1.0.0");
    expect(one?.app).toBe("myapp");
    const back = await runShip(["--config", app.config, "--rollback", String(one?.id)]);
    expect(back.code, back.stdout + back.stderr).toBe(0);
    expect(JSON.parse(await readFile(join(app.appDir, "config.json"), "utf8"))).toEqual({
      port: 80,
      name: "a",
    });

    // Nobody edited the port: the update takes 3.0.0's default, as it did the first time.
    const again = await runShip(["--config", app.config]);
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect(JSON.parse(await readFile(join(app.appDir, "config.json"), "utf8"))).toEqual({
      port: 8080,
      name: "a",
      x: 1,
    });
  });

  it("refreshes the .bak an update under the old name wrote (backup_replace)", async () => {
    const manifest = (v: string) =>
      `version: "${v}.0.0"\nfiles:\n  "config.ini":\n    action: backup_replace\n`;
    for (const v of ["1", "2"]) {
      await app.release(`r${v}`, manifest(v), { "config.ini": `c=${v}\n` });
      expect((await runShip(["--config", app.config])).code).toBe(0);
    }
    expect(await readFile(join(app.appDir, "config.ini.bak"), "utf8")).toBe("c=1\n");
    await app.release("r3", manifest("3"), { "config.ini": "c=3\n" });
    await renamed();
    const run = await runShip(["--config", app.config]);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stderr).not.toContain("kept the previous version in the backup only");
    expect(await readFile(join(app.appDir, "config.ini"), "utf8")).toBe("c=3\n");
    expect(await readFile(join(app.appDir, "config.ini.bak"), "utf8")).toBe("c=2\n");
  });
});
