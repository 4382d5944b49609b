/**
 * `ship-hub agents forget`: a decommissioned host leaves the rollouts under way as well as the
 * fleet. Its open deployments there would otherwise time out as failures (halting a canary with
 * nothing wrong in the release) or, once forgotten, wait for an agent that never comes back. They
 * end `forgotten`: neither a failure nor a success, and not a member of its wave either, so a wave
 * whose agents were all forgotten tested nothing and is held as such wherever it sits
 * (`stuckWaveReason`; a last wave: `emptyCompletionReason`).
 */
import { isoTime, type ShownTime } from "../shown-time.js";
import type { DeploymentRecord } from "../store/store.js";
import type { Dispatch } from "./dispatch.js";
import type { RolloutEngine } from "./engine.js";
import { ROLLBACK_FORGOTTEN_AFTER } from "./rollback-result.js";
import {
  ACTIVE_ROLLOUT_STATES,
  deploymentStep,
  FAILED_DEPLOYMENT_STATES,
  FORGETTABLE_DEPLOYMENT_STATES,
  isRollbackDeliverable,
} from "./states.js";

/**
 * The ids of the active rollouts that held an unfinished deployment of `agentId`, now forgotten,
 * and of the finished ones whose rollback instruction it still owed, ended too.
 */
export async function forgetOpenDeployments(
  engine: RolloutEngine,
  dispatch: Dispatch,
  agentId: string,
  actor: string,
  /** How the error texts write the time (the API's shown time: they are read, never compared). */
  shown: ShownTime = isoTime,
): Promise<{ active: string[]; rollbacks: string[] }> {
  const { t } = dispatch;
  const now = dispatch.now;
  const open = (await t.listDeployments({ agentId })).filter((d) =>
    FORGETTABLE_DEPLOYMENT_STATES.includes(d.state),
  );
  if (open.length === 0) return { active: [], rollbacks: [] };
  const when = `${actor} at ${shown(now)} (\`ship-hub agents forget\`)`;
  const error = (d: DeploymentRecord) =>
    isRollbackDeliverable(d.state)
      ? `${ROLLBACK_FORGOTTEN_AFTER}${when}: not rolled back by this rollout (it may still run the release), counted neither as failed nor as rolled back; sent again if it connects with a new token`
      : `agent forgotten by ${when}: not updated by this rollout, counted neither as failed nor as succeeded`;
  const accepted = new Map<string, DeploymentRecord[]>();
  const active: string[] = [];
  const rollbacks: string[] = [];
  for (const d of open) {
    const state = deploymentStep(d.state, "forget");
    if (isRollbackDeliverable(d.state) && !rollbacks.includes(d.rolloutId)) rollbacks.push(d.rolloutId);
    dispatch.record({
      actor,
      kind: `deployment.${state}`,
      subject: d.id,
      data: { agent: agentId, was: d.state },
    });
    if (FAILED_DEPLOYMENT_STATES.includes(d.state))
      accepted.set(d.rolloutId, [...(accepted.get(d.rolloutId) ?? []), d]);
    const rollout = await t.getRollout(d.rolloutId);
    if (rollout && ACTIVE_ROLLOUT_STATES.includes(rollout.state)) {
      if (!active.includes(rollout.id)) active.push(rollout.id);
      // Its wave may be done now (every other agent finished), or empty: decided in this transaction.
      dispatch.evaluateLater(rollout.id);
    }
  }
  await t.updateDeployments(
    open.map((d) => ({
      id: d.id,
      state: deploymentStep(d.state, "forget"),
      error: error(d),
      updatedAt: now,
    })),
  );
  // A timeout an operator accepted by resuming is no failure now: it leaves the allowance, or the
  // allowance would let the next real failure pass the threshold unseen.
  for (const [rolloutId, ds] of accepted) {
    const rollout = await t.lockRollout(rolloutId);
    if (rollout && ACTIVE_ROLLOUT_STATES.includes(rollout.state))
      await engine.unaccept(dispatch, rollout, ds);
  }
  return { active, rollbacks };
}
