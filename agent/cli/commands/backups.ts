import { findBackup, listBackups, readBackupMeta } from "../../backup/backup-store.js";
import { rollbackTo } from "../../backup/restore.js";
import { acquireLock, appLockFile } from "../../lock/run-lock.js";
import { lockDir } from "../../pipeline/paths.js";
import { loadCliConfig } from "../load-config.js";
import type { GlobalOptions } from "../main.js";
import type { Output } from "../output.js";

function size(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 ** 2) return `${(bytes / 1024).toFixed(1)} KiB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
  return `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
}

/** `ship --list-backups`: newest first, with the version each one brings back. */
export async function listBackupsCommand(options: GlobalOptions, out: Output): Promise<number> {
  const { config } = await loadCliConfig(options.config, out);
  const backups = await listBackups(config.general.backup_dir);
  out.result(backups);
  if (backups.length === 0) out.line(`no backups in ${config.general.backup_dir}`);
  else
    out.line(`${"ID".padEnd(32)} ${"APP".padEnd(16)} ${"RESTORES".padEnd(12)} ${"CREATED".padEnd(24)} SIZE`);
  for (const b of backups) {
    out.line(
      `${b.id.padEnd(32)} ${b.app.padEnd(16)} ${(b.version ?? "(pre-ship)").padEnd(12)} ${b.created.padEnd(24)} ${size(b.size)} (${b.files} files)`,
    );
  }
  return 0;
}

/**
 * `ship --rollback ID|PATH`: newer updates of that app are undone first, newest first; around each
 * restore the undone release's rollback hooks run (unless --no-hooks) and its on_failure
 * notifications are sent. Exit 1 when a rollback command failed (the files are restored).
 */
export async function rollbackCommand(options: GlobalOptions, out: Output): Promise<number> {
  const { config } = await loadCliConfig(options.config, out);
  // Loaded here, not at the top: --list-backups needs none of it, and pino costs start-up time.
  const { cliLogger } = await import("../logger.js");
  const { syncInstalledState } = await import("../../pipeline/sync-installed.js");
  const { undoWithHooks } = await import("../../pipeline/undo-release.js");
  const log = cliLogger(options, config);
  const target = await findBackup(config.general.backup_dir, options.rollback as string);
  const { appDir } = await readBackupMeta(target.path);
  const problems: string[] = [];
  // The same lock as an update of this app: a timer run must not apply while we restore.
  const lock = await acquireLock(appLockFile(lockDir(config), appDir), log);
  let result: Awaited<ReturnType<typeof rollbackTo>>;
  try {
    result = await rollbackTo({
      backupRoot: config.general.backup_dir,
      target: target.path,
      log,
      around: undoWithHooks({ config, log, hooks: options.hooks !== false, problems }),
    });
    const source = config.sources[result.app];
    if (source !== undefined) {
      await syncInstalledState(config, result.app, source, new Date(), (s) => ({
        ...s,
        last_error: problems.length === 0 ? null : `rollback commands failed: ${problems.join("; ")}`,
      }));
    }
  } finally {
    await lock.release();
  }
  out.result({ ...result, problems });
  out.line(
    `${result.app}: back on ${result.version ?? "the tree before ship's first install"} (${result.restored.length} backup(s) restored)`,
  );
  for (const restored of result.restored) {
    for (const rel of restored.outside)
      out.line(`  left alone: ${rel} (behind a symlink, outside the app directory)`);
    for (const rel of restored.kept) out.line(`  left alone: ${rel} (not the file ship installed)`);
  }
  if (problems.length === 0) return 0;
  out.problem(`${result.app}: files restored, but rollback commands failed: ${problems.join("; ")}`);
  return 1;
}
