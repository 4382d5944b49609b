/**
 * A restore (manual rollback, automatic rollback, crash recovery) touches only what ship installed:
 * never through a symlink an operator put in place of a directory, never over a file someone changed
 * or created after the update. The old versions it could not put back are kept, not dropped.
 */
import { mkdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { applyUpdate } from "../../../agent/apply/apply-update.js";
import { readInstallIndex } from "../../../agent/apply/install-index.js";
import { readJournal, writeJournal } from "../../../agent/apply/journal.js";
import { recoverApp } from "../../../agent/apply/recover.js";
import { restoreBackup } from "../../../agent/backup/restore.js";
import { rollbackTo } from "../../../agent/backup/rollback-to.js";
import { unrestoredDir } from "../../../agent/backup/unrestored.js";
import { pathExists } from "../../../agent/tree/fs-ops.js";
import { RestoreNotStartedError } from "../../../shared/errors.js";
import { Manifest, type ManifestInput } from "../../../shared/manifest/schema.js";
import { snapshot, stage, type TreeSpec, tempDir, writeTree } from "./tree-fixtures.js";

let root: string;
let appDir: string;
let stateDir: string;
let backupRoot: string;
let shared: string;

beforeEach(async () => {
  root = await tempDir("restore-safety");
  appDir = join(root, "app");
  stateDir = join(root, "state");
  backupRoot = join(root, "backups");
  shared = join(root, "shared/storage");
  await mkdir(appDir, { recursive: true });
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

async function update(spec: TreeSpec, version: string, extra: Partial<ManifestInput> = {}) {
  const release = await stage(root, spec, version);
  return applyUpdate({
    app: "myapp",
    appDir,
    release,
    manifest: Manifest.parse({ version, ...extra }),
    stateDir,
    backupRoot,
  });
}

/** The Capistrano layout: app/storage becomes a symlink to a shared directory holding the operator's files. */
async function linkStorageToShared(): Promise<Record<string, string>> {
  await writeTree(shared, { ".gitkeep": "operator's keep\n", new: "operator's\n", "uploads/a.jpg": "pic\n" });
  await rm(join(appDir, "storage"), { recursive: true });
  await symlink(shared, join(appDir, "storage"));
  return snapshot(shared);
}

const v1: TreeSpec = { "app.py": "1\n", "storage/.gitkeep": "", "storage/cache/x": "x1\n" };
const v2: TreeSpec = { "app.py": "2\n", "storage/.gitkeep": "v2\n", "storage/cache/x": "x2\n" };

describe("restore never reaches through a symlink", () => {
  it("rolling back the first install leaves a symlinked shared directory byte for byte", async () => {
    const first = await update(v1, "1.0.0");
    const sharedBefore = await linkStorageToShared();
    const result = await rollbackTo({ backupRoot, target: first.backup.id });
    expect(await snapshot(shared)).toEqual(sharedBefore);
    expect(result.restored[0]?.outside).toEqual(["storage/.gitkeep", "storage/cache/x"]);
    expect(await pathExists(join(appDir, "app.py"))).toBe(false);
    expect((await snapshot(appDir)).storage).toBe(`link ${shared}`);
  });

  it("rolling back an update puts nothing into the shared directory and keeps the old versions aside", async () => {
    await update(v1, "1.0.0");
    const second = await update(v2, "2.0.0");
    const sharedBefore = await linkStorageToShared();
    const restored = await restoreBackup({ backupPath: second.backup.path });
    expect(await snapshot(shared)).toEqual(sharedBefore);
    expect(await readFile(join(appDir, "app.py"), "utf8")).toBe("1\n");
    expect(await readFile(join(unrestoredDir(second.backup.path), "storage/cache/x"), "utf8")).toBe("x1\n");
    expect(restored.outside.sort()).toEqual(["storage/.gitkeep", "storage/cache/x"]);
  });

  it("a file put where ship installed a directory is reported as such, not as a symlink, and left alone", async () => {
    await update(v1, "1.0.0");
    const second = await update(v2, "2.0.0");
    await rm(join(appDir, "storage"), { recursive: true });
    await writeFile(join(appDir, "storage"), "the operator's file\n");
    const restored = await restoreBackup({ backupPath: second.backup.path });
    expect(restored.outside).toEqual([]);
    expect(restored.displaced).toEqual(["storage/.gitkeep", "storage/cache/x"]);
    expect(await readFile(join(appDir, "storage"), "utf8")).toBe("the operator's file\n");
    expect(await readFile(join(appDir, "app.py"), "utf8")).toBe("1\n");
    expect(await readFile(join(unrestoredDir(second.backup.path), "storage/cache/x"), "utf8")).toBe("x1\n");
  });

  it("recovering an interrupted update does not follow a directory replaced by a symlink meanwhile", async () => {
    await update(v1, "1.0.0");
    const second = await update(v2, "2.0.0");
    // Pretend the apply of 2.0.0 never committed: its journal is back, then storage becomes a link.
    const sharedBefore = await linkStorageToShared();
    await writeJournal(stateDir, {
      kind: "update",
      phase: "applying",
      app: "myapp",
      appDir,
      stagingDir: join(root, "gone"),
      stateDir,
      backupRoot,
      backupPath: second.backup.path,
      fromVersion: "1.0.0",
      toVersion: "2.0.0",
      ops: [
        { op: "replace", rel: "app.py", from: "staging", src: "app.py" },
        { op: "replace", rel: "storage/.gitkeep", from: "staging", src: "storage/.gitkeep" },
        { op: "add", rel: "storage/new", from: "staging", src: "storage/new" },
      ],
      index: { version: "2.0.0", set: {}, drop: [], addDirs: [], dropDirs: [] },
    });
    const result = await recoverApp({ stateDir });
    expect(result.action).toBe("rolled-back");
    expect(await snapshot(shared)).toEqual(sharedBefore);
    expect(await readFile(join(appDir, "app.py"), "utf8")).toBe("1\n");
    expect(await readJournal(stateDir)).toBeUndefined();
  });
});

describe("restore into an app directory that is no longer there", () => {
  it("an app_dir symlink left dangling (a volume not mounted) refuses the restore with nothing changed", async () => {
    // The app lives behind a link, as an operator mounts it; the mount goes away before the restore.
    const real = join(root, "volume/app");
    await rm(appDir, { recursive: true });
    await mkdir(real, { recursive: true });
    await symlink(real, appDir);
    await update(v1, "1.0.0");
    const second = await update(v2, "2.0.0");
    await rm(join(root, "volume"), { recursive: true });
    const backupBefore = await snapshot(second.backup.path);
    // Before: "RESTORE STOPPED HALF-WAY — … ENOENT: mkdir …/app", exit 3, a journal to --recover.
    await expect(restoreBackup({ backupPath: second.backup.path })).rejects.toThrow(RestoreNotStartedError);
    await expect(restoreBackup({ backupPath: second.backup.path })).rejects.toThrow(
      `the app directory ${appDir}: ${appDir} is a symlink to ${real}, which does not exist`,
    );
    expect(await readJournal(stateDir)).toBeUndefined();
    expect(await snapshot(second.backup.path)).toEqual(backupBefore);
    expect(await pathExists(join(root, "volume"))).toBe(false);
  });
});

describe("restore never deletes or overwrites a file ship did not install", () => {
  it("keeps files the operator changed or created after the update, restores the rest", async () => {
    await writeTree(appDir, { "notes.txt": "mine\n" });
    await update({ "app.py": "1\n", "conf.ini": "a=1\n" }, "1.0.0");
    const second = await update(
      { "app.py": "2\n", "conf.ini": "a=2\n", "new.txt": "n\n", "extra/e.txt": "e\n" },
      "2.0.0",
    );
    // After the update: the operator edits conf.ini, rewrites new.txt, adds a file in extra/.
    await writeFile(join(appDir, "conf.ini"), "a=2\noperator=yes\n");
    await writeFile(join(appDir, "new.txt"), "operator's now\n");
    await writeFile(join(appDir, "extra/mine.txt"), "mine\n");
    const restored = await restoreBackup({ backupPath: second.backup.path });
    expect(restored.kept.sort()).toEqual(["conf.ini", "new.txt"]);
    expect(await readFile(join(appDir, "app.py"), "utf8")).toBe("1\n");
    expect(await readFile(join(appDir, "conf.ini"), "utf8")).toBe("a=2\noperator=yes\n");
    expect(await readFile(join(appDir, "new.txt"), "utf8")).toBe("operator's now\n");
    expect(await readFile(join(appDir, "extra/mine.txt"), "utf8")).toBe("mine\n");
    expect(await pathExists(join(appDir, "extra/e.txt"))).toBe(false);
    expect(await readFile(join(appDir, "notes.txt"), "utf8")).toBe("mine\n");
    // The version from before the update is not lost.
    expect(await readFile(join(unrestoredDir(second.backup.path), "conf.ini"), "utf8")).toBe("a=1\n");
    expect((await readInstallIndex(stateDir))?.version).toBe("1.0.0");
  });

  it("a file only touched (same bytes, new mtime) is still ship's and is restored; a .bak copy is removed", async () => {
    await update({ "app.py": "1\n", "conf.ini": "a=1\n" }, "1.0.0");
    const before = await snapshot(appDir);
    const second = await update({ "app.py": "2\n", "conf.ini": "a=2\n" }, "2.0.0", {
      files: { "conf.ini": { action: "replace", backup: true } },
    });
    expect(await readFile(join(appDir, "conf.ini.bak"), "utf8")).toBe("a=1\n");
    const now = new Date(Date.now() + 60_000);
    const { utimes } = await import("node:fs/promises");
    await utimes(join(appDir, "app.py"), now, now);
    const restored = await restoreBackup({ backupPath: second.backup.path });
    expect(restored.kept).toEqual([]);
    expect(await snapshot(appDir)).toEqual(before);
  });

  it("a file replaced by a symlink to something outside is neither followed nor deleted", async () => {
    const first = await update({ "app.py": "1\n", "link-me.txt": "ship's\n" }, "1.0.0");
    await writeFile(join(root, "outside.txt"), "outside\n");
    await rm(join(appDir, "link-me.txt"));
    await symlink(join(root, "outside.txt"), join(appDir, "link-me.txt"));
    const restored = await restoreBackup({ backupPath: first.backup.path });
    expect(restored.kept).toEqual(["link-me.txt"]);
    expect(await readFile(join(root, "outside.txt"), "utf8")).toBe("outside\n");
    expect((await snapshot(appDir))["link-me.txt"]).toBe(`link ${join(root, "outside.txt")}`);
  });
});
