/** A rollout that ended before some of its agents were sent the release: those are told apart. */
import type { RolloutRecord, RolloutState } from "../store/store.js";
import type { Dispatch } from "./dispatch.js";
import { CANCELLABLE_DEPLOYMENT_STATES, cancelsUnsent, deploymentStep } from "./states.js";

/**
 * Moves every deployment of `rollout` never sent (pending, in any wave) to `cancelled` with its
 * event, when the rollout enters `to` and will send nothing more (aborted, or failed on its
 * threshold): the API, `rollout show` and the dashboard then say these agents will not be updated,
 * and the wave's figures add up to its members. Returns how many.
 */
export async function cancelUnsent(
  dispatch: Dispatch,
  rollout: RolloutRecord,
  to: RolloutState,
  actor: string,
): Promise<number> {
  if (!cancelsUnsent(to)) return 0;
  const unsent = await dispatch.t.listStalledDeployments({
    rolloutId: rollout.id,
    maxWave: rollout.spec.waves.length,
    states: CANCELLABLE_DEPLOYMENT_STATES,
    updatedBefore: Number.MAX_SAFE_INTEGER,
  });
  const now = dispatch.now;
  const error = `cancelled: the rollout is ${to} and will not send the release to this agent`;
  const updates = unsent.map((d) => {
    const state = deploymentStep(d.state, "cancel");
    dispatch.record({ actor, kind: `deployment.${state}`, subject: d.id, data: { agent: d.agentId, error } });
    return { id: d.id, state, error, updatedAt: now };
  });
  if (updates.length > 0) await dispatch.t.updateDeployments(updates);
  return updates.length;
}
