/**
 * What happens when a step throws. Before the apply nothing in the app changed; from the apply on,
 * the manifest's auto_rollback_on decides whether the backup is restored. Rollback hooks run from
 * the pre_update hooks on, because those may already have stopped the app's services.
 *
 * The outcome says what is true on disk: "restored" only when files were put back, "not changed"
 * when the update stopped before its first write, exit 3 only when putting the files back failed.
 * A failing rollback command is reported with the outcome but does not turn it into exit 3.
 */
import { lstatSync } from "node:fs";
import { join } from "node:path";
import {
  ExitCode,
  RESTORED_PRE_SHIP,
  RestoreFailedError,
  RestoreNotStartedError,
  ShipError,
  UpdateFailedError,
  UpdateNotAppliedError,
} from "../../shared/errors.js";
import { errnoErrorText } from "../../shared/fs-errors.js";
import {
  dropUndoneRelease,
  type KeptRelease,
  keepUndoneRelease,
  ownLinksOf,
  showUndoneRelease,
} from "../apply/undone-release.js";
import { undoneLinksWarning } from "../backup/restore-links.js";
import { releaseBeingUndone } from "../backup/rollback-record.js";
import { emptyTrash, trashWarning } from "../backup/trash.js";
import { leftAloneNote } from "../backup/unrestored.js";
import type { FetchedRelease } from "../sources/types.js";
import type { UpdateContext } from "./context.js";
import { StepFailedError, UpdateLeftInPlaceError } from "./errors.js";
import { logFailure } from "./failure-log.js";
import { ranMigrationsNote } from "./migrations.js";
import { recordPendingFailure, unmarkPending } from "./pending-update.js";
import type { LeftAlone } from "./ports.js";
import { type AppReport, appMessage } from "./report.js";
import { failedRollbackCommands, rollbackCommandsOf } from "./rollback-commands.js";
import { commandListOptions, runCommands } from "./run-commands.js";
import { rollbackTrigger, type Step, stepName } from "./steps.js";

export type FailureOutcome = Pick<
  AppReport,
  "result" | "exitCode" | "message" | "error" | "failureReason" | "retriedLater"
>;

/** What became of the app's files. */
type FilesOutcome =
  | { kind: "unchanged" }
  | { kind: "restored"; leftAlone?: LeftAlone }
  | { kind: "failed"; why: string };

export async function handleFailure(ctx: UpdateContext, step: Step, error: unknown): Promise<FailureOutcome> {
  const name = stepName(step);
  const reason = reasonOf(error);
  logFailure(ctx.log, ctx.settings, error, `step ${name} failed`, { reason });
  const trigger = rollbackTrigger(step);
  const manifest = ctx.manifest;

  if (
    ctx.applied !== undefined &&
    trigger !== null &&
    manifest !== undefined &&
    !manifest.rollback.auto_rollback_on.includes(trigger)
  ) {
    const left = new UpdateLeftInPlaceError(ctx.app, name, reason, trigger, manifest.version);
    ctx.log.error(left.message, { trigger, autoRollbackOn: manifest.rollback.auto_rollback_on });
    return {
      result: "failed_not_rolled_back",
      exitCode: left.exitCode,
      message: left.message,
      error: reason,
      failureReason: reason,
    };
  }

  // Durable before any rollback step: a kill in the restore or the rollback hooks keeps the reason.
  // The state file's own failure (its directory made immutable by a hook) is the reason itself:
  // said again here, the JSON log held it four times in one run.
  await recordPendingFailure(ctx, name, reason).catch((problem: unknown) => {
    const said = messageOf(problem);
    if (said === reason)
      ctx.log.debug("could not record why the update failed in the state file (the reason above)");
    else ctx.log.warn(`could not record why the update failed in the state file: ${said}`);
  });
  const wantsCommands =
    servicesMayBeStopped(ctx) && ctx.manifest !== undefined && rollbackCommandsOf(ctx.manifest).length > 0;
  // The release's files, for its rollback commands: still staged before the apply; linked aside
  // from the app before a restore removes them. After a failed apply they are partly gone: none.
  let releaseDir: string | undefined;
  if (wantsCommands && ctx.release !== undefined && step.kind !== "apply" && ctx.applied === undefined)
    releaseDir = await completeStagedRelease(ctx, ctx.release);

  let files: FilesOutcome = { kind: "unchanged" };
  let kept: KeptRelease | undefined;
  if (ctx.applied !== undefined) {
    if (wantsCommands) kept = await keepReleaseFiles(ctx, ctx.applied.backupPath);
    files = await restoreBackup(ctx, ctx.applied.backupPath, kept);
    if (kept !== undefined) {
      const shown = await showUndoneRelease(kept);
      for (const problem of shown.problems) ctx.log.warn(problem);
      releaseDir = shown.dir;
    }
  } else if (step.kind === "apply") {
    files = await settleFailedApply(ctx, error);
  }
  const commandProblems = servicesMayBeStopped(ctx) ? await runRollbackCommands(ctx, releaseDir) : [];
  if (kept !== undefined)
    await dropUndoneRelease(kept.dir).catch((problem: unknown) => ctx.log.warn(messageOf(problem)));
  // The undone release waited in the trash for the app's next run: hours under a timer, weeks under
  // a daemon, on a disk a failed update may have filled. Nobody waits on a failed run: freed now.
  if (files.kind === "restored")
    await emptyTrash(ctx.config.general.backup_dir, ctx.app).catch((problem: unknown) =>
      ctx.log.warn(trashWarning(problem)),
    );
  const outcome = outcomeOf(ctx, { name, reason, error, files, commandProblems });
  // Refused as bad input, nothing changed: finalize writes no state on exit 2, and the record left
  // behind made the next run report an update "interrupted" that never began.
  if (outcome.exitCode === ExitCode.badInput) await unmarkPending(ctx);
  return outcome;
}

function outcomeOf(
  ctx: UpdateContext,
  facts: {
    name: string;
    reason: string;
    error: unknown;
    files: FilesOutcome;
    commandProblems: string[];
  },
): FailureOutcome {
  const { name, reason, error, files, commandProblems } = facts;
  const failedCommands = failedRollbackCommands(commandProblems);
  const commandNote = failedCommands === undefined ? "" : `; ${failedCommands}`;
  const migrationsNote = ranMigrationsNote(ctx.ranMigrations);
  if (files.kind === "failed") {
    const failed = new RestoreFailedError(ctx.app, reason, [files.why, ...commandProblems].join("; "));
    const message = failed.message + migrationsNote;
    ctx.log.error(message);
    return {
      result: "restore_failed",
      exitCode: failed.exitCode,
      message,
      error: message,
    };
  }
  if (files.kind === "restored") {
    const failed = new UpdateFailedError(
      ctx.app,
      name,
      reason,
      ctx.currentVersion === null ? RESTORED_PRE_SHIP : undefined,
    );
    const leftAlone = leftAloneOf(files.leftAlone);
    const message = failed.message + leftAlone + migrationsNote + commandNote;
    ctx.log.error(message);
    // The error (the state's last_error, the hub's report) names what the restore left alone too.
    return {
      result: "failed_restored",
      exitCode: failed.exitCode,
      message,
      error: reason + (leftAlone === "" ? "" : `; restored${leftAlone}`) + migrationsNote + commandNote,
      failureReason: reason,
    };
  }
  // Exit 2 ("bad input, nothing was run or changed") unless a pre_update hook ran before it was
  // met: then what was checked may have changed under the run (a hook turned backup_dir/<app> into
  // a file, or broke a config a merge reads), the rollback hooks ran too, and it is a failed run
  // like any other, recorded (finalize writes nothing on exit 2, which left the pending record for
  // the next run to call "interrupted"). With no hook run, an input the apply was the first to
  // meet (a backup_dir entry ship may not read) is still the refusal it always was.
  if (error instanceof ShipError && error.exitCode === ExitCode.badInput && !preUpdateHooksRan(ctx)) {
    const message = appMessage(ctx.app, error.message) + commandNote;
    return {
      result: "failed_unchanged",
      exitCode: ExitCode.badInput,
      message,
      error: error.message + commandNote,
      failureReason: error.message,
    };
  }
  const failed = new UpdateNotAppliedError(ctx.app, name, reason);
  const message = failed.message + commandNote;
  if (commandNote !== "") ctx.log.error(message);
  return {
    result: "failed_unchanged",
    exitCode: failed.exitCode,
    message,
    error: reason + commandNote,
    failureReason: reason,
    ...(commandNote === "" && ctx.settings.retriedLater?.(error) === true ? { retriedLater: true } : {}),
  };
}

/** Whether the run got past pre_update hooks the release has (they may have changed anything). */
function preUpdateHooksRan(ctx: UpdateContext): boolean {
  return servicesMayBeStopped(ctx) && (ctx.manifest?.hooks.pre_update.length ?? 0) > 0;
}

/** The run got to its pre_update hooks (markPending's record says so): rollback commands are owed. */
function servicesMayBeStopped(ctx: UpdateContext): boolean {
  return ctx.pendingMarked === true;
}

/** The restore's line names the paths it left alone, as `--recover` and `--rollback` do. */
function leftAloneOf(leftAlone: LeftAlone | undefined): string {
  return leftAlone === undefined ? "" : leftAloneNote(leftAlone.paths, [leftAlone.oldVersions]);
}

/** The apply threw before returning: it either never wrote, undid itself, or died after committing. */
async function settleFailedApply(ctx: UpdateContext, error: unknown): Promise<FilesOutcome> {
  if (error instanceof RestoreFailedError)
    return { kind: "failed", why: `restoring files: ${error.restoreReason}` };
  if (error instanceof UpdateFailedError) return { kind: "restored" }; // undone at once by the engine
  if (error instanceof ShipError) return { kind: "unchanged" }; // refused before its first write
  try {
    const recovery = await ctx.ports.engine.recover({
      appDir: ctx.source.app_dir,
      stateDir: ctx.paths.appStateDir,
      log: ctx.log,
    });
    if (recovery.action === "completed" && recovery.backupPath !== undefined)
      return restoreBackup(ctx, recovery.backupPath);
    return recovery.action === "none" ? { kind: "unchanged" } : { kind: "restored" };
  } catch (recoverError) {
    return { kind: "failed", why: `restoring files: ${messageOf(recoverError)}` };
  }
}

async function restoreBackup(
  ctx: UpdateContext,
  backupPath: string,
  kept?: KeptRelease,
): Promise<FilesOutcome> {
  try {
    const leftAlone = await ctx.ports.engine.restore({
      appDir: ctx.source.app_dir,
      stateDir: ctx.paths.appStateDir,
      backupPath,
      log: ctx.log,
      ...(kept === undefined ? {} : { ownLinks: [ownLinksOf(kept)] }),
      callerEmptiesTrash: true,
      source: ctx.app,
    });
    ctx.log.info(ctx.currentVersion === null ? RESTORED_PRE_SHIP : "restored the previous version", {
      backup: backupPath,
    });
    // Said as `ship --rollback` and `--recover` say it: a config a hook linked into /etc keeps the
    // failed release's content there, and the report (the hub's too) is where an operator looks.
    if (leftAlone.linked.length > 0) ctx.warnings.push(undoneLinksWarning(leftAlone.linked));
    return { kind: "restored", leftAlone };
  } catch (error) {
    // The restore's own "nothing was changed" is of the restore: the update had changed the app.
    if (error instanceof RestoreNotStartedError)
      return {
        kind: "failed",
        why: `refused before it moved anything: ${error.reason}; the app still has ${ctx.manifest?.version ?? "the failed release"}'s files`,
      };
    return { kind: "failed", why: `restoring files: ${messageOf(error)}` };
  }
}

/**
 * The staged release with the files its source left out (the app held them) written in as well:
 * the rollback commands may run a script among them. Undefined (commands run in the app) if that fails.
 */
async function completeStagedRelease(
  ctx: UpdateContext,
  release: FetchedRelease,
): Promise<string | undefined> {
  const { listing, materialize } = release;
  if (listing === undefined || materialize === undefined) return release.dir;
  const missing = [...listing.files.keys()].filter(
    (rel) => lstatSync(join(release.dir, rel), { throwIfNoEntry: false }) === undefined,
  );
  try {
    if (missing.length > 0) await materialize(missing);
    return release.dir;
  } catch (error) {
    ctx.log.warn("could not stage the failing release's files for its rollback commands", {
      error: messageOf(error),
    });
    return undefined;
  }
}

/**
 * Links the failing release's files aside (the restore removes them from the app), where a kill
 * during its rollback commands leaves them for recovery to clear (pending-update.ts).
 */
async function keepReleaseFiles(ctx: UpdateContext, backupPath: string): Promise<KeptRelease | undefined> {
  try {
    return await keepUndoneRelease({
      appDir: ctx.source.app_dir,
      stateDir: ctx.paths.appStateDir,
      backupPath,
      dir: releaseBeingUndone(ctx.paths.appStateDir),
    });
  } catch (error) {
    ctx.log.warn("could not keep the failing release's files for its rollback commands", {
      error: messageOf(error),
    });
    return undefined;
  }
}

/** Every one runs, as on the other rollback paths: the one after a failed one may still undo its part. */
async function runRollbackCommands(ctx: UpdateContext, releaseDir: string | undefined): Promise<string[]> {
  const commands = ctx.manifest === undefined ? [] : rollbackCommandsOf(ctx.manifest);
  return await runCommands(commands, { ...commandListOptions(ctx, releaseDir), stopAtFirstFailure: false });
}

/** The failure's own words, without the "app: …" framing an error class may have added. */
function reasonOf(error: unknown): string {
  if (error instanceof StepFailedError) return error.reason;
  // The apply's own undo failed: its update reason, not its whole "UPDATE FAILED AND RESTORE
  // FAILED … update: …; restore: …" line, which the outcome wrapped again (said twice).
  if (error instanceof RestoreFailedError) return error.reason;
  if (error instanceof UpdateFailedError || error instanceof UpdateNotAppliedError) return error.reason;
  // Its message already says "UPDATE FAILED AND RESTORE FAILED": only the update's part, or it is said twice.
  if (error instanceof RestoreFailedError) return error.reason;
  return messageOf(error);
}

function messageOf(error: unknown): string {
  if (error instanceof StepFailedError) return error.reason;
  if (error instanceof ShipError) return error.message;
  return errnoErrorText(error);
}
