/**
 * An agent of an older ship answers an update instruction it had declined (its app disabled, a
 * `skip_update` conditional, a manual intervention not yet approved), sent again once the host fits
 * the rollout again, from its record: the old answer under its old reportId. The hub had stored
 * that report, dropped the answer as a resend, and the deployment sat `sent` until the progress
 * timeout failed the wave — an hour by default, with nothing saying why.
 *
 * Agents that know better echo the instruction's `attempt` in each report (messages.ts). A resent
 * report without one, naming an update the hub sent this agent again (`attempts` above 1) and is
 * still waiting on (`sent`: no progress since), is that old answer: the agent will not carry the
 * instruction out, whatever it is sent. The deployment fails at once, saying which ship the agent
 * runs and to upgrade it. An older agent's resend from its outbox in that window reads the same;
 * the record's answer would follow it anyway.
 */
import type { Report } from "../../shared/protocol/messages.js";
import { parseDeploymentId } from "../../shared/protocol/messages.js";
import { textStart } from "../../shared/text-cut.js";
import type { StoreOps } from "../store/async-store.js";
import type { DeploymentRecord } from "../store/store.js";
import type { IncomingReport } from "./agent-sync.js";

/** The update deployment a resent report may be an older agent's record answer for. */
export function recordAnswerCandidate({ report }: IncomingReport): string | undefined {
  if (report.attempt !== undefined || report.deploymentId === undefined) return undefined;
  const parsed = parseDeploymentId(report.deploymentId);
  return parsed.rollback ? undefined : parsed.deploymentId;
}

/**
 * Of `resent` (reports the hub had stored before), those that are an older agent's record answer
 * to an instruction sent again, each as the failure it settles its deployment with.
 */
export async function recordAnswers(
  t: StoreOps,
  resent: readonly IncomingReport[],
  deployments: ReadonlyMap<string, DeploymentRecord>,
): Promise<IncomingReport[]> {
  const found = resent.filter((item) => {
    const id = recordAnswerCandidate(item);
    const d = id === undefined ? undefined : deployments.get(id);
    return d !== undefined && d.agentId === item.agentId && d.state === "sent" && d.attempts > 1;
  });
  if (found.length === 0) return [];
  const versions = new Map(
    (await t.getAgents([...new Set(found.map((item) => item.agentId))])).map((a) => [a.id, a.agentVersion]),
  );
  return found.map(({ agentId, report }) => ({
    agentId,
    report: {
      ...report,
      outcome: "failed",
      steps: [],
      error: notCarriedOut(report, versions.get(agentId)),
    },
  }));
}

/** The most of the old answer's error the new one quotes (a line an operator reads in a table). */
const QUOTED_ERROR = 200;

function notCarriedOut(old: Report, agentVersion: string | undefined): string {
  const was = old.error === undefined ? old.outcome : `${old.outcome}: ${textStart(old.error, QUOTED_ERROR)}`;
  const ship =
    agentVersion === undefined || agentVersion === "" ? "an older ship agent" : `ship agent ${agentVersion}`;
  return `the agent (${ship}) answered the instruction sent again with its earlier answer (${was}) instead of carrying it out: upgrade the agent`;
}
