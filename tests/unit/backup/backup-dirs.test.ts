/**
 * Every listing of backup_dir (listBackups, listBackupsWithDamaged, findBackup, a new backup's id,
 * pruning, the daemon's rollback check) meets a directory that cannot be listed the same way: one
 * BackupDirUnlistableError, exit 2, one line naming backup_dir, the directory and what is wrong. A
 * file or a symlink loop stands where a directory should be (real ones, met as root too).
 */
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { BackupDirUnlistableError } from "../../../agent/backup/backup-dirs.js";
import {
  findBackup,
  listBackups,
  listBackupsWithDamaged,
  newBackupId,
  pruneBackups,
} from "../../../agent/backup/backup-store.js";
import { rollbackRefusal } from "../../../agent/daemon/rollback-target.js";
import { AgentConfig } from "../../../shared/config/schema.js";
import { ExitCode } from "../../../shared/errors.js";
import { errnoErrorText, fsErrorText } from "../../../shared/fs-errors.js";

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "ship-backup-dirs-"));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A backup_dir that is a file, a symlink loop, or holds one where an app's directory would be. */
async function broken(kind: "file" | "loop", at: "root" | "app"): Promise<{ backups: string; bad: string }> {
  const backups = join(root, "backups");
  if (at === "app") await mkdir(backups);
  const bad = at === "root" ? backups : join(backups, "web");
  if (kind === "file") await writeFile(bad, "not a directory\n");
  else await symlink(bad, bad);
  return { backups, bad };
}

/** Runs `work` (started only now: a listing started before its turn rejected unhandled meanwhile). */
async function refusal(work: () => Promise<unknown>): Promise<BackupDirUnlistableError> {
  const error = await work().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(BackupDirUnlistableError);
  return error as BackupDirUnlistableError;
}

const CASES = [
  { kind: "file", code: "ENOTDIR" },
  { kind: "loop", code: "ELOOP" },
] as const;

describe("a backup directory that cannot be listed", () => {
  for (const { kind, code } of CASES) {
    it(`backup_dir itself a ${kind}: every listing throws one line naming it (${code}, exit 2)`, async () => {
      const { backups } = await broken(kind, "root");
      for (const work of [
        () => listBackups(backups),
        () => listBackups(backups, undefined, join(root, "app")),
        () => listBackupsWithDamaged(backups),
        () => findBackup(backups, "web-20260101T000000Z"),
        () => newBackupId(backups, "web", new Date()),
      ]) {
        const error = await refusal(work);
        expect(error.exitCode).toBe(ExitCode.badInput);
        expect(error.message).not.toContain("\n");
        expect(error.message).toMatch(new RegExp(`^backup_dir ${backups} cannot be listed: ${code}: `));
        expect(error.message).not.toContain("scandir");
      }
    });

    it(`an app's directory in backup_dir a ${kind}: named as where backup_dir cannot be listed (${code})`, async () => {
      const { backups, bad } = await broken(kind, "app");
      for (const work of [() => listBackups(backups, "web"), () => newBackupId(backups, "web", new Date())]) {
        const error = await refusal(work);
        expect(error.message).toContain(`backup_dir ${backups} cannot be listed: ${code}: `);
        expect(error.message).toContain(`(at ${bad})`);
        expect(error.dir).toBe(bad);
      }
    });
  }

  it("a backup_dir not made yet holds no backups (no error)", async () => {
    expect(await listBackups(join(root, "none"))).toEqual([]);
    expect(await listBackupsWithDamaged(join(root, "none"))).toEqual({ backups: [], damaged: [] });
  });

  it("pruning says the one line and deletes nothing; the daemon's rollback check names it", async () => {
    const { backups } = await broken("loop", "root");
    const problems: string[] = [];
    expect(await pruneBackups(backups, "web", join(root, "app"), 1, problems)).toEqual([]);
    expect(problems).toEqual([
      expect.stringMatching(new RegExp(`^backup_dir ${backups} cannot be listed: ELOOP`)),
    ]);
    const config = AgentConfig.parse({
      general: { backup_dir: backups, state_file: join(root, "state.json") },
      sources: { web: { type: "local", path: join(root, "release"), app_dir: join(root, "app") } },
    });
    const source = config.sources.web;
    if (source === undefined) throw new Error("no source");
    const refused = await rollbackRefusal({
      config,
      app: "web",
      source,
      state: undefined,
      installed: "2.0.0",
      version: "1.0.0",
    });
    expect(refused).toContain(
      `its backups could not be read, so a version only they record is not known here (backup_dir ${backups}: ELOOP`,
    );
  });
});

describe("the error as other code words it", () => {
  it("fsErrorText and errnoErrorText (the daemon's report to the hub, log lines) keep the whole line", async () => {
    const { backups } = await broken("loop", "app");
    const error = await refusal(() => listBackups(backups, "web"));
    expect(fsErrorText(error)).toBe(error.message);
    expect(errnoErrorText(error)).toBe(error.message);
    expect(error.errno).toBe("ELOOP");
  });
});
