import { HubRequestError } from "../errors.js";
import type { StoreOps } from "../store/async-store.js";
import type { DeploymentCount, RolloutRecord } from "../store/store.js";
import { FAILED_DEPLOYMENT_STATES, PROGRESS_GROUP } from "./states.js";

/**
 * Resuming after a halt accepts every failure so far (only new ones count toward the threshold). A caller that
 * says how many it saw (`failedSeen`, the view's `progress.failed`) accepts those only: failures
 * reported since (a halt while it stood paused by hand, another operator's view) are a 409 naming
 * them, so nobody accepts failures they never looked at. `counts` are the stored ones, before the
 * resume times out the agents whose timeout fell due while it stood paused: no view can show those
 * (a paused rollout times nobody out), so they are accepted and named instead (`timedOutWhilePaused`).
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

/**
 * What a resume says of the agents whose timeout fell due while the rollout stood paused and that
 * it counted as failed just now (`expired`: their deployment ids; those retried since are not
 * failed): failures no view showed before, named; undefined when none. `accepted`: the resume
 * follows a halt and accepts them; after a pause by hand they count toward the threshold.
 */
export async function timedOutWhilePaused(
  t: StoreOps,
  expired: readonly string[],
  accepted: boolean,
): Promise<string | undefined> {
  if (expired.length === 0) return undefined;
  const failed = (await t.getDeployments([...expired]))
    .filter((d) => FAILED_DEPLOYMENT_STATES.includes(d.state))
    .map((d) => d.agentId);
  if (failed.length === 0) return undefined;
  const shown =
    failed.slice(0, 10).join(", ") + (failed.length > 10 ? `, and ${failed.length - 10} more` : "");
  return `${failed.length} agent(s) stayed offline or silent past their timeout while the rollout stood paused (${shown}): counted as failed now, ${accepted ? "and accepted by this resume with the failures before" : "toward the threshold (the rollout was paused, not halted on it)"}`;
}
