// First: zod's JIT off before any schema is built (one-shot-schemas.ts): this command parses each
// document once. Here, not in the bin's entry, so `ship --help` from the same bundle never loads zod.
import "../one-shot-schemas.js";
import { lstatSync } from "node:fs";
import { join } from "node:path";
import type { AgentConfig } from "../../../shared/config/schema.js";
import {
  BadInputError,
  errorMessage,
  formatIssue,
  RestoreNotStartedError,
  restoredVersionLabel,
} from "../../../shared/errors.js";
import { errnoCode, fsErrorText } from "../../../shared/fs-errors.js";
import { checkSourceBackupDirs } from "../../backup/backup-dirs.js";
import { sourceLedElsewhere, sourceOfBackup } from "../../backup/backup-owner.js";
import { type BackupInfo, backupMadeUnder, findBackupListing } from "../../backup/backup-store.js";
import { undoneLinksWarning } from "../../backup/restore-links.js";
import { unwritableStateFile } from "../../backup/restore-preflight.js";
import { rollbackTo } from "../../backup/rollback-to.js";
import { appTrashDir } from "../../backup/trash.js";
import { shownPath } from "../../backup/unrestored.js";
import { acquireAppLock } from "../../lock/run-lock.js";
import { kindProblems } from "../../pipeline/configured-paths.js";
import { failedRollbackResult, stateAfterFailedRollback } from "../../pipeline/failed-rollback.js";
import { othersUndoneNote } from "../../pipeline/installed-by.js";
import { refuseNoSources } from "../../pipeline/no-sources.js";
import { APP_STATE_WHAT, appStateDir, lockDir } from "../../pipeline/paths.js";
import { checkRecordPaths } from "../../pipeline/record-paths.js";
import { failedRollbackCommands } from "../../pipeline/rollback-commands.js";
import { noteShipDirs } from "../../pipeline/untouched-dirs.js";
import { checkRecordDir, unwritableRecord } from "../../state/record-file.js";
import { readState } from "../../state/state-file.js";
import type { GlobalOptions } from "../cli.js";
import { loadCliConfig } from "../load-config.js";
import { outliveTerminal } from "../outlive-terminal.js";
import type { Output } from "../output.js";
import { onStopSignals } from "../stop-signals.js";

/**
 * `ship --rollback ID|PATH`: newer updates of that app are undone first, newest first; around each
 * restore the undone release's rollback hooks run (unless --no-hooks) and its on_failure
 * notifications are sent. Exit 1 when a rollback command failed (the files are restored).
 */
export async function rollbackCommand(options: GlobalOptions, out: Output): Promise<number> {
  const { config, path: configPath } = await loadCliConfig(options.config, out);
  refuseNoSources(config, configPath, "it restores only its sources' backups, so there is none to roll back");
  // Loaded here, not at the top: they are only needed once the config is valid.
  const [
    { cliLogger },
    { syncInstalledState, unlessStateUnwritable, withoutUndonePending },
    { undoWithHooks },
  ] = await Promise.all([
    import("../logger.js"),
    import("../../pipeline/sync-installed.js"),
    import("../../pipeline/undo-release.js"),
  ]);
  await checkRecordPaths(config, configPath, { lock: "apps", state: true });
  // Before the logger, which creates the log file: a rollback refused for bad input (no such
  // backup, another config's, a damaged state file) leaves ship's directories as it found them.
  const untouched = await noteShipDirs(config);
  const log = cliLogger(options, config);
  const { target, listed, name, owner } = await untouched.guard(() =>
    checkRollback(config, configPath, options.rollback as string),
  );
  const { appDir } = target;
  const problems: string[] = [];
  const warnings: string[] = [];
  // The same lock as an update of this app: a timer run must not apply while we restore.
  const lock = await acquireAppLock(lockDir(config), appDir, log);
  // A stop (Ctrl-C, `systemctl stop`, a shutdown) lets the rollback finish, its hooks included:
  // Node's default died between two restores of a chain (or mid-restore) with the app on a version
  // in between, the state naming the undone one, and nothing said on stdout.
  outliveTerminal(log);
  const signals = onStopSignals(log, (signal) =>
    log.warn(
      `${signal}: finishing the rollback first (a second signal exits at once; ship --recover then finishes it)`,
      { signal },
    ),
  );
  let result: Awaited<ReturnType<typeof rollbackTo>>;
  try {
    try {
      result = await rollbackTo({
        backupRoot: config.general.backup_dir,
        target,
        known: listed,
        configured: Object.keys(config.sources),
        // This config's record of the app, not the one the backup was made beside: after state_file
        // moved (or app_dir lost a trailing slash) the restore wrote the old place, and ship went on
        // saying the undone version was installed.
        stateDir: appStateDir(config, owner.app_dir),
        log,
        hooks: options.hooks !== false,
        around: undoWithHooks({ config, log, hooks: options.hooks !== false, problems, warnings }),
        // This name's runs empty it: a backup made under the source's old name went into that
        // name's trash, which no run empties any more.
        trash: appTrashDir(config.general.backup_dir, name),
        source: name,
      });
    } catch (error) {
      // The state says so too (the hub's hello shows it): a restore that stopped half-way needs a
      // person; one refused before it started changed nothing. Earlier backups of a chain that were
      // restored moved what is installed: the state follows the install index either way.
      // Never the last run's result kept beside this error: "updated" next to a journal error read
      // as a success to the hub and to scripts reading the state.
      const message = errorMessage(error);
      // Bad input (exit 2: a damaged backup, a chain with a gap) moved nothing and records nothing,
      // as a run refused for bad input and this command's own refusals above (no such backup, a
      // damaged meta.json) do: it wrote failed_unchanged over the last update's result, and the
      // hub's view of the agent read "failed" after an operator picked a backup ship would not take.
      const recorded = failedRollbackResult(error);
      if (recorded !== undefined)
        await unlessStateUnwritable(
          syncInstalledState(config, name, owner, new Date(), (s) =>
            stateAfterFailedRollback(s, recorded, message),
          ).then(() => undefined),
          log,
          undefined,
        );
      // The failure below is the rollback's own: without this line, a stop that came meanwhile
      // went unsaid, and the operator could take the failure for the stop's doing.
      if (signals.received !== undefined)
        out.problem(
          `${signals.received} received during the rollback: it did not stop it; the rollback failed on its own (below)`,
        );
      throw error;
    }
    // The owner check above: the backup's app is this config's source `owner`.
    const undone = result.restored.map((r) => r.undid);
    await syncInstalledState(config, name, owner, new Date(), (s) => ({
      ...withoutUndonePending(s, undone),
      // The version the rollback took off the disk (its backups' records), not the state's note of
      // it, which a hand edit or a lost write may have left naming another.
      previous_version: undone[0] ?? s.previous_version,
      last_result: "rolled_back",
      last_error: failedRollbackCommands(problems) ?? null,
    }));
  } finally {
    await lock.release();
    signals.dispose();
  }
  // The source's name in this config: after [sources.myapp] became [sources.web], a rollback to a
  // backup made under myapp said "myapp: back on 1.0.0" about a source ship.toml no longer has.
  const linked = result.restored.flatMap((r) => r.linked);
  if (linked.length > 0) warnings.push(undoneLinksWarning(linked));
  out.result({ ...result, app: name, problems, warnings });
  out.line(
    // No version before it: a first install, or one that found its install index deleted, whose
    // older backups (and versions) exist; "ship's first install" was untrue of the latter.
    `${name}: back on ${restoredVersionLabel(result.version, result.restored.at(-1)?.undid)} (${result.restored.length} backup(s) restored${othersUndoneNote(config, name, result.restored)})`,
  );
  for (const restored of result.restored) {
    for (const rel of restored.outside)
      out.line(
        `  left alone: ${shownPath(rel)} (behind a symlink or mount point, outside the app directory)`,
      );
    for (const rel of restored.displaced)
      out.line(
        `  left alone: ${shownPath(rel)} (its directory is no longer one: something else stands there now)`,
      );
    for (const rel of restored.kept)
      out.line(`  left alone: ${shownPath(rel)} (not the file ship installed)`);
    // A path the undone update added has no previous version: nothing of it was set aside. A set
    // aside symlink counts even when it leads nowhere from there (lstat, not exists).
    const leftAlone = [...restored.outside, ...restored.displaced, ...restored.kept];
    const setAside = (rel: string) =>
      lstatSync(join(restored.oldVersions, rel), { throwIfNoEntry: false }) !== undefined;
    if (leftAlone.some(setAside)) out.line(`  their previous versions are in ${restored.oldVersions}`);
    else if (leftAlone.length > 0) out.line("  they had no previous version: the undone update added them");
  }
  for (const warning of warnings) out.problem(`${name}: WARNING: ${warning}`);
  if (signals.received !== undefined)
    out.problem(`${signals.received} received during the rollback: it was finished first`);
  if (problems.length === 0) return 0;
  out.problem(`${name}: files restored, but ${failedRollbackCommands(problems)}`);
  return 1;
}

/** What stops a rollback before anything moves: exit 2 (or not started), naming what is wrong. */
async function checkRollback(config: AgentConfig, configPath: string, id: string) {
  // The named backup first: a PATH that is a link to a backup moved out of backup_dir is "outside
  // backup_dir, move it back", which says what to do; the listing below would call the same link
  // only "a symlink where a backup directory should be".
  const { target, listed } = await findBackupListing(
    config.general.backup_dir,
    id,
    Object.keys(config.sources),
  );
  // Every source's, not only the target's: the rollback lists all of backup_dir (a renamed source's
  // backups restore its app too), and one it cannot see refuses, whatever stands there.
  await checkSourceBackupDirs(config.general.backup_dir, Object.keys(config.sources));
  // Configs that share a backup_dir (and a source name) keep their backups side by side: restoring
  // another config's app would take this config's locks and write this config's state.
  // A source renamed in ship.toml (same app_dir) owns the backups made under its old name.
  const owning = sourceOfBackup(config.sources, target);
  if (owning === undefined) {
    const named = config.sources[target.app];
    const moved = sourceLedElsewhere(config.sources, target);
    const key = `sources.${moved?.name ?? target.app}.app_dir`;
    throw BadInputError.single(
      configPath,
      key,
      moved !== undefined
        ? ledElsewhere(moved.source.app_dir, moved.leadsNow, target)
        : // Not only another config's: the operator may have moved the app and changed app_dir since,
          // and was told to "roll back with that config", which does not exist.
          `${named === undefined ? "no such source" : `is ${named.app_dir}`}, but backup ${target.id} restores ${target.appDir}, which no source of this config installs into (another config sharing backup_dir made it, or app_dir was changed since): roll back with the config that installs there, or set app_dir back to it; nothing was changed`,
    );
  }
  const { name, source: owner } = owning;
  const appDirKind = await kindProblems(
    [{ key: `sources.${name}.app_dir`, path: owner.app_dir, kind: "directory" }],
    configPath,
  );
  if (appDirKind.length > 0) throw new BadInputError(appDirKind, appDirKind.map(formatIssue).join("; "));
  checkRecordDir(appStateDir(config, owner.app_dir), APP_STATE_WHAT);
  // The state file is written once the files are back: damaged, it made a rollback that had
  // restored every file exit 2 ("nothing changed") with no word of it. Read it before anything moves.
  await readState(config.general.state_file);
  const stateUnwritable = unwritableStateFile(config.general.state_file);
  // A directory ship may not write in (a `sudo ship` made it root's): as a run says it, exit 2.
  if (stateUnwritable !== undefined && errnoCode(stateUnwritable.error) === "EACCES")
    throw unwritableRecord(config.general.state_file, "ship's state file");
  if (stateUnwritable !== undefined)
    throw new RestoreNotStartedError(
      name,
      `${stateUnwritable.dir} is not writable: ${fsErrorText(stateUnwritable.error)} (ship records the restored version there)`,
    );
  return { target, listed, name, owner };
}

/**
 * Why a backup made under app_dir's present spelling is refused: where that spelling led then is not
 * where it leads now. Restoring into what it leads to now wrote one tree's old files into another
 * (blue/green), so the way out is to make app_dir lead back there.
 */
function ledElsewhere(appDir: string, leadsNow: string, target: BackupInfo): string {
  const restored = target.appDir;
  if (backupMadeUnder(target) === undefined)
    // The directory itself was app_dir: it moved (or was copied away and removed), and a symlink
    // took its name. A copy (on another disk, say) is another directory to ship: nothing says the
    // tree there is the one its index and backups describe. Such backups are never pruned either:
    // an app kept at its new place needs them named (--list-backups) to remove them.
    return `is ${appDir}, which now leads to ${leadsNow}, but backup ${target.id} restores the directory that was at ${restored} when it was made (moved since, and a symlink took its name; a copy of it, on another disk say, is another directory to ship): to restore it, move that directory back to ${restored} in place of the symlink; if the app stays at ${leadsNow}, no backup made before the move can restore it and keep_backups does not prune them: ship --list-backups names them, to remove by hand; nothing was changed`;
  // A symlink on the way (/srv/current → /srv/releases/41, app_dir /srv/current/app) was re-pointed.
  return `is ${appDir}, which now leads to ${leadsNow}, but backup ${target.id} restores ${restored}, where ${appDir} led when it was made (a symlink on its way was re-pointed since, or the directory moved): to restore it, make ${appDir} lead to ${restored} again; nothing was changed`;
}
