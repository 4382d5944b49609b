/**
 * A host whose deployment succeeded (or that was found on the release) may leave the release while
 * its rollout is still under way: `ship --rollback` or a restore by hand, the automatic rollback of
 * a later run. Counted `succeeded` still, its wave passed when its wait was up and the rest of the
 * fleet got a release the canary no longer ran. What the agent says it runs now (its hello, which a
 * hand change makes it send again, or the status a report left) re-judges it: `left-release`, a
 * failure naming what the host runs, weighed against the threshold at once. A finished rollout
 * (completed or aborted) keeps its history: it says what happened while it ran.
 */
import type { AppStatus } from "../../shared/protocol/messages.js";
import type { DeploymentUpdate } from "../store/async-store.js";
import type { DeploymentRecord, ReleaseRecord, RolloutRecord } from "../store/store.js";
import type { Dispatch } from "./dispatch.js";
import { brokenOnRelease, claimedReleaseApps, runsRelease } from "./found-installed.js";
import { deploymentStep, LEAVABLE_DEPLOYMENT_STATES } from "./states.js";

/** A rollout still under way (running or paused) and its release: the only ones re-judged. */
export type ActiveRollout = { rollout: RolloutRecord; release: ReleaseRecord | undefined };

/** How a left release's error starts (the views and tests read it). */
export const LEFT_RELEASE = "left";

/** "left web 2.0.0 after it succeeded: the host runs web 1.0.0 now (rolled_back): …". */
export function leftReleaseError(release: Pick<ReleaseRecord, "app" | "version">, status: AppStatus): string {
  const runs = status.version === null ? "no known version of it" : `${release.app} ${status.version}`;
  return `${LEFT_RELEASE} ${release.app} ${release.version} after it succeeded: the host runs ${runs} now (${status.state}): no longer on the release, it does not count as updated`;
}

/**
 * Moves those of `history` (one agent's deployments) that count as on their release, in a rollout
 * still active, to `failed` when `apps` (what the agent says it runs) names another release of the
 * app, or the release with a later run of it failed there (left in place, a failed restore). An app `apps` leaves out is not judged here: the agent no longer takes it (eligibility).
 * Returns the history as it is now.
 */
export async function settleLeftRelease(
  dispatch: Dispatch,
  history: readonly DeploymentRecord[],
  apps: readonly AppStatus[],
  /** The active rollouts and their releases, by id (read once per transaction by the caller). */
  active: ReadonlyMap<string, ActiveRollout>,
  actor: string,
): Promise<DeploymentRecord[]> {
  const { t } = dispatch;
  const updates: DeploymentUpdate[] = [];
  const result: DeploymentRecord[] = [];
  for (const d of history) {
    const run = active.get(d.rolloutId);
    const left =
      run && LEAVABLE_DEPLOYMENT_STATES.includes(d.state)
        ? await leftWhat(dispatch, run.release, apps)
        : undefined;
    if (left === undefined) {
      result.push(d);
      continue;
    }
    const { error } = left;
    const next = { ...d, state: deploymentStep(d.state, "left-release"), error, updatedAt: dispatch.now };
    updates.push({ id: d.id, state: next.state, error, updatedAt: dispatch.now });
    dispatch.record({
      actor,
      kind: `deployment.${next.state}`,
      subject: d.id,
      data: { agent: d.agentId, was: d.state, error },
    });
    // A failure may cross the threshold, in a running rollout or a paused one (which no tick weighs).
    dispatch.evaluateLater(d.rolloutId);
    result.push(next);
  }
  if (updates.length > 0) await t.updateDeployments(updates);
  return result;
}

/**
 * The release its host was counted on, what the host runs instead (or how it broke on it), and the
 * deployment's error; undefined while it still runs the release well.
 */
async function leftWhat(
  dispatch: Dispatch,
  release: ReleaseRecord | undefined,
  apps: readonly AppStatus[],
): Promise<{ release: ReleaseRecord; status: AppStatus; error: string } | undefined> {
  const status = release && apps.find((a) => a.app === release.app);
  if (!release || !status) return undefined;
  const releaseApps = await claimedReleaseApps(
    dispatch.t,
    release.app,
    [{ apps }],
    dispatch.once.bind(dispatch),
  );
  if (!runsRelease(apps, release, releaseApps))
    return { release, status, error: leftReleaseError(release, status) };
  // Still on it, but a later run of it failed there (left in place, or a failed restore): the rule
  // that keeps such a host from being found updated (`brokenOnRelease`) holds here too.
  if (brokenOnRelease(apps, release, releaseApps) === undefined) return undefined;
  return { release, status, error: brokenError(release, status) };
}

/** "broken on web 2.0.0 after it succeeded: a later run of it failed there (restore_failed): …". */
function brokenError(release: Pick<ReleaseRecord, "app" | "version">, status: AppStatus): string {
  return `broken on ${release.app} ${release.version} after it succeeded: a later run of it failed on the host (${status.state}): it does not count as updated`;
}
