/**
 * When each stage of a standalone staged rollout opens: stage k opens at `start` plus the
 * wait_hours of every stage before it (a stage's wait_hours is how long it runs alone).
 */
import { BadInputError } from "../../shared/errors.js";
import { parseRolloutDate } from "../../shared/manifest/rollout-date.js";
import type { Manifest } from "../../shared/manifest/schema.js";

export interface ScheduledStage {
  index: number;
  name: string;
  /** Cumulative share of hosts (0..100) this stage reaches. */
  percentage: number;
  criteria: string | undefined;
  opensAt: Date;
}

const HOUR_MS = 3_600_000;
/** The latest time a Date holds; stages that would open later (many long waits) open "then". */
const LAST_DATE_MS = 8.64e15;

export function scheduleStages(
  manifest: Pick<Manifest, "release_date" | "rollout">,
  file = "update-manifest.yaml",
): ScheduledStage[] {
  const rollout = manifest.rollout;
  if (rollout === undefined) return [];
  const startText = rollout.start ?? manifest.release_date;
  const key = rollout.start !== undefined ? "rollout.start" : "release_date";
  if (startText === undefined) {
    throw BadInputError.single(file, "rollout.start", "a staged rollout needs rollout.start or release_date");
  }
  const start = parseRolloutDate(startText);
  if (!start.ok) throw BadInputError.single(file, key, start.why);
  let opensAt = start.ms;
  return rollout.stages.map((stage, index) => {
    const scheduled: ScheduledStage = {
      index,
      name: stage.name ?? `stage ${index + 1}`,
      percentage: stage.percentage,
      criteria: stage.criteria,
      opensAt: new Date(opensAt),
    };
    opensAt = Math.min(opensAt + stage.wait_hours * HOUR_MS, LAST_DATE_MS);
    return scheduled;
  });
}
