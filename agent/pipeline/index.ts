/**
 * The update pipeline (issue 3). The CLI calls:
 *   runOnce(config, { force, sources, checkOnly, log, now?, allowDowngrade? }) → RunSummary
 *     one run over the sources; summary.exitCode is DESIGN.md's 0/1/2/3/75/100 and
 *     summary.apps[i] says per source what happened (result, versions, error, manual steps, step timings).
 *   recover(config, log) → RecoverSummary   (`ship --recover`)
 * Throws only BadInputError (exit 2) for `--sources` naming an unknown source.
 */
export type { UpdatePaths, UpdateSettings } from "./context.js";
export { defaultPorts } from "./default-ports.js";
export { StepFailedError, UpdateLeftInPlaceError, UpdateNotAppliedError } from "./errors.js";
export { selectMigrations } from "./migrations.js";
export type {
  AppliedRelease,
  ApplyInput,
  ConditionalsInput,
  ConditionalsVerdict,
  PipelinePorts,
  RequirementsVerdict,
  UpdateEngine,
} from "./ports.js";
export type { RecoverReport, RecoverSummary } from "./recover.js";
export { recover } from "./recover.js";
export type { AppReport, StepTiming } from "./report.js";
export { combinedExitCode } from "./report.js";
export type { RunOptions, RunSummary } from "./run-once.js";
export { runOnce } from "./run-once.js";
export type { Step, StepKind } from "./steps.js";
export { rollbackTrigger, UPDATE_STEPS } from "./steps.js";
