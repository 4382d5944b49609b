/**
 * An agent's hello names the apps it takes. A deployment of an app its hello leaves out (the
 * operator set `enabled = false`, or removed the source, while the agent was away) would be refused
 * by the agent, and the rollout would read that refusal as a failure of the release and halt on it:
 * it is `not_applicable` instead, and owed again once a hello names the app.
 */
import type { Hello } from "../../shared/protocol/messages.js";
import type { DeploymentUpdate } from "../store/async-store.js";
import type { DeploymentRecord, RolloutRecord } from "../store/store.js";
import type { Dispatch } from "./dispatch.js";
import type { RolloutEngine } from "./engine.js";
import {
  cancelsUnsent,
  FAILED_DEPLOYMENT_STATES,
  NOT_APPLICABLE_DEPLOYMENT_STATES,
  nextDeploymentState,
  UNANNOUNCEABLE_DEPLOYMENT_STATES,
} from "./states.js";

/**
 * Moves `history` (all of one agent's deployments) by what its hello announces: open deployments
 * of an app it no longer names become `not_applicable`; not-applicable ones of an app it names
 * again are `pending` again while their rollout may still send (not aborted or failed). Returns
 * the history as it is now, for the hello's reconciliation that follows.
 */
export async function settleAnnounced(
  engine: RolloutEngine,
  dispatch: Dispatch,
  agentId: string,
  apps: Hello["apps"],
  history: readonly DeploymentRecord[],
  readRollout: (id: string) => Promise<RolloutRecord | undefined>,
  actor: string,
): Promise<DeploymentRecord[]> {
  const { t } = dispatch;
  const named = new Set(apps.map((a) => a.app));
  const updates: DeploymentUpdate[] = [];
  const left = new Map<string, DeploymentRecord[]>();
  const now = dispatch.now;
  const result: DeploymentRecord[] = [];
  for (const d of history) {
    const leaving = UNANNOUNCEABLE_DEPLOYMENT_STATES.includes(d.state);
    const back = NOT_APPLICABLE_DEPLOYMENT_STATES.includes(d.state);
    if (!leaving && !back) {
      result.push(d);
      continue;
    }
    const app = (await dispatch.once(`release:${d.desiredRelease}`, () => t.getRelease(d.desiredRelease)))
      ?.app;
    const rollout = await readRollout(d.rolloutId);
    let next: DeploymentRecord | undefined;
    if (leaving && app !== undefined && !named.has(app)) {
      const state = nextDeploymentState(d.state, "unannounced");
      const error = `not applicable: ${agentId} no longer takes app ${app} (its hello leaves it out: [sources.${app}] removed or enabled = false in its ship.toml); not sent`;
      if (state !== undefined) next = { ...d, state, error, updatedAt: now };
      if (FAILED_DEPLOYMENT_STATES.includes(d.state))
        left.set(d.rolloutId, [...(left.get(d.rolloutId) ?? []), d]);
    } else if (back && app !== undefined && named.has(app) && rollout && !cancelsUnsent(rollout.state)) {
      const state = nextDeploymentState(d.state, "announced");
      if (state !== undefined) next = { ...d, state, error: null, updatedAt: now };
    }
    if (next === undefined) {
      result.push(d);
      continue;
    }
    updates.push({ id: next.id, state: next.state, error: next.error, updatedAt: now });
    dispatch.record({
      actor,
      kind: `deployment.${next.state}`,
      subject: d.id,
      data: { agent: agentId, was: d.state, ...(next.error ? { error: next.error } : { app }) },
    });
    result.push(next);
  }
  if (updates.length > 0) await t.updateDeployments(updates);
  // A timeout that no longer counts leaves the failure allowance an operator's resume granted it.
  for (const [rolloutId, ds] of left) {
    const rollout = await t.lockRollout(rolloutId);
    if (rollout) await engine.unaccept(dispatch, rollout, ds);
  }
  return result;
}
