/**
 * Promise 1, "never a mixed tree": a child process applies (or restores) an update and SIGKILLs
 * itself at a fault point (SHIP_FAULT); recovery must then leave the app byte-for-byte old or new,
 * as the point dictates, with the protected directory and the user's files untouched.
 * Runs the compiled engine (dist/, built by `npm test` before vitest).
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { rm, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyUpdate } from "../../../agent/apply/apply-update.js";
import { readInstallIndex } from "../../../agent/apply/install-index.js";
import { journalPath } from "../../../agent/apply/journal.js";
import { recoverApp } from "../../../agent/apply/recover.js";
import { listBackups } from "../../../agent/backup/backup-store.js";
import { pathExists } from "../../../agent/tree/fs-ops.js";
import { Manifest, type ManifestInput } from "../../../shared/manifest/schema.js";
import { snapshot, stage, stageDir, type TreeSpec, tempDir, writeTree } from "./tree-fixtures.js";

const here = dirname(fileURLToPath(import.meta.url));
const dist = resolve(here, "../../../dist");
const driver = join(here, "fixtures/crash-driver.mjs");

const manifestInput = (version: string): ManifestInput => ({
  version,
  files: { "config.json": { action: "merge_json", backup: true }, ".env": { action: "skip" } },
  directories: { data: { preserve: true }, cache: { preserve: false } },
});

const many = (n: number, v: string): TreeSpec =>
  Object.fromEntries(Array.from({ length: n }, (_, i) => [`pkg/mod${i}.py`, `m${i} = "${v}"\n`]));
const v1: TreeSpec = {
  ...many(12, "v1"),
  "app.py": "print(1)\n",
  "old/gone.py": "gone\n",
  "config.json": '{\n  "port": 8080\n}\n',
  "cache/blob": "c\n",
  "data/seed": "seed\n",
};
const v2: TreeSpec = {
  ...many(12, "v2"),
  "app.py": { content: "print(2)\n", mode: 0o755 },
  "new/dir/added.py": "added\n",
  "config.json": '{\n  "port": 8080,\n  "workers": 2\n}\n',
  "data/seed": "seed v2\n",
};

interface Scenario {
  root: string;
  appDir: string;
  stateDir: string;
  backupRoot: string;
}

/** v1 installed, then the user's own data, secrets and edits. */
async function scenario(): Promise<Scenario> {
  const root = await tempDir("crash");
  const s = {
    root,
    appDir: join(root, "app"),
    stateDir: join(root, "state"),
    backupRoot: join(root, "backups"),
  };
  await writeTree(s.appDir, { "data/db": "user rows\n", ".env": "SECRET=1\n" });
  // v2 changes pkg/'s mode: undoing the update puts the old one back.
  const release = await stage(root, v1, "1.0.0", { pkg: 0o750 });
  await applyUpdate({ app: "crashapp", ...s, release, manifest: Manifest.parse(manifestInput("1.0.0")) });
  await writeTree(s.appDir, {
    "config.json": '{\n  "port": 9999\n}\n',
    "notes.txt": "mine\n",
    "cache/tmp": "t\n",
  });
  return s;
}

async function applyV2InProcess(s: Scenario) {
  const release = await stage(s.root, v2, "2.0.0");
  return applyUpdate({ app: "crashapp", ...s, release, manifest: Manifest.parse(manifestInput("2.0.0")) });
}

function runChild(mode: "apply" | "restore", argsFile: string, fault: string) {
  return spawnSync(process.execPath, [driver, mode, argsFile], {
    env: { ...process.env, SHIP_FAULT: fault },
    encoding: "utf8",
    timeout: 30_000,
  });
}

let OLD: Record<string, string>;
let NEW: Record<string, string>;
let operations = 0;
const cleanup: string[] = [];

beforeAll(async () => {
  if (!existsSync(join(dist, "agent/apply/index.js"))) {
    throw new Error("dist/ is missing: run `npx tsc -p tsconfig.json` (npm test builds it first)");
  }
  const s = await scenario();
  cleanup.push(s.root);
  OLD = await snapshot(s.appDir);
  operations = (await applyV2InProcess(s)).operations;
  NEW = await snapshot(s.appDir);
  expect(NEW).not.toEqual(OLD);
  expect([OLD.pkg, NEW.pkg]).toEqual(["dir 750", "dir 755"]);
});
afterAll(async () => {
  for (const dir of cleanup) await rm(dir, { recursive: true, force: true });
});

async function crashApply(fault: string): Promise<Scenario> {
  const s = await scenario();
  cleanup.push(s.root);
  const stagingDir = await stageDir(s.root, v2, "2.0.0");
  const argsFile = join(s.root, "args.json");
  await writeFile(
    argsFile,
    JSON.stringify({ dist, app: "crashapp", ...s, stagingDir, manifest: manifestInput("2.0.0") }),
  );
  const child = runChild("apply", argsFile, fault);
  expect(child.signal, `${fault} was never reached: ${child.stderr}`).toBe("SIGKILL");
  return s;
}

describe("SIGKILL during apply, then recovery", () => {
  const beforeCommit = ["apply:journal-written", "apply:file@1", "apply:file@7", "apply:before-commit"];
  const afterCommit = ["apply:committed", "apply:finalize"];

  it("has enough file operations to crash in the middle", () => {
    expect(operations).toBeGreaterThanOrEqual(15);
  });

  for (const fault of [...beforeCommit, `apply:file@last`]) {
    it(`${fault}: recovery restores the old tree byte for byte`, async () => {
      const point = fault.replace("@last", `@${operations}`);
      const s = await crashApply(point);
      expect(await pathExists(journalPath(s.stateDir))).toBe(true);
      const result = await recoverApp({ stateDir: s.stateDir });
      expect(result.action).toBe("rolled-back");
      expect(result.message).toMatch(/restored 1\.0\.0/);
      expect(await snapshot(s.appDir)).toEqual(OLD);
      expect((await readInstallIndex(s.stateDir))?.version).toBe("1.0.0");
      expect((await listBackups(s.backupRoot)).map((b) => b.replacedBy)).toEqual(["1.0.0"]);
      if (fault === "apply:file@7") {
        // And the next run updates normally.
        await applyV2InProcess(s);
        expect(await snapshot(s.appDir)).toEqual(NEW);
      }
    });
  }

  for (const fault of afterCommit) {
    it(`${fault}: recovery completes the new tree`, async () => {
      const s = await crashApply(fault);
      const result = await recoverApp({ stateDir: s.stateDir });
      expect(result.action).toBe("completed");
      expect(result.message).toMatch(/completed 2\.0\.0/);
      expect(await snapshot(s.appDir)).toEqual(NEW);
      expect((await readInstallIndex(s.stateDir))?.version).toBe("2.0.0");
      expect((await listBackups(s.backupRoot)).map((b) => b.replacedBy)).toEqual(["2.0.0", "1.0.0"]);
    });
  }

  it("a crash during recovery itself is recovered by the next start", async () => {
    const s = await crashApply("apply:file@9");
    const argsFile = join(s.root, "recover.json");
    await writeFile(argsFile, JSON.stringify({ dist, stateDir: s.stateDir }));
    const child = spawnSync(process.execPath, [driver, "recover", argsFile], {
      env: { ...process.env, SHIP_FAULT: "recover:file@3" },
      encoding: "utf8",
    });
    expect(child.signal).toBe("SIGKILL");
    expect((await recoverApp({ stateDir: s.stateDir })).action).toBe("rolled-back");
    expect(await snapshot(s.appDir)).toEqual(OLD);
  });
});

describe("SIGKILL during restore, then recovery", () => {
  for (const fault of ["restore:file@6", "restore:before-finalize"]) {
    it(`${fault}: recovery finishes the restore to the old tree`, async () => {
      const s = await scenario();
      cleanup.push(s.root);
      const applied = await applyV2InProcess(s);
      const argsFile = join(s.root, "restore.json");
      await writeFile(argsFile, JSON.stringify({ dist, backupPath: applied.backup.path }));
      const child = runChild("restore", argsFile, fault);
      expect(child.signal, child.stderr).toBe("SIGKILL");
      const result = await recoverApp({ stateDir: s.stateDir });
      expect(result.action).toBe("restored");
      expect(await snapshot(s.appDir)).toEqual(OLD);
      expect((await readInstallIndex(s.stateDir))?.version).toBe("1.0.0");
      expect(await pathExists(applied.backup.path)).toBe(false);
    });
  }
});
