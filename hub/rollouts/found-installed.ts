/** An agent owed a release it already runs is not sent it again: its deployment is done. */
import type { AppStatus } from "../../shared/protocol/messages.js";
import type { DeploymentUpdate } from "../store/async-store.js";
import type { DeploymentRecord, ReleaseRecord } from "../store/store.js";
import type { Dispatch } from "./dispatch.js";
import { nextDeploymentState } from "./states.js";

/** An app as a hello, the stored status or the preview's candidate names it. */
type AppFacts = { app: string; version?: string | null | undefined; releaseId?: string | undefined };

/** Whether `apps` (an agent's hello, or its stored status) says it runs `release` now. */
export function runsRelease(
  apps: readonly AppFacts[],
  release: Pick<ReleaseRecord, "id" | "app" | "version">,
): boolean {
  const status = apps.find((a) => a.app === release.app);
  if (!status) return false;
  // The id it names wins: one it rolled back to locally may share nothing else with the release.
  if (status.releaseId) return status.releaseId === release.id;
  return status.version === release.version;
}

/**
 * The app states in which an agent on a release does not run it well: a failed update left it in
 * place, or the restore after a failed update failed too. Such a host is not "already updated".
 */
const BROKEN_STATES: readonly string[] = ["failed_not_rolled_back", "restore_failed"];

/**
 * Why an agent whose `apps` say it runs `release` is broken on it, or undefined. The agent answers
 * an instruction for the version it runs with "already on it" (success), so sending it the release
 * again repairs nothing: the rollout counts it as failed and says why instead.
 */
export function brokenOnRelease(
  apps: readonly (AppFacts & { state?: string | undefined })[],
  release: Pick<ReleaseRecord, "id" | "app" | "version">,
): string | undefined {
  const status = apps.find((a) => a.app === release.app);
  if (!status?.state || !BROKEN_STATES.includes(status.state) || !runsRelease(apps, release))
    return undefined;
  return `not sent: the agent runs ${release.app} ${release.version} already, but its last run of it failed (${status.state}); it would only answer that it is on that version. Repair the host (or abort --rollback to send it back), then roll out again`;
}

/**
 * Of `ds` (deployments about to be sent or retried), those whose agent runs their release already
 * — by `apps` when given (the hello in hand), else by its stored status — are moved to `succeeded`
 * ("found-installed") with an event, and not sent. Returns the moved ones as they were before, and
 * the others, to send. A retried agent already on the release (it installed it while the hub
 * counted it as timed out, and its report was lost) is not made to run the update again.
 */
export async function settleInstalled(
  dispatch: Dispatch,
  ds: readonly DeploymentRecord[],
  actor: string,
  apps?: readonly Pick<AppStatus, "app" | "version" | "releaseId">[],
): Promise<{ installed: DeploymentRecord[]; toSend: DeploymentRecord[] }> {
  const installed: DeploymentRecord[] = [];
  const updates: DeploymentUpdate[] = [];
  const toSend: DeploymentRecord[] = [];
  const { t } = dispatch;
  // Without a hello in hand, what each agent runs is read for all of them at once.
  const stored =
    apps === undefined && ds.length > 0
      ? new Map((await t.getAgents([...new Set(ds.map((d) => d.agentId))])).map((a) => [a.id, a.apps]))
      : undefined;
  for (const d of ds) {
    const state = nextDeploymentState(d.state, "found-installed");
    // A batch of hellos asks for the same release: read once per transaction.
    const release =
      state === undefined
        ? undefined
        : await dispatch.once(`release:${d.desiredRelease}`, () => t.getRelease(d.desiredRelease));
    const runs = apps ?? stored?.get(d.agentId) ?? [];
    // Broken on it (its failed update left it in place): not done. Sent, the agent answers with
    // its report of that failure (the instruction it carried out already), which counts.
    if (state === undefined || !release || !runsRelease(runs, release) || brokenOnRelease(runs, release)) {
      toSend.push(d);
      continue;
    }
    installed.push(d);
    updates.push({ id: d.id, state, error: null, updatedAt: dispatch.now });
    dispatch.record({
      actor,
      kind: `deployment.${state}`,
      subject: d.id,
      data: {
        agent: d.agentId,
        was: d.state,
        found: `the agent runs ${release.app} ${release.version} already`,
      },
    });
  }
  if (updates.length > 0) await t.updateDeployments(updates);
  return { installed, toSend };
}
