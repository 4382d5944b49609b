/** An agent owed a release it already runs is not sent it again: its deployment is done. */
import type { AppStatus } from "../../shared/protocol/messages.js";
import type { DeploymentUpdate, StoreOps } from "../store/async-store.js";
import type { DeploymentRecord, ReleaseRecord } from "../store/store.js";
import type { Dispatch } from "./dispatch.js";
import { nextDeploymentState } from "./states.js";

/** An app as a hello, the stored status or the preview's candidate names it. */
type AppFacts = { app: string; version?: string | null | undefined; releaseId?: string | undefined };

/**
 * The app of each release id agents claim, as this hub knows it (`claimedReleaseApps`); an id
 * absent is no release of this hub.
 */
export type ReleaseApps = ReadonlyMap<string, string>;

/**
 * The release id an agent's status of `app` names, when it counts: only a release of that app on
 * this hub. The id is the agent's word: another app's release (or one this hub never had) would
 * otherwise be taken as what it runs — made its rollback target, or its version's release judged
 * not installed. Undefined: its version decides (the hub's release of that app and version).
 */
export function claimedRelease(
  status: AppFacts | undefined,
  app: string,
  releaseApps: ReleaseApps,
): string | undefined {
  const claimed = status?.releaseId;
  return claimed !== undefined && releaseApps.get(claimed) === app ? claimed : undefined;
}

/**
 * Whether `apps` (an agent's hello, or its stored status) says it runs `release` now: the one rule
 * the rollout's plan (`RolloutEngine.installedRelease`), its warnings and the found-installed
 * retries all follow.
 */
export function runsRelease(
  apps: readonly AppFacts[],
  release: Pick<ReleaseRecord, "id" | "app" | "version">,
  releaseApps: ReleaseApps,
): boolean {
  const status = apps.find((a) => a.app === release.app);
  if (!status) return false;
  // The id it names wins: one it rolled back to locally may share nothing else with the release.
  const claimed = claimedRelease(status, release.app, releaseApps);
  if (claimed !== undefined) return claimed === release.id;
  return status.version === release.version;
}

/** `releaseApps` for the release ids `agents` claim for `app`: one read per distinct id. */
export async function claimedReleaseApps(
  t: Pick<StoreOps, "getRelease">,
  app: string,
  agents: readonly { apps: readonly AppFacts[] }[],
  once: <T>(key: string, read: () => Promise<T>) => Promise<T> = (_key, read) => read(),
): Promise<Map<string, string>> {
  const ids = new Set<string>();
  for (const agent of agents) {
    const claimed = agent.apps.find((a) => a.app === app)?.releaseId;
    if (claimed) ids.add(claimed);
  }
  const known = new Map<string, string>();
  for (const id of ids) {
    const release = await once(`release:${id}`, () => t.getRelease(id));
    if (release) known.set(id, release.app);
  }
  return known;
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
  releaseApps: ReleaseApps,
): string | undefined {
  const status = apps.find((a) => a.app === release.app);
  if (!status?.state || !BROKEN_STATES.includes(status.state) || !runsRelease(apps, release, releaseApps))
    return undefined;
  return `not sent: the agent runs ${release.app} ${release.version} already, but its last run of it failed (${status.state}); it would only answer that it is on that version. Repair the host (or abort --rollback to send it back), then roll out again`;
}

/**
 * Of `ds` (deployments about to be sent or retried), those whose agent runs their release already
 * — by `apps` when given (the hello in hand), else by its stored status — and that were never
 * handed to it are moved to `succeeded` ("found-installed") with an event, and not sent. Returns
 * the moved ones as they were before, and the others, to send.
 *
 * One handed out (`attempts`) is sent again instead, whatever the agent says it runs: only its
 * report tells whether the update passed. An agent of an older ship announces the release's files
 * as installed while its post_update_test still runs, and the hub passed the canary on that hello
 * before its test failed. Sent again, a real agent answers an instruction it carried out with its
 * report (from its record, the same reportId; its outbox resends it on connect anyway), one under
 * way by carrying on with it, and one it never got with "already on the instructed version".
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
  const unsent = ds.filter((d) => d.attempts === 0);
  const stored =
    apps === undefined && unsent.length > 0
      ? new Map((await t.getAgents([...new Set(unsent.map((d) => d.agentId))])).map((a) => [a.id, a.apps]))
      : undefined;
  // The release ids the agents claim, read once: whether a claim counts is `runsRelease`'s rule.
  const releaseApps = new Map<string, string>();
  for (const d of ds) {
    // Handed out: its report decides (above), not what the agent says it runs.
    const state = d.attempts > 0 ? undefined : nextDeploymentState(d.state, "found-installed");
    // A batch of hellos asks for the same release: read once per transaction.
    const release =
      state === undefined
        ? undefined
        : await dispatch.once(`release:${d.desiredRelease}`, () => t.getRelease(d.desiredRelease));
    const runs = apps ?? stored?.get(d.agentId) ?? [];
    if (release)
      for (const [id, app] of await claimedReleaseApps(
        t,
        release.app,
        [{ apps: runs }],
        dispatch.once.bind(dispatch),
      ))
        releaseApps.set(id, app);
    // Broken on it (its failed update left it in place): not done. Sent, the agent answers with
    // its report of that failure (the instruction it carried out already), which counts.
    if (
      state === undefined ||
      !release ||
      !runsRelease(runs, release, releaseApps) ||
      brokenOnRelease(runs, release, releaseApps)
    ) {
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
