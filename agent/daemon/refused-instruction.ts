/**
 * An instruction the agent refused before running it (its app disabled or gone from ship.toml, a
 * rollback to a release this host never ran, a release for another app) is no finished
 * instruction: what the hub sends again later (the app enabled again, a rollout resumed, a
 * rollback re-sent on hello) is asked of the host as it is then. Answered from the record, the old
 * refusal went back with its old reportId, which the hub had stored (and, for a deployment not
 * applicable then, not counted): it dropped it as a resend, and the deployment waited as `sent`
 * until its progress timeout failed the wave.
 */
import type { Report } from "../../shared/protocol/messages.js";

/** Whether a finished instruction's report refused it: it ran no step and did not succeed. */
export function refusedBeforeRun(report: Report): boolean {
  return report.outcome !== "succeeded" && report.steps.length === 0;
}
