/**
 * What an agent's report says a deployment came to (messages.ts Report.outcome). Kept here, not in
 * messages.ts: the CLI's state file needs the names, and importing them from there built every hub
 * message schema on each `ship` start (a rollback's included).
 */
export const reportOutcomes = ["succeeded", "failed", "rolled_back", "restore_failed", "skipped"] as const;
export type ReportOutcome = (typeof reportOutcomes)[number];

/**
 * What the last run of a source did. failed_unchanged: stopped before changing a file (exit 1, or 2
 * for bad input such as a refused downgrade); refused: another run held the app's lock (exit 75);
 * rolled_back: a rollback asked for by name (`ship --rollback`, the hub's) put an earlier release back.
 * The agent keeps it in its state file; the hub filters agents by it.
 */
export const runResults = [
  "updated",
  "rolled_back",
  "up_to_date",
  "skipped",
  "manual_intervention_required",
  "failed_unchanged",
  "failed_restored",
  "failed_not_rolled_back",
  "restore_failed",
  "refused",
] as const;
export type RunResult = (typeof runResults)[number];

/**
 * Every `state` the hub shows for an agent's app: the last run's result the agent announces in its
 * hello ("unknown" before its first run), or the outcome of the report it sent last.
 */
export const APP_STATES = [...new Set([...runResults, ...reportOutcomes, "unknown"])];
