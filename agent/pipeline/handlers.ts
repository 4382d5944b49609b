/** One handler per step kind; the mapped type makes a missing kind a compile error. */
import type { UpdateContext } from "./context.js";
import { applyRelease } from "./handlers/apply.js";
import { runCleanup, runHooks, runMigrations, runPostUpdateTests } from "./handlers/commands.js";
import { fetchRelease, verifyRelease } from "./handlers/fetch-and-verify.js";
import { checkRequirements, evaluateConditionals } from "./handlers/gates.js";
import { waitForRolloutStage } from "./handlers/rollout.js";
import type { StepOutcome } from "./outcome.js";
import type { Step, StepKind } from "./steps.js";

type Handler<K extends StepKind> = (
  ctx: UpdateContext,
  step: Extract<Step, { kind: K }>,
) => Promise<StepOutcome>;

const handlers: { [K in StepKind]: Handler<K> } = {
  fetch: fetchRelease,
  verify: verifyRelease,
  rollout: waitForRolloutStage,
  conditionals: evaluateConditionals,
  requirements: checkRequirements,
  hooks: (ctx, step) => runHooks(ctx, step.phase),
  apply: applyRelease,
  migrations: runMigrations,
  tests: runPostUpdateTests,
  cleanup: runCleanup,
};

export function runStep(ctx: UpdateContext, step: Step): Promise<StepOutcome> {
  const handler = handlers[step.kind] as Handler<StepKind>;
  return handler(ctx, step);
}
