/**
 * A host whose deployment succeeded (or that was found on the release) may leave the release while
 * its rollout is still under way: `ship --rollback` or a restore by hand, the automatic rollback of
 * a later run. Counted `succeeded` still, its wave passed when its wait was up and the rest of the
 * fleet got a release the canary no longer ran. What the agent says it runs now (its hello, which a
 * hand change makes it send again, or the status a report left) re-judges it: `left-release`, a
 * failure naming what the host runs, weighed against the threshold at once. Back on the release,
 * it is on it again (`back-on-release`): a failure it no longer is would hold or halt the wave for
 * nothing. A finished rollout (completed or aborted) keeps its history: it says what happened while
 * it ran.
 */
import type { AppStatus } from "../../shared/protocol/messages.js";
import type { DeploymentUpdate } from "../store/async-store.js";
import type { DeploymentRecord, ReleaseRecord, RolloutRecord } from "../store/store.js";
import type { Dispatch } from "./dispatch.js";
import { brokenOnRelease, claimedReleaseApps, runsRelease } from "./found-installed.js";
import { deploymentStep, LEAVABLE_DEPLOYMENT_STATES, nextDeploymentState } from "./states.js";

/** A rollout still under way (running or paused) and its release: the only ones re-judged. */
export type ActiveRollout = { rollout: RolloutRecord; release: ReleaseRecord | undefined };

/** How a left release's error starts (the views and tests read it). */
export const LEFT_RELEASE = "left";
/** How the error of a host broken on the release by a later run starts. */
const BROKEN_ON = "broken on";

/** "left web 2.0.0 after it succeeded: the host runs web 1.0.0 now (rolled_back): …". */
export function leftReleaseError(release: Pick<ReleaseRecord, "app" | "version">, status: AppStatus): string {
  const runs = status.version === null ? "no known version of it" : `${release.app} ${status.version}`;
  return `${LEFT_RELEASE} ${release.app} ${release.version} after it succeeded: the host runs ${runs} now (${status.state}): no longer on the release, it does not count as updated`;
}

/** What `settleLeftRelease` made of one agent's deployments. */
export interface SettledLeftRelease {
  /** The history as it is now. */
  history: DeploymentRecord[];
  /** Those failed for leaving their release that are back on it (`back-on-release`), as they were. */
  back: DeploymentRecord[];
}

/**
 * Moves those of `history` (one agent's deployments) that count as on their release, in a rollout
 * still active, to `failed` when `apps` (what the agent says it runs) names another release of the
 * app, or the release with a later run of it failed there (left in place, a failed restore). An app
 * `apps` leaves out is not judged here: the agent no longer takes it (eligibility). One failed so
 * whose host runs the release well again is `succeeded` once more (`back-on-release`).
 */
export async function settleLeftRelease(
  dispatch: Dispatch,
  history: readonly DeploymentRecord[],
  apps: readonly AppStatus[],
  /** The active rollouts and their releases, by id (read once per transaction by the caller). */
  active: ReadonlyMap<string, ActiveRollout>,
  actor: string,
): Promise<SettledLeftRelease> {
  const { t } = dispatch;
  const updates: DeploymentUpdate[] = [];
  const result: DeploymentRecord[] = [];
  const back: DeploymentRecord[] = [];
  for (const d of history) {
    const run = active.get(d.rolloutId);
    const move = run ? await judged(dispatch, d, run.release, apps) : undefined;
    if (move === undefined) {
      result.push(d);
      continue;
    }
    const next = {
      ...d,
      state: deploymentStep(d.state, move.event),
      error: move.error,
      updatedAt: dispatch.now,
    };
    updates.push({ id: d.id, state: next.state, error: move.error, updatedAt: dispatch.now });
    dispatch.record({
      actor,
      kind: `deployment.${next.state}`,
      subject: d.id,
      data: {
        agent: d.agentId,
        was: d.state,
        ...(move.error === null ? { back: move.why } : { error: move.error }),
      },
    });
    if (move.event === "back-on-release") back.push(d);
    // A failure may cross the threshold, in a running rollout or a paused one (which no tick weighs).
    else dispatch.evaluateLater(d.rolloutId);
    result.push(next);
  }
  if (updates.length > 0) await t.updateDeployments(updates);
  return { history: result, back };
}

/** A failure `settleLeftRelease` wrote: the host left its release, or broke on it, after it succeeded. */
export function leftReleaseFailure(d: Pick<DeploymentRecord, "state" | "error">): boolean {
  return (
    nextDeploymentState(d.state, "back-on-release") !== undefined &&
    (d.error?.startsWith(`${LEFT_RELEASE} `) === true || d.error?.startsWith(`${BROKEN_ON} `) === true)
  );
}

/** The move `apps` makes `d` take, with its error (null: none) and why; undefined for none. */
async function judged(
  dispatch: Dispatch,
  d: DeploymentRecord,
  release: ReleaseRecord | undefined,
  apps: readonly AppStatus[],
): Promise<{ event: "left-release" | "back-on-release"; error: string | null; why: string } | undefined> {
  if (LEAVABLE_DEPLOYMENT_STATES.includes(d.state)) {
    const left = await leftWhat(dispatch, release, apps);
    return left && { event: "left-release", error: left.error, why: left.error };
  }
  if (!release || !leftReleaseFailure(d) || !apps.some((a) => a.app === release.app)) return undefined;
  if ((await leftWhat(dispatch, release, apps)) !== undefined) return undefined;
  return {
    event: "back-on-release",
    error: null,
    why: `the host runs ${release.app} ${release.version} again`,
  };
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
  return `${BROKEN_ON} ${release.app} ${release.version} after it succeeded: a later run of it failed on the host (${status.state}): it does not count as updated`;
}
