/**
 * A restore puts directories' modification times back too. Before: every file came back with its
 * bytes, mode, owner and mtime, but each directory the update had added to or removed from (the app
 * directory itself included), and each it had removed and the restore made again, kept the time of
 * the restore: the tree was not the one backed up (rsync -a, the seed's method, keeps them).
 * Both ways back: `ship --rollback` and the automatic restore of a failed health check.
 * And the undo of an apply through its journal, not a backup: an apply SIGKILLed at its step
 * boundaries and undone by `ship --recover`, or one whose file operation failed, undone at once,
 * left every directory it had touched with the time of the undo.
 */
import { lstat, mkdir, readFile, utimes } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp } from "../cli/local-app.js";

let app: LocalApp;
const DIRS = ["", "bin", "conf", "empty", "conf/deep"];
const OLD = new Date("2021-03-04T05:06:07.000Z");

beforeEach(async () => {
  app = await localApp();
  await app.release("r1", 'version: "1.0.0"\n', {
    "bin/tool": "v1\n",
    "conf/a.conf": "c1\n",
    "conf/deep/b.conf": "b1\n",
    "empty/.keep": "",
    "app.txt": "v1\n",
  });
  expect((await runShip(["--config", app.config])).code).toBe(0);
  await mkdir(join(app.appDir, "logs"));
  // Deepest first: setting a child's time does not move its parent's.
  for (const rel of [...DIRS].reverse()) await utimes(join(app.appDir, rel), OLD, OLD);
});
afterEach(async () => {
  await app.cleanup();
});

async function dirTimes(): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const rel of DIRS) out[rel] = (await lstat(join(app.appDir, rel))).mtime.toISOString();
  return out;
}

/** 2.0.0 changes an entry in every directory above, and removes `empty/` (a file there now). */
async function releaseV2(extra = ""): Promise<void> {
  await app.release("r2", `version: "2.0.0"\n${extra}`, {
    "bin/tool": "v2\n",
    "bin/new": "n\n",
    "conf/a.conf": "c2\n",
    "conf/deep/c.conf": "c\n",
    empty: "now a file\n",
    "app.txt": "v2\n",
  });
}

describe("a restore puts directory mtimes back (real CLI)", () => {
  it("ship --rollback", async () => {
    const before = await dirTimes();
    expect(Object.values(before).every((t) => t === OLD.toISOString())).toBe(true);
    await releaseV2();
    const run = await runShip(["--config", app.config]);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect((await lstat(join(app.appDir, "bin"))).mtime.toISOString()).not.toBe(OLD.toISOString());
    const [newest] = JSON.parse((await runShip(["--config", app.config, "--list-backups", "--json"])).stdout);
    const undo = await runShip(["--config", app.config, "--rollback", String(newest?.id)]);
    expect(undo.code, undo.stdout + undo.stderr).toBe(0);
    expect(await readFile(join(app.appDir, "empty/.keep"), "utf8")).toBe("");
    expect(await dirTimes()).toEqual(before);
  });

  it("the automatic restore of a failed health check", async () => {
    const before = await dirTimes();
    await releaseV2('post_update_tests:\n  - {name: health, command: "false"}\n');
    const run = await runShip(["--config", app.config]);
    expect(run.code, run.stdout + run.stderr).toBe(1);
    expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("v1\n");
    expect(await dirTimes()).toEqual(before);
  });

  // Each kill point leaves the journal "applying": recovery undoes the update through it.
  for (const fault of ["apply:journal-written", "apply:file@1", "apply:file@4", "apply:before-commit"]) {
    it(`the recovery of an apply SIGKILLed at ${fault} (ship --recover)`, async () => {
      const before = await dirTimes();
      await releaseV2();
      const killed = await runShip(["--config", app.config], { env: { SHIP_FAULT: fault } });
      expect(killed.code, killed.stdout + killed.stderr).toBeNull();
      const recovered = await runShip(["--config", app.config, "--recover"]);
      expect(recovered.code, recovered.stdout + recovered.stderr).toBe(0);
      expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("v1\n");
      expect(await readFile(join(app.appDir, "empty/.keep"), "utf8")).toBe("");
      expect(await dirTimes()).toEqual(before);
    });
  }

  it("the undo, in the same run, of an apply whose file operation failed", async () => {
    const before = await dirTimes();
    await releaseV2();
    const run = await runShip(["--config", app.config], { env: { SHIP_FAULT: "apply:file@4:error" } });
    expect(run.code, run.stdout + run.stderr).toBe(1);
    expect(await readFile(join(app.appDir, "app.txt"), "utf8")).toBe("v1\n");
    expect(await dirTimes()).toEqual(before);
  });
});
