/** The rollout state machine's table (hub/rollouts/states.ts): its shape, its groups, its refusals. */
import { describe, expect, it } from "vitest";
import type {
  ProgressGroup as DashboardProgressGroup,
  RolloutAction as DashboardRolloutAction,
} from "../../../../dashboard/src/types.js";
import {
  ACTIVE_ROLLOUT_STATES,
  allowedRolloutActions,
  CANCELLABLE_DEPLOYMENT_STATES,
  cancelsUnsent,
  DELIVERABLE_DEPLOYMENT_STATES,
  DEPLOYMENT_PLANNED,
  type DeploymentEvent,
  type DeploymentState,
  deploymentStates,
  deploymentStep,
  deploymentTransitions,
  FAILED_DEPLOYMENT_STATES,
  FINAL_ROLLOUT_STATES,
  FINISHED_DEPLOYMENT_STATES,
  FORGETTABLE_DEPLOYMENT_STATES,
  FORGOTTEN_DEPLOYMENT_STATES,
  INELIGIBLE_FROM_STATES,
  isCompletedRollout,
  NOT_APPLICABLE_DEPLOYMENT_STATES,
  nextDeploymentState,
  nextRolloutState,
  PROGRESS_GROUP,
  type ProgressGroup,
  progressGroups,
  REDELIVERABLE_DEPLOYMENT_STATES,
  ROLLBACK_DELIVERABLE_STATES,
  ROLLBACK_FROM_STATES,
  ROLLBACK_REPORT_EVENT,
  ROLLBACK_ROLLOUT_STATES,
  ROLLBACK_TIMEOUT_STATES,
  ROLLOUT_START,
  type RolloutAction,
  type RolloutEvent,
  type RolloutState,
  RUNNING_ROLLOUT_STATES,
  rolloutActions,
  rolloutRefusal,
  rolloutStates,
  rolloutStep,
  rolloutTransitions,
  STALLED_DEPLOYMENT_STATES,
  UNSENT_DEPLOYMENT_STATES,
  UPDATE_REPORT_EVENT,
} from "../../../../hub/rollouts/states.js";

/** Every state reachable from `start` by following the table's moves. */
function reachable<S extends string>(
  start: readonly S[],
  table: Record<S, Record<string, S | undefined>>,
): S[] {
  const seen = new Set<S>(start);
  for (const s of seen) for (const to of Object.values(table[s])) if (to !== undefined) seen.add(to);
  return [...seen].sort();
}

// Compile-time checks: the dashboard's mirror of the names is the table's, and an unknown state or
// event is a type error (tsc -p tsconfig.tests.json runs in lint).
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const dashboardActions: Same<DashboardRolloutAction, RolloutAction> = true;
const dashboardGroups: Same<DashboardProgressGroup, ProgressGroup> = true;
// Never called: these lines only have to (not) compile.
const unknownNamesDoNotCompile = () => {
  // @ts-expect-error "pending" is not a rollout state
  nextRolloutState("pending", "advance");
  // @ts-expect-error "restart" is not a rollout event
  nextRolloutState("running", "restart");
  // @ts-expect-error "delivered" is not a deployment state
  nextDeploymentState("delivered", "send");
};

describe("the rollout state machine table", () => {
  it("reaches every rollout state from create, and every deployment state from planning", () => {
    expect(dashboardActions && dashboardGroups && typeof unknownNamesDoNotCompile).toBe("function");
    expect(reachable([ROLLOUT_START], rolloutTransitions)).toEqual([...rolloutStates].sort());
    const planned = Object.values(DEPLOYMENT_PLANNED);
    expect(reachable(planned, deploymentTransitions)).toEqual([...deploymentStates].sort());
  });

  it("derives the named groups from the table", () => {
    expect(ACTIVE_ROLLOUT_STATES).toEqual(["running", "paused"]);
    expect(FINAL_ROLLOUT_STATES).toEqual(["completed", "aborted", "failed"]);
    expect(RUNNING_ROLLOUT_STATES).toEqual(["running"]);
    // Where rollback instructions can be outstanding: never a running rollout (its wake-up skips them).
    expect(ROLLBACK_ROLLOUT_STATES).toEqual(["aborted", "failed"]);
    expect(rolloutStates.filter(isCompletedRollout)).toEqual(["completed"]);
    expect(DELIVERABLE_DEPLOYMENT_STATES).toEqual(["pending", "sent", "in_progress"]);
    expect(STALLED_DEPLOYMENT_STATES).toEqual(["sent", "in_progress"]);
    expect(UNSENT_DEPLOYMENT_STATES).toEqual(["pending"]);
    expect(REDELIVERABLE_DEPLOYMENT_STATES).toEqual(["timed_out"]);
    expect([...ROLLBACK_FROM_STATES].sort()).toEqual(["in_progress", "sent", "succeeded", "timed_out"]);
    expect([...FINISHED_DEPLOYMENT_STATES].sort()).toEqual([
      "cancelled",
      "failed",
      "forgotten",
      "not_applicable",
      "rolled_back",
      "succeeded",
      "timed_out",
    ]);
    expect(FAILED_DEPLOYMENT_STATES).toEqual(["failed", "timed_out", "rollback_timed_out"]);
    // An unanswered rollback instruction times out, and is still owed (sent again at hello).
    expect(ROLLBACK_TIMEOUT_STATES).toEqual(["rollback_pending"]);
    expect(ROLLBACK_DELIVERABLE_STATES).toEqual(["rollback_pending", "rollback_timed_out"]);
    // Unsent instructions of a rollout that will send nothing more: not a failure, not pending.
    expect(CANCELLABLE_DEPLOYMENT_STATES).toEqual(["pending"]);
    expect(rolloutStates.filter(cancelsUnsent)).toEqual(["aborted", "failed"]);
    // An agent whose hello leaves the app out is not sent what it still owes (a timeout too: it
    // would be retried), and is owed it again once it names the app.
    expect(INELIGIBLE_FROM_STATES).toEqual(["pending", "sent", "in_progress", "timed_out"]);
    expect(NOT_APPLICABLE_DEPLOYMENT_STATES).toEqual(["not_applicable"]);
    expect(nextDeploymentState("not_applicable", "report-failed")).toBeUndefined();
    // `agents forget` ends what its agent still owed, an update or a rollback (which would only
    // time out as a failure), and a new token brings it back owed it again.
    expect(FORGETTABLE_DEPLOYMENT_STATES).toEqual([
      "pending",
      "sent",
      "in_progress",
      "rollback_pending",
      "timed_out",
      "rollback_timed_out",
    ]);
    expect(FORGOTTEN_DEPLOYMENT_STATES).toEqual(["forgotten"]);
    expect(FAILED_DEPLOYMENT_STATES).not.toContain("forgotten");
    // Each deployment state falls in exactly one progress group, and every group is used.
    expect(Object.keys(PROGRESS_GROUP).sort()).toEqual([...deploymentStates].sort());
    expect([...new Set(Object.values(PROGRESS_GROUP))].sort()).toEqual([...progressGroups].sort());
  });

  it("final rollouts take no operator action but a rollback, and a failed one (already rolled back) none", () => {
    for (const state of FINAL_ROLLOUT_STATES) {
      const allowed = allowedRolloutActions(state);
      expect(
        allowed.every((a) => a === "abort-rollback"),
        state,
      ).toBe(true);
      // No engine decision moves a final rollout either: only a rollback of what it delivered.
      const moves = Object.keys(rolloutTransitions[state]);
      expect(
        moves.every((e) => e === "abort-rollback"),
        state,
      ).toBe(true);
    }
    expect(allowedRolloutActions("failed")).toEqual([]);
    expect(allowedRolloutActions("completed")).toEqual(["abort-rollback"]);
    expect(allowedRolloutActions("running")).toEqual(["advance", "pause", "abort", "abort-rollback"]);
    expect(allowedRolloutActions("paused")).toEqual(["resume", "abort", "abort-rollback"]);
    // Abort without rollback applies to exactly the active rollouts.
    expect(rolloutStates.filter((s) => nextRolloutState(s, "abort") !== undefined)).toEqual(
      ACTIVE_ROLLOUT_STATES,
    );
  });

  it("refuses illegal transitions: no move, a thrown step, a 409 text naming the state and what is allowed", () => {
    const illegal: [RolloutState, RolloutEvent][] = [
      ["paused", "advance"],
      ["completed", "advance"],
      ["running", "resume"],
      ["completed", "abort"],
      ["aborted", "abort"],
      ["failed", "abort-rollback"],
      ["paused", "complete"],
      ["failed", "resume"],
    ];
    for (const [from, event] of illegal) {
      expect(nextRolloutState(from, event), `${from} ${event}`).toBeUndefined();
      expect(() => rolloutStep(from, event)).toThrow(`no "${event}" from ${from}`);
    }
    for (const from of rolloutStates)
      for (const action of rolloutActions) {
        const refusal = rolloutRefusal("r1", from, action);
        if (nextRolloutState(from, action) !== undefined) expect(refusal).toBeUndefined();
        else expect(refusal).toMatch(new RegExp(`^rollout r1 is ${from}: `));
      }
    expect(rolloutRefusal("r1", "paused", "advance")).toBe(
      "rollout r1 is paused: advance applies to a running rollout; allowed now: resume, abort, abort with rollback",
    );
    expect(rolloutRefusal("r1", "completed", "abort")).toBe(
      "rollout r1 is completed: abort applies to a running or paused rollout; allowed now: abort with rollback",
    );
    expect(rolloutRefusal("r1", "failed", "abort-rollback")).toBe(
      "rollout r1 is failed: abort with rollback applies to a running, paused, completed or aborted rollout; a failed rollout allows no action",
    );
  });

  it("moves deployments by report outcome, and never undoes a rollback with a late update success", () => {
    const update = (from: DeploymentState, outcome: keyof typeof UPDATE_REPORT_EVENT) =>
      nextDeploymentState(from, UPDATE_REPORT_EVENT[outcome]);
    const rollback = (from: DeploymentState, outcome: keyof typeof ROLLBACK_REPORT_EVENT) =>
      nextDeploymentState(from, ROLLBACK_REPORT_EVENT[outcome]);
    for (const from of ["pending", "sent", "in_progress", "timed_out", "failed", "succeeded"] as const) {
      expect(update(from, "succeeded")).toBe("succeeded");
      for (const outcome of ["failed", "skipped", "rolled_back", "restore_failed"] as const)
        expect(update(from, outcome)).toBe("failed");
    }
    for (const outcome of Object.keys(UPDATE_REPORT_EVENT) as (keyof typeof UPDATE_REPORT_EVENT)[])
      expect(update("rolled_back", outcome), outcome).toBeUndefined();
    // Sent back while still updating: a success waits for the rollback; a failure is the update's
    // own (the host is back on the previous release, or never left it) and counts as failed; a
    // host whose restore failed still needs the rollback instruction.
    expect(update("rollback_pending", "succeeded")).toBeUndefined();
    for (const outcome of ["failed", "skipped", "rolled_back"] as const)
      expect(update("rollback_pending", outcome), outcome).toBe("failed");
    expect(update("rollback_pending", "restore_failed")).toBeUndefined();
    expect(rollback("rollback_pending", "succeeded")).toBe("rolled_back");
    expect(rollback("rollback_pending", "skipped")).toBe("rolled_back");
    expect(rollback("rollback_pending", "failed")).toBe("failed");
    expect(rollback("succeeded", "succeeded")).toBeUndefined();
    const illegal: [DeploymentState, DeploymentEvent][] = [
      ["sent", "send"],
      ["succeeded", "offline-timeout"],
      ["pending", "rollback"],
      ["rolled_back", "rollback"],
      ["failed", "progress"],
    ];
    for (const [from, event] of illegal) {
      expect(nextDeploymentState(from, event), `${from} ${event}`).toBeUndefined();
      expect(() => deploymentStep(from, event)).toThrow(`no "${event}" from ${from}`);
    }
  });
});
