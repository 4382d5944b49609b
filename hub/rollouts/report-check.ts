/**
 * An agent's report checked against the hub's rows before it changes what the fleet shows. The
 * hub trusts its own rows over the report's words: a buggy or old client named `app: "web"` in a
 * report of an `api` update, and the host's web app read as failed.
 *
 * Per field (README, "Hub/agent protocol"):
 * - `deploymentId` the hub does not know, or another agent's: refused (no app status, no result).
 * - `releaseId` other than the release its deployment sent: refused alike.
 * - `app`: the release's app (the deployment's, else the named release's when the hub has it).
 * - `toVersion` of a success: the release's version.
 * - `installedReleaseId` of another app's release: dropped.
 * A report without a deployment or a release the hub knows (a run by hand, a hubless release)
 * has nothing to check against and is taken as the agent's word, as its hello is.
 */
import type { Report } from "../../shared/protocol/messages.js";
import { parseDeploymentId } from "../../shared/protocol/messages.js";
import type { DeploymentRecord, ReleaseRecord } from "../store/store.js";
import type { IncomingReport } from "./agent-sync.js";
import type { Dispatch } from "./dispatch.js";

export interface CheckedReports {
  /** The reports that may change the agents' app statuses, their fields as the hub's rows say. */
  reports: IncomingReport[];
  /** One line per field taken from the hub's rows or report refused. */
  corrections: { agentId: string; reason: string }[];
}

export async function checkReports(
  dispatch: Dispatch,
  fresh: readonly IncomingReport[],
  deployments: ReadonlyMap<string, DeploymentRecord>,
): Promise<CheckedReports> {
  const { t } = dispatch;
  // One read per distinct release of the batch (a batch names a few), shared with the transaction.
  const release = (id: string | null | undefined): Promise<ReleaseRecord | undefined> =>
    id ? dispatch.once(`release:${id}`, () => t.getRelease(id)) : Promise.resolve(undefined);
  const reports: IncomingReport[] = [];
  const corrections: CheckedReports["corrections"] = [];
  for (const item of fresh) {
    const { agentId, report } = item;
    const say = (reason: string) =>
      corrections.push({ agentId, reason: `report ${report.reportId}: ${reason}` });
    let sent: ReleaseRecord | undefined;
    if (report.deploymentId !== undefined) {
      const parsed = parseDeploymentId(report.deploymentId);
      const d = deployments.get(parsed.deploymentId);
      if (!d || d.agentId !== agentId) {
        say(
          `refused: deployment ${parsed.deploymentId} is ${d ? "another agent's" : "not known to the hub"}`,
        );
        continue;
      }
      const sentId = parsed.rollback ? d.previousRelease : d.desiredRelease;
      if (report.releaseId !== undefined && sentId !== null && report.releaseId !== sentId) {
        say(`refused: release ${report.releaseId} is not ${sentId}, the release deployment ${d.id} sent`);
        continue;
      }
      sent = await release(sentId ?? report.releaseId);
    } else sent = await release(report.releaseId);
    if (!sent) {
      reports.push(item);
      continue;
    }
    let checked: Report = report;
    if (report.app !== sent.app) {
      say(`app "${report.app}" taken as "${sent.app}", the app of release ${sent.id}`);
      checked = { ...checked, app: sent.app };
    }
    if (report.outcome === "succeeded" && report.toVersion !== sent.version) {
      say(`toVersion "${report.toVersion}" taken as "${sent.version}", the version of release ${sent.id}`);
      checked = { ...checked, toVersion: sent.version };
    }
    if (report.installedReleaseId !== undefined && report.installedReleaseId !== sent.id) {
      const installed = await release(report.installedReleaseId);
      if (installed && installed.app !== sent.app) {
        say(`installedReleaseId ${installed.id} dropped: a release of "${installed.app}", not "${sent.app}"`);
        const { installedReleaseId: _, ...rest } = checked;
        checked = rest;
      }
    }
    reports.push(checked === report ? item : { agentId, report: checked });
  }
  return { reports, corrections };
}
