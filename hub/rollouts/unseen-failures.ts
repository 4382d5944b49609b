import { HubRequestError } from "../errors.js";
import type { DeploymentCount, RolloutRecord } from "../store/store.js";
import { PROGRESS_GROUP } from "./states.js";

/**
 * Resuming accepts every failure so far (only new ones count toward the threshold). A caller that
 * says how many it saw (`failedSeen`, the view's `progress.failed`) accepts those only: failures
 * that came in since (a halt while it stood paused by hand, another operator's view, timeouts that
 * fell due) are a 409 naming them, so nobody accepts failures they never looked at.
 */
export function refuseUnseenFailures(
  rollout: RolloutRecord,
  counts: readonly DeploymentCount[],
  failedSeen: number | undefined,
): void {
  if (failedSeen === undefined) return;
  let failed = 0;
  for (const c of counts) if (PROGRESS_GROUP[c.state] === "failed") failed += c.count;
  if (failed > failedSeen)
    throw new HubRequestError(
      409,
      `rollout ${rollout.id} has ${failed} failed agent(s) now, not the ${failedSeen} this resume was decided on (${rollout.reason ?? rollout.state}): look at them, and resume again to accept all ${failed}`,
    );
}
