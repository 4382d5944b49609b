/**
 * The update pipeline as data: a list of typed steps, one handler per kind in a
 * map the compiler checks (handlers.ts). Adding a kind here makes tsc point at the missing handler.
 *
 * Order differs from DESIGN.md in one place, on purpose: migrations run AFTER the files are applied
 * (the seed's order). Migration commands are scripts shipped in the new release and run with
 * cwd = app_dir, so before the apply they would run the old scripts or not exist at all.
 * "backup" is not a step of its own: the apply engine moves the old bytes of every changed file
 * into the backup changeset inside the same journaled operation that installs the new ones, so a
 * crash can never separate the two.
 */
import type { RollbackPolicy } from "../../shared/manifest/schema.js";

export type Step =
  | { kind: "fetch" }
  | { kind: "verify" }
  | { kind: "rollout" }
  | { kind: "conditionals" }
  | { kind: "requirements" }
  | { kind: "hooks"; phase: "pre_update" | "post_update" }
  | { kind: "apply" }
  | { kind: "migrations" }
  | { kind: "tests" }
  | { kind: "cleanup" };

export type StepKind = Step["kind"];
export type RollbackTrigger = RollbackPolicy["auto_rollback_on"][number];

export const UPDATE_STEPS: readonly Step[] = [
  { kind: "fetch" },
  { kind: "verify" },
  { kind: "rollout" },
  { kind: "conditionals" },
  { kind: "requirements" },
  { kind: "hooks", phase: "pre_update" },
  { kind: "apply" },
  { kind: "migrations" },
  { kind: "hooks", phase: "post_update" },
  { kind: "tests" },
  { kind: "cleanup" },
];

export function stepName(step: Step): string {
  return step.kind === "hooks" ? `${step.phase} hooks` : step.kind;
}

/**
 * Which auto_rollback_on trigger a failure in this step is, or null when the app's files were not
 * touched yet (nothing to restore). A failing post_update hook is the seed's "service start" failure
 * (that is where services are restarted); a failing post_update_test is a failed health check.
 */
export function rollbackTrigger(step: Step): RollbackTrigger | null {
  switch (step.kind) {
    case "fetch":
    case "verify":
    case "rollout":
    case "conditionals":
    case "requirements":
      return null;
    case "hooks":
      return step.phase === "pre_update" ? null : "service_start_fail";
    case "tests":
      return "health_check_fail";
    case "apply":
    case "migrations":
    case "cleanup":
      return "critical_error";
  }
}

/** pre_update hooks may already have stopped services: from there on, rollback hooks run on failure. */
export function mayHaveStoppedServices(step: Step): boolean {
  return step.kind === "hooks" || rollbackTrigger(step) !== null;
}
