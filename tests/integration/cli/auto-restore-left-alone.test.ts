/**
 * An automatic restore (a failing health check) that must leave paths alone — here a post_update
 * hook swapped an installed directory for a symlink to shared storage, the Capistrano layout — never
 * touches what is behind the symlink, and its one line says what it did not put back instead of a
 * plain "restored the previous version", as `ship --rollback` lists them.
 */
import { mkdir, readdir, readFile, readlink, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp } from "./local-app.js";

describe("automatic restore that leaves paths alone", () => {
  let app: LocalApp;
  beforeEach(async () => {
    app = await localApp();
  });
  afterEach(() => app.cleanup());

  it("a hook's symlink to shared storage: shared files untouched, the line names what was not put back", async () => {
    const shared = join(app.root, "shared/storage");
    await mkdir(shared, { recursive: true });
    await writeFile(join(shared, "s.txt"), "shared\n");
    await writeFile(join(shared, "other.txt"), "other\n");
    await app.release("r1", 'version: "1.0.0"\n', { "a.txt": "v1\n", "storage/s.txt": "v1\n" });
    expect((await runShip(["--config", app.config])).code).toBe(0);

    await app.release(
      "r2",
      `version: "2.0.0"\nhooks:\n  post_update: ["rm -rf storage && ln -s ${shared} storage"]\n` +
        `post_update_tests:\n  - { name: health, command: "false" }\n`,
      { "a.txt": "v2\n", "storage/s.txt": "v2\n" },
    );
    const run = await runShip(["--config", app.config]);
    expect(run.code, run.stdout + run.stderr).toBe(1);
    const line = run.stdout.trim();
    expect(line.split("\n")).toHaveLength(1);
    expect(line).toMatch(
      /^myapp: update failed at tests: .*; restored the previous version except 1 path\(s\) it was not ship's to touch \(storage\/s\.txt: .*\); their previous versions are in \S+\.unrestored$/,
    );
    expect(await readFile(join(app.appDir, "a.txt"), "utf8")).toBe("v1\n");
    expect(await readlink(join(app.appDir, "storage"))).toBe(shared);
    expect(await readFile(join(shared, "s.txt"), "utf8")).toBe("shared\n");
    expect(await readFile(join(shared, "other.txt"), "utf8")).toBe("other\n");
    const unrestored = /previous versions are in (\S+)$/.exec(line)?.[1] ?? "";
    expect(await readFile(join(unrestored, "storage/s.txt"), "utf8")).toBe("v1\n");
    const state = (await app.state()).sources.myapp;
    expect(state).toMatchObject({ current_version: "1.0.0", last_result: "failed_restored" });
    // The recorded error (also the hub's report) says it too, not only the printed line.
    expect(String(state?.last_error)).toMatch(
      /; restored except 1 path\(s\) it was not ship's to touch \(storage\/s\.txt: /,
    );

    // Found again later: --list-backups names the folder, though it is no backup.
    const listed = await runShip(["--config", app.config, "--list-backups"]);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toContain(`${unrestored} holds previous versions a restore left alone`);
    // --json names it too (it said nothing of it), as a row that is no restorable backup.
    const json = await runShip(["--config", app.config, "--list-backups", "--json"]);
    expect(json.code, json.stderr).toBe(0);
    const rows = JSON.parse(json.stdout) as Record<string, unknown>[];
    expect(rows.find((r) => r.path === unrestored)).toMatchObject({
      source: "myapp",
      setAside: true,
      complete: false,
      restorable: false,
      appDir: app.appDir,
      notRestorable: expect.stringContaining("holds previous versions a restore left alone"),
    });
    expect(rows.filter((r) => r.setAside === undefined).every((r) => r.complete === true)).toBe(true);
    // Every row names its source, a set-aside one too: `select(.source == "myapp")` found it not.
    expect(rows.filter((r) => r.source !== "myapp")).toEqual([]);
    // And keep_backups removes it like a backup made then: it piled up for good.
    await rm(join(app.appDir, "storage"));
    await app.release("r3", 'version: "3.0.0"\nrollback:\n  keep_backups: 1\n', { "a.txt": "v3\n" });
    const next = await runShip(["--config", app.config]);
    expect(next.code, next.stdout + next.stderr).toBe(0);
    await expect(stat(unrestored)).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("nothing left alone: the line is the plain one", async () => {
    await app.release("r1", 'version: "1.0.0"\n', { "a.txt": "v1\n" });
    expect((await runShip(["--config", app.config])).code).toBe(0);
    await app.release(
      "r2",
      'version: "2.0.0"\npost_update_tests:\n  - { name: health, command: "false" }\n',
      {
        "a.txt": "v2\n",
      },
    );
    const run = await runShip(["--config", app.config]);
    expect(run.code).toBe(1);
    expect(run.stdout.trim()).toMatch(/; restored the previous version$/);
  });

  it("the undone release is freed when the failed run ends, not left in the trash for the next run", async () => {
    // On a disk the failed release filled, its bytes waited under a timer for hours, under a daemon
    // for weeks (the daemon's next run of the app).
    await app.release("r1", 'version: "1.0.0"\n', { "a.txt": "v1\n" });
    expect((await runShip(["--config", app.config])).code).toBe(0);
    await app.release(
      "r2",
      'version: "2.0.0"\npost_update_tests:\n  - { name: health, command: "false" }\n',
      {
        "a.txt": "v2\n",
        "big.bin": "x".repeat(100_000),
      },
    );
    const run = await runShip(["--config", app.config]);
    expect(run.code, run.stderr).toBe(1);
    expect(await readFile(join(app.appDir, "a.txt"), "utf8")).toBe("v1\n");
    const trash = join(app.root, "var/backups/myapp/.trash");
    expect(await readdir(trash).catch(() => [])).toEqual([]);
  });
});
