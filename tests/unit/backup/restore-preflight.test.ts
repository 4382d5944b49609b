/**
 * The restore's preflight names the first directory it would write in and may not. It answers once
 * per parent directory: files that share a directory, files whose parents are missing (the restore
 * creates them) and a directory it may not write in each get the right answer.
 */
import { spawnSync } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { backupFilesDir } from "../../../agent/backup/backup-store.js";
import { firstUnwritableDir } from "../../../agent/backup/restore-preflight.js";

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "ship-preflight-"));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

async function layout() {
  const appDir = join(root, "app");
  const stateDir = join(root, "state");
  const backupPath = join(root, "backups", "myapp", "b1");
  const files = backupFilesDir(backupPath);
  for (const dir of ["shared", "locked", "top"]) await mkdir(join(appDir, dir), { recursive: true });
  await mkdir(stateDir, { recursive: true });
  for (const rel of ["shared/a", "shared/b", "locked/c"]) {
    await writeFile(join(appDir, rel), "new\n");
    await mkdir(join(files, rel, ".."), { recursive: true });
    await writeFile(join(files, rel), "old\n");
  }
  const inventory = {
    // Sorted as the backup writes them: the locked directory comes after a shared one and before a
    // missing one, so an answer reused for the wrong directory shows.
    changed: ["locked/c", "shared/a", "shared/b"],
    added: ["gone/deeper/d", "shared/e"],
    createdDirs: ["gone", "gone/deeper"],
    removedDirs: [],
  };
  return { appDir, stateDir, backupPath, inventory };
}

describe("firstUnwritableDir", () => {
  it("is undefined when every directory the restore writes in is writable, missing ones included", async () => {
    expect(await firstUnwritableDir(await layout())).toBeUndefined();
  });

  it("names the one directory it may not write in, among files that share their directories", async () => {
    const input = await layout();
    const locked = join(input.appDir, "locked");
    // As root, permissions do not stop writes: an immutable directory does (access(2) says EPERM).
    const immutable = spawnSync("chattr", ["+i", locked]).status === 0;
    if (!immutable) {
      console.warn("SKIPPING: chattr +i is not available here (not root, or not ext4)");
      return;
    }
    try {
      expect((await firstUnwritableDir(input))?.dir).toBe(locked);
    } finally {
      spawnSync("chattr", ["-i", locked]);
    }
  });
});
