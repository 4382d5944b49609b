/** An agent owed a release it already runs is not sent it again: its deployment is done. */
import type { AppStatus } from "../../shared/protocol/messages.js";
import type { DeploymentUpdate } from "../store/async-store.js";
import type { DeploymentRecord, ReleaseRecord } from "../store/store.js";
import type { Dispatch } from "./dispatch.js";
import { nextDeploymentState } from "./states.js";

/** Whether `apps` (an agent's hello, or its stored status) says it runs `release` now. */
export function runsRelease(
  apps: readonly Pick<AppStatus, "app" | "version" | "releaseId">[],
  release: Pick<ReleaseRecord, "id" | "app" | "version">,
): boolean {
  const status = apps.find((a) => a.app === release.app);
  if (!status) return false;
  // The id it names wins: one it rolled back to locally may share nothing else with the release.
  if (status.releaseId) return status.releaseId === release.id;
  return status.version === release.version;
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
    if (state === undefined || !release || !runsRelease(runs, release)) {
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
