import { ExitCode } from "../../shared/errors.js";
import { makeDirs } from "../../shared/make-dirs.js";
import { faultPoint } from "../fault.js";
import type { UpdateContext } from "./context.js";
import { removeCreatedDirs } from "./created-app-dir.js";
import { handleFailure } from "./handle-failure.js";
import { runStep } from "./handlers.js";
import { mergesStand } from "./merge-warnings.js";
import type { StopOutcome } from "./outcome.js";
import { markPending } from "./pending-update.js";
import type { AppReport, StepTiming } from "./report.js";
import { mayHaveStoppedServices, stepName, UPDATE_STEPS } from "./steps.js";

export async function runAppUpdate(ctx: UpdateContext): Promise<AppReport> {
  // The outermost directory this run made for app_dir (a first install), if any.
  let created: string | undefined;
  const ran = await runSteps(ctx, (dir) => {
    created = dir;
  });
  // An update undone after its apply (a failing check, a kill) put the replaced files back and took
  // its backup away: "their copies are in <backup>" would be false twice over.
  // Its merges were undone too: --json and the hub's report listed keys "updated" in a config the
  // restore had put back, where the plain output (merge-lines.ts) said nothing was merged.
  const undone = ctx.applyWarnings ?? [];
  const report = mergesStand(ran)
    ? ran
    : { ...ran, merges: [], warnings: ran.warnings.filter((w) => !undone.includes(w)) };
  // A first install that stopped or failed before anything stayed installed left the empty app_dir
  // (and the parents) ship had made: "the app's files were not changed", yet a new directory.
  if (created !== undefined && NOTHING_INSTALLED.has(report.result))
    await removeCreatedDirs(ctx.source.app_dir, created);
  return report;
}

const NOTHING_INSTALLED: ReadonlySet<AppReport["result"]> = new Set([
  "skipped",
  "manual_intervention_required",
  "failed_unchanged",
  "failed_restored",
]);

async function runSteps(
  ctx: UpdateContext,
  madeAppDir: (created: string | undefined) => void,
): Promise<AppReport> {
  const steps: StepTiming[] = [];
  const base = (): Omit<AppReport, "result" | "exitCode" | "message" | "error"> => ({
    source: ctx.app,
    appDir: ctx.source.app_dir,
    fromVersion: ctx.currentVersion,
    toVersion: ctx.manifest?.version ?? null,
    releaseId: ctx.release?.id ?? null,
    manualSteps: [],
    warnings: ctx.warnings,
    steps,
    merges: ctx.applied?.merges ?? [],
  });

  for (const step of UPDATE_STEPS) {
    const name = stepName(step);
    faultPoint(`pipeline:before:${step.kind}`);
    const started = performance.now();
    let outcome: Awaited<ReturnType<typeof runStep>>;
    try {
      if (ctx.pendingMarked !== true && mayHaveStoppedServices(step)) await markPending(ctx);
      // command() conditions, environment_checks and hooks run in app_dir: on a first install into
      // an app_dir that did not exist yet each failed to start ("spawn /bin/sh ENOENT"), a
      // skip_update condition read as false. The apply would create it a moment later anyway.
      if (step.kind === "conditionals") madeAppDir(await makeDirs(ctx.source.app_dir));
      outcome = await runStep(ctx, step);
    } catch (error) {
      steps.push({ step: name, durationMs: elapsed(started), ok: false });
      return { ...base(), ...(await handleFailure(ctx, step, error)) };
    }
    const durationMs = elapsed(started);
    steps.push({ step: name, durationMs, ok: true });
    ctx.log.info(`step ${name} done`, { step: name, durationMs });
    if (outcome.next === "stop") return { ...base(), ...stoppedOnPurpose(ctx, outcome) };
  }
  return {
    ...base(),
    result: "updated",
    exitCode: ExitCode.ok,
    // No version recorded (ship never installed this app): "updated (unknown) → 1.0.0" read as if
    // something unknown had been replaced.
    // With the install index gone, "no earlier version recorded" was said of an app the state file
    // or a backup shows ship had installed.
    message:
      ctx.currentVersion === null
        ? `${ctx.app}: installed ${ctx.manifest?.version} (${ctx.lastInstalled === undefined ? "no earlier version recorded" : `the install index is gone; ship installed ${ctx.lastInstalled.version} here last`})${skippedNote(ctx)}`
        : `${ctx.app}: updated ${ctx.currentVersion} → ${ctx.manifest?.version}`,
    error: null,
  };
}

function skippedNote(ctx: UpdateContext): string {
  const skipped = ctx.skippedMigrations ?? [];
  return skipped.length === 0
    ? ""
    : `; migrations ${skipped.join(", ")} NOT run: the version installed before is unknown, so run those the app lacks by hand`;
}

/** The report of a run that stopped on purpose before installing (exit 0); --check-only says the same. */
export function stoppedOnPurpose(
  ctx: UpdateContext,
  outcome: StopOutcome,
): Pick<AppReport, "result" | "exitCode" | "message" | "error" | "manualSteps"> {
  switch (outcome.result) {
    case "up_to_date":
      return {
        result: "up_to_date",
        exitCode: ExitCode.ok,
        message: outcome.message,
        error: null,
        manualSteps: [],
      };
    case "skipped":
      return {
        result: "skipped",
        exitCode: ExitCode.ok,
        message: `${ctx.app}: update skipped on purpose: ${outcome.message}`,
        error: null,
        manualSteps: [],
      };
    case "manual_intervention_required":
      return {
        result: "manual_intervention_required",
        exitCode: ExitCode.ok,
        message: `${ctx.app}: manual intervention required before updating to ${ctx.manifest?.version}: ${outcome.message}`,
        error: outcome.message,
        manualSteps: outcome.manualSteps,
      };
  }
}

function elapsed(started: number): number {
  return Math.round(performance.now() - started);
}
