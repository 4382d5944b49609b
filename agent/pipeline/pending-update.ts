/**
 * The pipeline's own crash safety, one level above the apply engine's journal: the engine leaves a
 * killed apply fully old or fully new, but "fully new" after a kill means the health checks never
 * ran. A pending_update record in the state file (written before the first step that may change the
 * host, cleared by finalize) tells the next start to restore the backup and run the rollback hooks.
 */
import { access } from "node:fs/promises";
import { hostname } from "node:os";
import { basename } from "node:path";
import type { AgentConfig, Source } from "../../shared/config/schema.js";
import {
  ExitCode,
  errorMessage,
  RESTORED_PRE_SHIP,
  RestoreNotStartedError,
  restoredVersionLabel,
} from "../../shared/errors.js";
import type { Logger } from "../../shared/log.js";
import { Manifest } from "../../shared/manifest/schema.js";
import { readJournal } from "../apply/journal.js";
import {
  dropUndoneRelease,
  type KeptRelease,
  keepUndoneRelease,
  ownLinksOf,
  showUndoneRelease,
} from "../apply/undone-release.js";
import { readUndoneManifest } from "../backup/backup-store.js";
import { type UndoneLink, undoneLinksWarning } from "../backup/restore-links.js";
import { restoredAt } from "../backup/restored-record.js";
import { readRollbackRecord, releaseBeingUndone } from "../backup/rollback-record.js";
import { leftAloneNote } from "../backup/unrestored.js";
import { KeptCommands } from "../exec/named-command.js";
import { runningCommandFile } from "../exec/running-command.js";
import { hostId } from "../host-id.js";
import { sendNotifications } from "../notify/send-notifications.js";
import { type PendingUpdate, readState, updateSourceState } from "../state/state-file.js";
import { realDir } from "../tree/path-on-disk.js";
import { need, type UpdateContext } from "./context.js";
import { type LegacyState, readInstalledId } from "./installed-release.js";
import { ranMigrationsNote } from "./migrations.js";
import { dropPendingManifest, keepPendingManifest, readPendingManifest } from "./pending-manifest.js";
import type { PipelinePorts, RecoveryOutcome } from "./ports.js";
import type { RecoveredFirst } from "./report.js";
import { failedRollbackCommands, rollbackCommandsOf } from "./rollback-commands.js";
import { DEFAULT_COMMAND_TIMEOUT_SECONDS, runCommands } from "./run-commands.js";

export async function markPending(ctx: UpdateContext): Promise<void> {
  const manifest = need(ctx.manifest, "manifest");
  // First: a record the recovery finds always has its manifest to notify with, and its rollback
  // commands to run (kept there only: a command line may carry a secret, and the state file is 640).
  await keepPendingManifest(ctx.paths.appStateDir, manifest);
  await updateSourceState(ctx.config.general.state_file, ctx.app, (s) => ({
    ...s,
    pending_update: {
      version: manifest.version,
      from: ctx.currentVersion,
      started: ctx.settings.now().toISOString(),
      app_dir_on_disk: realDir(ctx.source.app_dir),
    },
  }));
  ctx.pendingMarked = true;
}

/**
 * Takes back the record markPending wrote, for a run refused as bad input after it (exit 2 at the
 * apply with no pre_update hook run: nothing changed). finalize writes no state on exit 2, and the
 * record left behind made the next run report an update "interrupted" that never began.
 */
export async function unmarkPending(ctx: UpdateContext): Promise<void> {
  if (ctx.pendingMarked !== true) return;
  ctx.pendingMarked = false;
  await updateSourceState(ctx.config.general.state_file, ctx.app, ({ pending_update: _refused, ...s }) => s);
}

export async function recordPendingBackup(ctx: UpdateContext, backupPath: string): Promise<void> {
  await updateSourceState(ctx.config.general.state_file, ctx.app, (s) =>
    s.pending_update === undefined
      ? s
      : { ...s, pending_update: { ...s.pending_update, backup_path: backupPath } },
  );
}

/**
 * Called by a failing run before its rollback steps: a kill in the restore or the rollback hooks
 * leaves recovery the failure's reason to say (its line, last_error, on_failure), not only that
 * the run was interrupted. No pending record (failed before the first step that may change the
 * host): nothing for a recovery to say.
 */
export async function recordPendingFailure(ctx: UpdateContext, step: string, message: string): Promise<void> {
  await updateSourceState(ctx.config.general.state_file, ctx.app, (s) =>
    s.pending_update === undefined
      ? s
      : { ...s, pending_update: { ...s.pending_update, failure: { step, message } } },
  );
}

/** After each migration version's commands: a recovery of a kill from here on names them. */
export async function recordPendingMigrations(ctx: UpdateContext, ran: readonly string[]): Promise<void> {
  await updateSourceState(ctx.config.general.state_file, ctx.app, (s) =>
    s.pending_update === undefined
      ? s
      : { ...s, pending_update: { ...s.pending_update, migrations_ran: [...ran] } },
  );
}

export interface PendingResolution {
  exitCode: ExitCode;
  detail: string;
  /**
   * WARNINGs of the run that recovered: names its restore split from other names (hard links), and
   * the on_failure notifications that did not arrive.
   */
  warnings: string[];
  /** Set when the recovery put files back and finished: what the run's later outcome must not hide. */
  recovered?: RecoveredFirst;
}

/** Call after the engine's recovery. Returns null when no update was interrupted. */
export async function resolvePendingUpdate(input: {
  config: AgentConfig;
  name: string;
  source: Source;
  ports: PipelinePorts;
  appStateDir: string;
  /** What the engine's recovery just did: a journal it undid or finished put files back too. */
  journal: RecoveryOutcome["action"];
  log: Logger;
}): Promise<PendingResolution | null> {
  const { config, name, source, ports, log } = input;
  const recorded = (await readState(config.general.state_file)).sources[name];
  const pending = recorded?.pending_update;
  if (pending === undefined) return null;
  // An update that failed and whose restore failed (finalize.ts keeps the restore owed) was not
  // interrupted: said so, it sent operators looking for a kill that never happened.
  const what =
    recorded?.last_result === "restore_failed"
      ? `update to ${pending.version} failed earlier and was not yet restored`
      : `update to ${pending.version} was interrupted`;
  log.warn(
    `an ${what}; ${pending.from === null ? "undoing what it installed (no earlier version was recorded)" : "restoring the previous version"}`,
    { pending },
  );

  const fileProblems: string[] = [];
  // The interrupted release's own rollback commands run in its files: linked aside before the
  // restore removes them from the app (when it had committed; an undone apply left none).
  let kept: KeptRelease | undefined;
  let releaseDir: string | undefined;
  let leftAlone = "";
  let linked: UndoneLink[] = [];
  let manifest: Manifest | undefined;
  // A record of an older ship holds them; else the manifest kept with it, else the backup's copy.
  const pendingManifest = await readPendingManifest(input.appStateDir, pending.version);
  let rollbackCommands =
    (pending.rollback_commands === undefined ? undefined : KeptCommands.parse(pending.rollback_commands)) ??
    (pendingManifest === undefined ? undefined : rollbackCommandsOf(pendingManifest));
  // A kill in or after the pre_update hooks but before the apply's first write leaves the app as it
  // was: no journal, no backup. Its line said "restored 1.0.0" all the same. (A restore that failed
  // earlier did move files: its wording stays.)
  let filesPutBack =
    input.journal !== "none" ||
    recorded?.last_result === "restore_failed" ||
    (await restoredBefore(config.general.backup_dir, pending.backup_path));
  try {
    const backupPath =
      pending.backup_path ??
      (await ports.engine.findBackup({
        app: name,
        appDir: source.app_dir,
        backupDir: config.general.backup_dir,
        replacedBy: pending.version,
        since: pending.started,
      }));
    // No backup (the apply was undone by the journal) or a consumed one (a restore was finished): the
    // files are already the old ones.
    if (backupPath !== null && (await exists(backupPath))) {
      // Read before the restore consumes the backup: its on_failure notifications are owed.
      manifest = await undoneManifest(backupPath);
      if (manifest !== undefined) rollbackCommands ??= rollbackCommandsOf(manifest);
      if (rollbackCommands !== undefined && rollbackCommands.length > 0) {
        kept = await keepUndoneRelease({
          appDir: source.app_dir,
          stateDir: input.appStateDir,
          backupPath,
          dir: releaseBeingUndone(input.appStateDir),
        }).catch(() => undefined);
        if (kept?.version !== pending.version) kept = undefined;
      }
      const left = await ports.engine.restore({
        appDir: source.app_dir,
        stateDir: input.appStateDir,
        backupPath,
        log,
        // The commands' copy holds a name of each file the restore takes: not an operator's link.
        ...(kept === undefined ? {} : { ownLinks: [ownLinksOf(kept)] }),
      });
      filesPutBack = true;
      leftAlone = leftAloneNote(left.paths, [left.oldVersions]);
      linked = left.linked;
      const shown = kept === undefined ? undefined : await showUndoneRelease(kept);
      for (const problem of shown?.problems ?? []) log.warn(problem);
      releaseDir = shown?.dir;
    }
  } catch (error) {
    // The restore's "nothing was changed" is of the restore: the app still has the release's files.
    fileProblems.push(
      error instanceof RestoreNotStartedError
        ? `refused before it moved anything: ${error.reason}; the app still has ${pending.version}'s files`
        : `restoring files: ${errorMessage(error)}`,
    );
  }
  const commandProblems = await runCommands(rollbackCommands ?? [], {
    cwd: releaseDir ?? source.app_dir,
    env: {
      app: name,
      version: pending.version,
      previousVersion: pending.from ?? "",
      appDir: source.app_dir,
      ...(releaseDir === undefined ? {} : { releaseDir }),
    },
    log,
    recordFile: runningCommandFile(input.appStateDir),
    defaultTimeoutSeconds: DEFAULT_COMMAND_TIMEOUT_SECONDS,
    stopAtFirstFailure: false,
  });
  await dropUndoneRelease(releaseBeingUndone(input.appStateDir)).catch((error: unknown) =>
    log.warn(errorMessage(error)),
  );

  const failed = fileProblems.length > 0;
  const failedCommands = failedRollbackCommands(commandProblems);
  const commandNote = failedCommands === undefined ? "" : `; ${failedCommands}`;
  // Killed while rolling back a failure: why it failed is the news, "interrupted" only how it ended.
  // (A restore that failed was no kill: that run said why, in its own last_error and on_failure.)
  const failureNote =
    pending.failure === undefined || recorded?.last_result === "restore_failed"
      ? ""
      : `; it had failed at ${pending.failure.step}: ${pending.failure.message} (killed while rolling back)`;
  const migrationsNote = ranMigrationsNote(pending.migrations_ran);
  const detail = failed
    ? `${what} and restoring failed: ${[...fileProblems, ...commandProblems].join("; ")} — the app needs a person${failureNote}${migrationsNote}`
    : `${what}; ${filesNote(filesPutBack, pending.from)}${leftAlone}${migrationsNote}${commandNote}${failureNote}`;
  // Restoring failed again: still owed, the next run tries again (finalize.ts keeps it likewise).
  await updateSourceState(config.general.state_file, name, ({ pending_update: done, ...s }) => ({
    ...s,
    ...(failed ? { pending_update: done } : {}),
    last_result: failed ? "restore_failed" : "failed_restored",
    last_error: detail,
  }));
  if (failed || commandNote !== "") log.error(detail);
  else log.warn(detail);
  // The killed run never reached its own notify step: whoever watches on_failure hears of it now.
  // The backup's copy or, killed before there was one (or after a restore consumed it), the copy
  // kept with the pending record.
  manifest ??= pendingManifest;
  const notified =
    manifest === undefined
      ? []
      : await sendNotifications(
          manifest.notifications.on_failure,
          {
            app: name,
            version: pending.version,
            status: "failure",
            error: detail,
            host: hostname(),
            system_id: hostId(),
            timestamp: new Date().toISOString(),
          },
          { log },
        );
  // Still owed after a failed restore: the next attempt notifies again with it.
  if (!failed)
    await dropPendingManifest(input.appStateDir).catch((error: unknown) => log.warn(errorMessage(error)));
  const exitCode = failed
    ? ExitCode.restoreFailed
    : commandNote === ""
      ? ExitCode.ok
      : ExitCode.updateFailedRestored;
  // As `ship --rollback` says it: names the restore took from files that keep other names.
  const warnings = linked.length === 0 ? notified : [undoneLinksWarning(linked), ...notified];
  return {
    exitCode,
    detail,
    warnings,
    ...(filesPutBack && !failed ? { recovered: { from: pending.version, to: pending.from } } : {}),
  };
}

/** What became of the app's files, in the words the run's own failures use. */
function filesNote(putBack: boolean, from: string | null): string {
  if (!putBack) return `the app's files were not changed${from === null ? "" : ` (${from} stays)`}`;
  return from === null ? RESTORED_PRE_SHIP : `restored ${from}`;
}

/**
 * The killed run had applied its update (its backup is recorded) and had restored it already (a
 * failed health check, say; the restore consumed the backup) when the kill came, in the rollback
 * hooks that follow: the app's files were changed and put back. Its line said "the app's files
 * were not changed". A backup deleted by hand is no restore: only one a restore recorded counts.
 */
async function restoredBefore(backupDir: string, backupPath: string | undefined): Promise<boolean> {
  if (backupPath === undefined || (await exists(backupPath))) return false;
  return (await restoredAt(backupDir, basename(backupPath))) !== undefined;
}

/** The interrupted release's manifest as its backup saved it; undefined when absent or unreadable. */
async function undoneManifest(backupPath: string): Promise<Manifest | undefined> {
  const saved = await readUndoneManifest(backupPath).catch(() => undefined);
  const parsed = saved === undefined ? undefined : Manifest.safeParse(saved);
  return parsed?.success ? parsed.data : undefined;
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

export interface AwaitingRecovery {
  /** What the check's line adds. */
  note: string;
  /** The version recovery leaves installed (null: nothing ship installed), when it is known. */
  leaves?: string | null;
  /** The installed version recovery takes out (what a check compares with is not what a run will). */
  takesOut?: string;
}

/**
 * What `ship --check-only` must know when a killed run waits for recovery (a check recovers
 * nothing): it said "up to date (3.0.0)", exit 0, about a 3.0.0 killed before its health checks,
 * which the next run undoes and then installs again. The records are read as a run reads them, so
 * one a run cannot use (a damaged journal: exit 3) fails the check the same way. Undefined when
 * nothing was interrupted.
 */
export async function awaitingRecovery(
  pending: PendingUpdate | undefined,
  appStateDir: string,
  legacy: (LegacyState & { last_result?: string | null; last_error?: string | null }) | undefined,
): Promise<AwaitingRecovery | undefined> {
  const restoreFailed = legacy?.last_result === "restore_failed";
  const waiting = await recoveryAhead(
    pending,
    appStateDir,
    restoreFailed,
    restoreFailed ? (legacy?.last_error ?? undefined) : undefined,
  );
  if (waiting?.leaves === undefined) return waiting;
  const installed = (await readInstalledId(appStateDir, legacy))?.version;
  return installed !== undefined && installed !== waiting.leaves
    ? { ...waiting, takesOut: installed }
    : waiting;
}

async function recoveryAhead(
  pending: PendingUpdate | undefined,
  appStateDir: string,
  restoreFailed: boolean,
  recoveryError: string | undefined,
): Promise<AwaitingRecovery | undefined> {
  const then = "the next run (or ship --recover) ";
  const journal = await readJournal(appStateDir);
  const rollback = await readRollbackRecord(appStateDir);
  // A restore that failed (no room, say) left the update's files in place, owed: no run was killed.
  const what = restoreFailed
    ? `an update to ${pending?.version} failed and its restore failed too; the app has its files and waits for recovery`
    : `an update to ${pending?.version} was interrupted and waits for recovery`;
  // A run killed while rolling back a failure: why it failed, as the recovery will say it.
  const failed =
    pending?.failure === undefined || restoreFailed
      ? ""
      : ` (it had failed at ${pending.failure.step}: ${pending.failure.message})`;
  if (pending !== undefined)
    return {
      note: `${what}: ${then}${pending.from === null ? "undoes what it installed" : `restores ${pending.from}`} first${failed}`,
      leaves: pending.from,
    };
  // A recovery (or the restore itself) was tried and failed half-way (an immutable file, say): the
  // check said "was interrupted and waits for recovery", as if nothing had been tried, and hid why it
  // failed and what to fix. The recorded error says both, in the failed attempt's own words.
  const triedAndFailed =
    recoveryError === undefined
      ? undefined
      : `the app waits for recovery and the last attempt failed: ${recoveryError.replace(/^[^:\s]+: /, "")}`;
  if (rollback !== undefined)
    return {
      note:
        triedAndFailed ??
        `a rollback to ${restoredVersionLabel(rollback.version, rollback.undid)} was interrupted and waits for recovery: ${then}finishes it first`,
      leaves: rollback.version,
    };
  if (journal === undefined) return undefined;
  return {
    note:
      triedAndFailed ??
      `a run was killed while changing the app and waits for recovery: ${then}finishes or undoes it first`,
    leaves:
      journal.kind === "restore"
        ? journal.version
        : journal.phase === "committed"
          ? journal.toVersion
          : journal.fromVersion,
  };
}
