/**
 * A path that changes type between releases (directory ↔ file, file ↔ symlink, directory ↔ symlink)
 * deploys, rolls back byte for byte, and stays crash-safe: SIGKILL at every file operation of the
 * apply, then recovery, leaves the old tree exactly.
 */
import { spawnSync } from "node:child_process";
import { rm, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { applyUpdate } from "../../../agent/apply/apply-update.js";
import { recoverApp } from "../../../agent/apply/recover.js";
import { restoreBackup } from "../../../agent/backup/restore.js";
import { Manifest } from "../../../shared/manifest/schema.js";
import { snapshot, stage, type TreeSpec, tempDir, writeTree } from "./tree-fixtures.js";

const here = dirname(fileURLToPath(import.meta.url));
const dist = resolve(here, "../../../dist");
const driver = join(here, "fixtures/crash-driver.mjs");

const base: TreeSpec = { "app.py": "app\n", "lib/x": "x\n", "lib/y": "y\n" };
const shapes: Record<string, TreeSpec> = {
  dir: { "bin/tool/a": "a\n", "bin/tool/sub/b": "b\n" },
  file: { "bin/tool": "#!/bin/sh\necho tool\n" },
  symlink: { "bin/tool": { symlink: "../lib" } },
};
const changes: [string, string][] = [
  ["dir", "file"],
  ["file", "dir"],
  ["file", "symlink"],
  ["symlink", "file"],
  ["dir", "symlink"],
  ["symlink", "dir"],
];

let root: string;
let appDir: string;
let stateDir: string;
let backupRoot: string;

beforeEach(async () => {
  root = await tempDir("type-change");
  appDir = join(root, "app");
  stateDir = join(root, "state");
  backupRoot = join(root, "backups");
  await writeTree(appDir, { "data/mine": "user\n" });
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

async function update(spec: TreeSpec, version: string) {
  const release = await stage(root, { ...base, ...spec }, version);
  return applyUpdate({
    app: "myapp",
    appDir,
    release,
    manifest: Manifest.parse({ version }),
    stateDir,
    backupRoot,
  });
}

describe("a path that changes type", () => {
  for (const [from, to] of changes) {
    it(`${from} → ${to}: deploys, and restore brings back the ${from} byte for byte`, async () => {
      await update(shapes[from] ?? {}, "1.0.0");
      const before = await snapshot(appDir);
      const applied = await update(shapes[to] ?? {}, "2.0.0");
      const after = await snapshot(appDir);
      const expected = await snapshot(await stagedOnly(shapes[to] ?? {}));
      for (const [rel, what] of Object.entries(expected))
        if (rel.startsWith("bin/")) expect(after[rel]).toBe(what);
      expect(Object.keys(after).filter((rel) => rel.startsWith("bin/tool/")).length > 0).toBe(to === "dir");
      await restoreBackup({ backupPath: applied.backup.path });
      expect(await snapshot(appDir)).toEqual(before);
    });
  }

  it("dir → file: a SIGKILL at any file operation is recovered to the old tree byte for byte", async () => {
    await update(shapes.dir ?? {}, "1.0.0");
    const before = await snapshot(appDir);
    for (let n = 1; n <= 4; n++) {
      const staging = (await stage(root, { ...base, ...shapes.file }, "2.0.0")).dir;
      const argsFile = join(root, `args-${n}.json`);
      await writeFile(
        argsFile,
        JSON.stringify({
          dist,
          app: "myapp",
          appDir,
          stateDir,
          backupRoot,
          stagingDir: staging,
          manifest: { version: "2.0.0" },
        }),
      );
      const child = spawnSync(process.execPath, [driver, "apply", argsFile], {
        env: { ...process.env, SHIP_FAULT: `apply:file@${n}` },
        encoding: "utf8",
        timeout: 30_000,
      });
      expect(child.signal, child.stderr).toBe("SIGKILL");
      expect((await recoverApp({ stateDir })).action).toBe("rolled-back");
      expect(await snapshot(appDir)).toEqual(before);
    }
  });

  // A resumed restore meets the old entries the killed run already put back (the directory `d`
  // again, the file `g`, the symlink `l`): they are ship's, so nothing may be named left alone.
  it("every type change at once: a SIGKILL at a restore's file operations, then recovery, names nothing left alone", async () => {
    const v1: TreeSpec = { "d/a": "a\n", g: "g\n", l: { symlink: "lib" } };
    const v2: TreeSpec = { d: "d\n", "g/h": "h\n", "l/x": "x\n" };
    await update(v1, "1.0.0");
    const before = await snapshot(appDir);
    // 6 file operations: the update's 3 new entries out, then the 3 old ones back.
    for (const n of [4, 6]) {
      const applied = await update(v2, "2.0.0");
      const argsFile = join(root, `restore-${n}.json`);
      await writeFile(argsFile, JSON.stringify({ dist, backupPath: applied.backup.path }));
      const child = spawnSync(process.execPath, [driver, "restore", argsFile], {
        env: { ...process.env, SHIP_FAULT: `restore:file@${n}` },
        encoding: "utf8",
        timeout: 30_000,
      });
      expect(child.signal, child.stderr).toBe("SIGKILL");
      const recovered = await recoverApp({ stateDir });
      expect(recovered.message).toBe("myapp: restored 1.0.0 (finished an interrupted restore)");
      expect(await snapshot(appDir)).toEqual(before);
    }
  });
});

/** The release's own picture of a shape, for comparing what landed in the app. */
async function stagedOnly(spec: TreeSpec): Promise<string> {
  const dir = join(root, `expected-${Math.random().toString(36).slice(2)}`);
  await writeTree(dir, spec);
  return dir;
}
