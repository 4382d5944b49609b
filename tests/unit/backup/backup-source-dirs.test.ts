/**
 * backupSourceDirs is the one rule for what stands at `backup_dir/<source>`, and every listing of
 * backup_dir given the config's source names follows it: a directory or a symlink to one is listed;
 * anything else there refuses when a configured source has that name (BackupDirUnlistableError,
 * exit 2, naming it) and is skipped otherwise. Inside a source's directory a symlink refuses.
 */
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  BackupDirUnlistableError,
  backupSourceDirs,
  backupSubdirs,
  checkSourceBackupDirs,
} from "../../../agent/backup/backup-dirs.js";
import { findBackup, listBackups, listBackupsWithDamaged } from "../../../agent/backup/backup-store.js";
import { rollbackRefusal } from "../../../agent/daemon/rollback-target.js";
import { lastInstalledVersion } from "../../../agent/pipeline/installed-release.js";
import { AgentConfig } from "../../../shared/config/schema.js";
import { ExitCode } from "../../../shared/errors.js";

let root: string;
let backups: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "ship-backup-source-dirs-"));
  backups = join(root, "backups");
  await mkdir(join(backups, "plain"), { recursive: true });
  await mkdir(join(root, "disk2", "moved"), { recursive: true });
  await writeFile(join(root, "a-file"), "x\n");
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

/** What may stand at a name in backup_dir that is no directory, with the errno that names it. */
const NOT_DIRS = [
  { kind: "a file", code: "ENOTDIR", make: (at: string) => writeFile(at, "x\n") },
  { kind: "a symlink loop", code: "ELOOP", make: (at: string) => symlink(at, at) },
  { kind: "a dangling symlink", code: "ENOENT", make: (at: string) => symlink(join(root, "gone"), at) },
  { kind: "a symlink to a file", code: "ENOTDIR", make: (at: string) => symlink(join(root, "a-file"), at) },
] as const;

async function refusal(work: () => Promise<unknown>): Promise<BackupDirUnlistableError> {
  const error = await work().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(BackupDirUnlistableError);
  return error as BackupDirUnlistableError;
}

describe("backupSourceDirs", () => {
  it("lists directories and symlinks to directories, configured or not", async () => {
    await mkdir(join(root, "disk2", "other"));
    await symlink(join(root, "disk2", "moved"), join(backups, "web"));
    await symlink(join(root, "disk2", "other"), join(backups, "old-name"));
    expect((await backupSourceDirs(backups, ["web"])).sort()).toEqual(["old-name", "plain", "web"]);
    expect(await backupSubdirs(backups, "web")).toEqual([]);
  });

  it("one directory reached under several names is listed once: its own name, a configured link, the first link", async () => {
    await symlink(join(root, "disk2", "moved"), join(backups, "b-link"));
    await symlink(join(root, "disk2", "moved"), join(backups, "a-link"));
    await symlink(join(root, "disk2", "moved"), join(backups, "web"));
    await symlink("plain", join(backups, "new-name"));
    expect((await backupSourceDirs(backups, ["web"])).sort()).toEqual(["plain", "web"]);
    expect((await backupSourceDirs(backups, [])).sort()).toEqual(["a-link", "plain"]);
  });

  for (const { kind, code, make } of NOT_DIRS) {
    it(`${kind} at a configured source's name refuses (${code}), at another name is skipped`, async () => {
      await make(join(backups, "web"));
      expect(await backupSourceDirs(backups, ["other"])).toEqual(["plain"]);
      for (const work of [
        () => backupSourceDirs(backups, ["web"]),
        () => checkSourceBackupDirs(backups, ["web"]),
        () => listBackups(backups, undefined, join(root, "app"), [], ["web"]),
        () => listBackupsWithDamaged(backups, ["web"]),
        () => findBackup(backups, "web-20260101T000000Z", ["web"]),
      ]) {
        const error = await refusal(work);
        expect(error.exitCode).toBe(ExitCode.badInput);
        expect(error.dir).toBe(join(backups, "web"));
        expect(error.errno).toBe(code);
        expect(error.message).toMatch(new RegExp(`^backup_dir ${backups} cannot be listed: ${code}: `));
        expect(error.message).toContain(`(at ${join(backups, "web")})`);
        expect(error.message).not.toContain("\n");
      }
    });
  }

  it("a dangling symlink as backup_dir itself refuses (an update could not make its backup there)", async () => {
    const linked = join(root, "linked-backups");
    await symlink(join(root, "unmounted"), linked);
    const error = await refusal(() => backupSourceDirs(linked, []));
    expect(error.message).toMatch(new RegExp(`^backup_dir ${linked} cannot be listed: ENOENT: `));
    expect(await backupSourceDirs(join(root, "not-made-yet"), ["web"])).toEqual([]);
  });

  it("a symlink inside a source's directory refuses, naming it", async () => {
    await symlink(join(root, "disk2", "moved"), join(backups, "plain", "plain-20260101T000000Z"));
    for (const work of [
      () => backupSubdirs(backups, "plain"),
      () => checkSourceBackupDirs(backups, ["plain"]),
      () => listBackups(backups),
    ]) {
      const error = await refusal(work);
      expect(error.dir).toBe(join(backups, "plain", "plain-20260101T000000Z"));
      expect(error.message).toContain("a symlink where a backup directory should be");
    }
  });
});

/** A complete backup of web's app directory, made installing 2.0.0 over 1.0.0, in `dir`. */
async function backupIn(dir: string): Promise<void> {
  const id = "web-20260101T000000Z";
  await mkdir(join(dir, id), { recursive: true });
  const meta = {
    id,
    app: "web",
    fromVersion: "1.0.0",
    toVersion: "2.0.0",
    created: "2026-01-01T00:00:00.000Z",
    appDir: join(root, "app"),
    stateDir: join(root, "state"),
    bytes: 0,
    files: 0,
    bases: [],
    complete: true,
  };
  await writeFile(join(dir, id, "meta.json"), JSON.stringify(meta));
}

function webConfig() {
  const config = AgentConfig.parse({
    general: { backup_dir: backups, state_file: join(root, "state.json") },
    sources: { web: { type: "local", path: join(root, "release"), app_dir: join(root, "app") } },
  });
  const source = config.sources.web;
  if (source === undefined) throw new Error("no source");
  return { config, source };
}

describe("web's backups moved to another disk, a symlink in their place", () => {
  it("the daemon's rollback check and the installed-version fallback see them", async () => {
    await mkdir(join(root, "app"));
    await backupIn(join(root, "disk2", "moved"));
    await symlink(join(root, "disk2", "moved"), join(backups, "web"));
    const { config, source } = webConfig();
    const target = { config, app: "web", source, state: undefined, installed: "2.0.0", version: "1.0.0" };
    expect(await rollbackRefusal(target)).toBeUndefined();
    expect(await lastInstalledVersion(null, backups, join(root, "app"), ["web"])).toMatchObject({
      version: "2.0.0",
    });
  });
});

describe("the daemon's rollback check", () => {
  it("a file at a configured source's place is said in the refusal, not 'none recorded' alone", async () => {
    await writeFile(join(backups, "web"), "not a directory\n");
    const { config, source } = webConfig();
    const refused = await rollbackRefusal({
      config,
      app: "web",
      source,
      state: undefined,
      installed: "2.0.0",
      version: "1.0.0",
    });
    expect(refused).toContain(
      `its backups could not be read, so a version only they record is not known here (backup_dir ${backups}: ENOTDIR: `,
    );
    expect(refused).toContain(`(at ${join(backups, "web")})`);
  });
});
