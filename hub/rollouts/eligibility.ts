/**
 * An agent's hello names the apps it takes and the labels it carries. A deployment its agent no
 * longer fits (the operator set `enabled = false` or removed the source while the agent was away,
 * or relabelled it out of the rollout's selector) would be refused by the agent, or would put a
 * release on a host the operator took out of the rollout; a refusal would read as a failure of
 * the release and halt the rollout on it. It is `not_applicable` instead, and owed again once a
 * hello fits the rollout again.
 */
import type { Hello } from "../../shared/protocol/messages.js";
import type { DeploymentUpdate } from "../store/async-store.js";
import type { DeploymentRecord, RolloutRecord } from "../store/store.js";
import type { Dispatch } from "./dispatch.js";
import type { RolloutEngine } from "./engine.js";
import { isEligible } from "./membership.js";
import { ROLLBACK_FORGOTTEN } from "./rollback-result.js";
import {
  AT_WORK_DEPLOYMENT_STATES,
  cancelsUnsent,
  deploymentStep,
  FAILED_DEPLOYMENT_STATES,
  FORGOTTEN_DEPLOYMENT_STATES,
  INELIGIBLE_FROM_STATES,
  isCompletedRollout,
  NOT_APPLICABLE_DEPLOYMENT_STATES,
  nextDeploymentState,
} from "./states.js";

/**
 * Moves `history` (all of one agent's deployments) by what its hello announces: open deployments
 * of a rollout it no longer fits (app not named, selector's labels not carried) become
 * `not_applicable`, except those it was handed already while it still takes the app; not-applicable ones of a rollout it fits again are `pending` again while the
 * rollout may still send (not aborted or failed), as are those its agent was forgotten in (it is
 * back, with a new token). Returns the history as it is now, for the
 * hello's reconciliation that follows.
 */
export async function settleEligibility(
  engine: RolloutEngine,
  dispatch: Dispatch,
  agentId: string,
  hello: Pick<Hello, "apps" | "labels">,
  history: readonly DeploymentRecord[],
  readRollout: (id: string) => Promise<RolloutRecord | undefined>,
  actor: string,
  /** Whether a later rollout of the app exists: the fleet moved on from this rollout's release. */
  overtaken: (rollout: RolloutRecord) => Promise<boolean>,
): Promise<DeploymentRecord[]> {
  const { t } = dispatch;
  const candidate = { id: agentId, apps: hello.apps, labels: hello.labels };
  const updates: DeploymentUpdate[] = [];
  const left = new Map<string, DeploymentRecord[]>();
  const now = dispatch.now;
  const result: DeploymentRecord[] = [];
  for (const d of history) {
    const leaving = INELIGIBLE_FROM_STATES.includes(d.state);
    // A forgotten agent back with a new token is owed the release again, as one that fits again is.
    const forgotten = FORGOTTEN_DEPLOYMENT_STATES.includes(d.state);
    const back = forgotten || NOT_APPLICABLE_DEPLOYMENT_STATES.includes(d.state);
    if (!leaving && !back) {
      result.push(d);
      continue;
    }
    const app = (await dispatch.once(`release:${d.desiredRelease}`, () => t.getRelease(d.desiredRelease)))
      ?.app;
    const rollout = await readRollout(d.rolloutId);
    let next: DeploymentRecord | undefined;
    const fits = app !== undefined && rollout !== undefined && isEligible(rollout.spec, app, candidate);
    // Holding the release already (it told the hub it is at work on it: progress, a run started)
    // and still taking the app (relabelled out of the selector): the agent carries out the
    // instruction it has whatever its labels, so its wave waits for the run and counts its report.
    // Marked not applicable, the rollout completed "0 failed" while the host was still updating,
    // and then failed. One merely sent may never have got it: it is not sent again. Only an agent
    // that dropped the app refuses the instruction.
    const handedOver =
      (AT_WORK_DEPLOYMENT_STATES.includes(d.state) || (d.started ?? 0) > 0) &&
      candidate.apps.some((a) => a.app === app);
    if (forgotten && (d.error ?? "").startsWith(ROLLBACK_FORGOTTEN)) {
      // Its rollout ended (aborted or failed) but the host may still run the release it was to
      // leave: the rollback is owed again, whatever the app or labels it announces now.
      next = { ...d, state: deploymentStep(d.state, "rejoin-rollback"), error: null, updatedAt: now };
    } else if (leaving && app !== undefined && rollout && !fits && !handedOver) {
      const state = nextDeploymentState(d.state, "ineligible");
      // Handed to it before (a report of a run it had begun may still come): not "not sent".
      const sent =
        d.attempts > 0
          ? "it was sent the release before and is not sent it again: a report of its run still counts"
          : "not sent";
      const error = `not applicable: ${agentId} ${whyNot(app, rollout, candidate)}; ${sent}`;
      if (state !== undefined) next = { ...d, state, error, updatedAt: now };
      if (FAILED_DEPLOYMENT_STATES.includes(d.state))
        left.set(d.rolloutId, [...(left.get(d.rolloutId) ?? []), d]);
    } else if (
      back &&
      rollout &&
      fits &&
      !cancelsUnsent(rollout.state) &&
      // A completed rollout still sends its release to a latecomer, unless the app was rolled out
      // again since (the agent, out of the app then, was not planned by that later rollout).
      !(isCompletedRollout(rollout.state) && (await overtaken(rollout)))
    ) {
      const state = nextDeploymentState(d.state, forgotten ? "rejoin" : "eligible");
      if (state !== undefined) next = { ...d, state, error: null, updatedAt: now };
    }
    if (next === undefined) {
      result.push(d);
      continue;
    }
    updates.push({ id: next.id, state: next.state, error: next.error, updatedAt: now });
    // Its rollout may be held (paused) on a wave this agent now fills or empties again: no tick
    // evaluates a paused rollout, and its reason must say what holds now.
    dispatch.evaluateLater(d.rolloutId);
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

/** Why an agent no longer fits the rollout, as its hello says. */
function whyNot(app: string, rollout: RolloutRecord, agent: Pick<Hello, "apps" | "labels">): string {
  if (!agent.apps.some((a) => a.app === app))
    return `no longer takes app ${app} (its hello leaves it out: [sources.${app}] removed or enabled = false in its ship.toml)`;
  const wanted = Object.entries(rollout.spec.selector?.labels ?? {});
  const missing = wanted.filter(([k, v]) => agent.labels[k] !== v).map(([k, v]) => `${k}=${v}`);
  return `no longer matches the rollout's selector (its labels lack ${missing.join(",")})`;
}
