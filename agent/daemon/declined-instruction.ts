/**
 * An instruction the agent declined installs nothing and is no finished instruction: refused
 * before it ran (its app disabled or gone from ship.toml, a rollback to a release this host never
 * ran, a release for another app) or skipped on a conditional (`skip_update`, a manual
 * intervention not yet approved). What the hub sends again later (the app enabled again, the host
 * back in the selector, a rollout resumed, a rollback asked again) is asked of the host as it
 * is then. Answered from the record, the old answer went back with its old reportId, which the
 * hub had stored (and, for a deployment not applicable then, not counted): it dropped it as a
 * resend, and the deployment waited as `sent` until its progress timeout failed the wave.
 */
import type { Report } from "../../shared/protocol/messages.js";

/** Whether a finished instruction's report declined it: skipped, or no step run and no success. */
export function declined(report: Report): boolean {
  return report.outcome === "skipped" || (report.outcome !== "succeeded" && report.steps.length === 0);
}
