/**
 * What happens when a step throws. Before the apply nothing in the app changed; from the apply on,
 * the manifest's auto_rollback_on decides whether the backup is restored. Rollback hooks run from
 * the pre_update hooks on, because those may already have stopped the app's services.
 */
import { ExitCode, RestoreFailedError, ShipError, UpdateFailedError } from "../../shared/errors.js";
import { need, type UpdateContext } from "./context.js";
import { StepFailedError, UpdateLeftInPlaceError, UpdateNotAppliedError } from "./errors.js";
import type { AppReport } from "./report.js";
import { runCommandList } from "./run-commands.js";
import { mayHaveStoppedServices, rollbackTrigger, type Step, stepName } from "./steps.js";

export type FailureOutcome = Pick<AppReport, "result" | "exitCode" | "message" | "error">;

export async function handleFailure(ctx: UpdateContext, step: Step, error: unknown): Promise<FailureOutcome> {
  const name = stepName(step);
  const reason = error instanceof StepFailedError ? error.reason : messageOf(error);
  ctx.log.error(`step ${name} failed`, { reason });
  const trigger = rollbackTrigger(step);

  if (trigger === null) {
    const problems = mayHaveStoppedServices(step) ? await runRollbackCommands(ctx) : [];
    if (problems.length > 0) return restoreFailed(ctx, reason, problems);
    if (isBadInput(error)) {
      return {
        result: "failed_unchanged",
        exitCode: ExitCode.badInput,
        message: error.message,
        error: error.message,
      };
    }
    const failed = new UpdateNotAppliedError(ctx.app, name, reason);
    return { result: "failed_unchanged", exitCode: failed.exitCode, message: failed.message, error: reason };
  }

  const manifest = need(ctx.manifest, "manifest");
  if (ctx.applied !== undefined && !manifest.rollback.auto_rollback_on.includes(trigger)) {
    const left = new UpdateLeftInPlaceError(ctx.app, name, reason, trigger, manifest.version);
    ctx.log.error(left.message, { trigger, autoRollbackOn: manifest.rollback.auto_rollback_on });
    return {
      result: "failed_not_rolled_back",
      exitCode: left.exitCode,
      message: left.message,
      error: reason,
    };
  }

  const problems = [...(await restoreFiles(ctx)), ...(await runRollbackCommands(ctx))];
  if (problems.length > 0) return restoreFailed(ctx, reason, problems);
  // Bad input the apply found before its first write (a config changed since the check): the app's
  // files never changed, so this is bad input (exit 2), not a restored failure.
  if (ctx.applied === undefined && isBadInput(error)) {
    return {
      result: "failed_unchanged",
      exitCode: ExitCode.badInput,
      message: error.message,
      error: error.message,
    };
  }
  const failed = new UpdateFailedError(ctx.app, name, reason);
  ctx.log.error(failed.message);
  return { result: "failed_restored", exitCode: failed.exitCode, message: failed.message, error: reason };
}

/** The backup when the apply finished; otherwise the engine's recovery undoes a partial apply. */
async function restoreFiles(ctx: UpdateContext): Promise<string[]> {
  const { engine } = ctx.ports;
  const appDir = ctx.source.app_dir;
  try {
    if (ctx.applied !== undefined) {
      await engine.restore({
        appDir,
        stateDir: ctx.paths.appStateDir,
        backupPath: ctx.applied.backupPath,
        log: ctx.log,
      });
      ctx.log.info("restored the previous version", { backup: ctx.applied.backupPath });
    } else {
      const recovery = await engine.recover({ appDir, stateDir: ctx.paths.appStateDir, log: ctx.log });
      ctx.log.info("undid the interrupted apply", { detail: recovery.detail });
    }
    return [];
  } catch (error) {
    return [`restoring files: ${messageOf(error)}`];
  }
}

async function runRollbackCommands(ctx: UpdateContext): Promise<string[]> {
  const rollback = ctx.manifest?.hooks.rollback ?? [];
  const custom = ctx.manifest?.rollback.custom_rollback_command;
  const problems: string[] = [];
  for (const [label, commands] of [
    ["rollback hook", rollback],
    ["custom_rollback_command", custom === undefined ? [] : [custom]],
  ] as const) {
    try {
      await runCommandList(ctx, label, commands);
    } catch (error) {
      problems.push(error instanceof StepFailedError ? error.reason : messageOf(error));
    }
  }
  return problems;
}

function restoreFailed(ctx: UpdateContext, reason: string, problems: string[]): FailureOutcome {
  const failed = new RestoreFailedError(ctx.app, reason, problems.join("; "));
  ctx.log.error(failed.message, { problems });
  return {
    result: "restore_failed",
    exitCode: failed.exitCode,
    message: failed.message,
    error: failed.message,
  };
}

function isBadInput(error: unknown): error is ShipError {
  return error instanceof ShipError && error.exitCode === ExitCode.badInput;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
