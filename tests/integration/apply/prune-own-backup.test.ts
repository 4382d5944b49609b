/**
 * keep_backups after the clock was set back (a VM restored from a snapshot, an RTC wrong until NTP
 * corrects it): a backup made while the clock was ahead reads as newer than the one an update makes
 * now. Pruning kept the "newest" and deleted the update's own backup right after its commit, so
 * when its health check failed nothing could be restored: "UPDATE FAILED AND RESTORE FAILED — the
 * app needs a person", the failing 3.0.0 left installed and 2.0.0's replaced files gone. Real `ship`
 * runs; the earlier backup's meta.json carries the time the fast clock gave it.
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp } from "../cli/local-app.js";
import { snapshot } from "./tree-fixtures.js";

let app: LocalApp;
beforeEach(async () => {
  app = await localApp();
});
afterEach(async () => {
  await app.cleanup();
});

const manifest = (v: string, extra = "", keep = 1) =>
  `version: "${v}.0.0"\nrollback:\n  keep_backups: ${keep}\n${extra}`;

/** Dates the newest backup an hour ahead: made while the clock ran fast. */
async function dateNewestAhead(): Promise<void> {
  const listed = await runShip(["--config", app.config, "--list-backups", "--json"]);
  const [newest] = JSON.parse(listed.stdout) as { path: string }[];
  const metaFile = join(String(newest?.path), "meta.json");
  const meta = JSON.parse(await readFile(metaFile, "utf8")) as Record<string, unknown>;
  await writeFile(
    metaFile,
    JSON.stringify({ ...meta, created: new Date(Date.now() + 3_600_000).toISOString() }),
  );
}

describe("keep_backups with a backup dated ahead of the clock (real CLI)", () => {
  it("never deletes the update's own backup: a failed health check still restores", async () => {
    for (const v of ["1", "2"]) {
      await app.release(`r${v}`, manifest(v), { "app.txt": `v${v}\n`, [`f${v}.txt`]: `${v}\n` });
      expect((await runShip(["--config", app.config])).code).toBe(0);
    }
    await dateNewestAhead();
    const onTwo = await snapshot(app.appDir);

    await app.release("r3", manifest("3", `post_update_tests:\n  - name: health\n    command: "false"\n`), {
      "app.txt": "v3\n",
      "f3.txt": "3\n",
    });
    const run = await runShip(["--config", app.config]);
    expect(run.code, run.stdout + run.stderr).toBe(1);
    expect(run.stdout).toContain("restored the previous version");
    expect(await snapshot(app.appDir)).toEqual(onTwo);
    expect((await app.state()).sources.myapp).toMatchObject({
      current_version: "2.0.0",
      last_result: "failed_restored",
    });
    // The failed update pruned nothing: at its commit it had deleted 2.0.0's backup (keep_backups 1),
    // so the version it restored could no longer be rolled back ("no backups").
    const listed = await runShip(["--config", app.config, "--list-backups", "--json"]);
    expect((JSON.parse(listed.stdout) as { version: string }[]).map((b) => b.version)).toEqual(["1.0.0"]);
  });

  it("keeps the backups that roll back as a chain from what is installed", async () => {
    // keep_backups 2: by dates, 4.0.0's backup and the fast-dated one (undoing 2.0.0) were kept and
    // the one undoing 3.0.0 between them pruned, so neither rollback past 3.0.0 could be done.
    for (const v of ["1", "2", "3", "4"]) {
      await app.release(`r${v}`, manifest(v, "", 2), { "app.txt": `v${v}\n`, [`f${v}.txt`]: `${v}\n` });
      expect((await runShip(["--config", app.config])).code).toBe(0);
      if (v === "2") await dateNewestAhead();
    }
    const listed = await runShip(["--config", app.config, "--list-backups", "--json"]);
    const kept = JSON.parse(listed.stdout) as { id: string; version: string | null }[];
    expect(kept.map((b) => b.version).sort()).toEqual(["2.0.0", "3.0.0"]);
    const two = kept.find((b) => b.version === "2.0.0");
    const back = await runShip(["--config", app.config, "--rollback", String(two?.id)]);
    expect(back.code, back.stdout + back.stderr).toBe(0);
    expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("v2\n");
  });
});
