/**
 * `ship --check-rollout` and the standalone pipeline: does this host take part in a manifest's
 * staged rollout right now? No hub is involved; every host decides alone, and all agree because
 * the bucket is a stable hash of (manifest version, host id), never a per-process random hash.
 *
 * A host takes part once some stage that has opened covers its bucket (percentages are
 * cumulative: 5, 25, 100) and the host meets that stage's criteria. Because any opened stage
 * counts, a host that joined stays in as later stages open, even if their criteria differ.
 */
import { type ConditionExpr, formatCondition, runsCommand } from "../../shared/conditions/ast.js";
import { type ConditionContext, explainCondition } from "../../shared/conditions/evaluate.js";
import { ConditionSyntaxError, parseCondition } from "../../shared/conditions/parse.js";
import { BadInputError, type Issue } from "../../shared/errors.js";
import type { Manifest } from "../../shared/manifest/schema.js";
import { bucketOf, bucketWithin } from "../../shared/rollout/bucket.js";
import { UNKNOWN_VERSION } from "../conditions/evaluate-conditionals.js";
import { quotedCommand } from "../exec/quoted-command.js";
import { type ScheduledStage, scheduleStages } from "./schedule.js";

export interface StageInfo {
  index: number;
  name: string;
  percentage: number;
  opensAt: string;
}

export interface RolloutEligibility {
  eligible: boolean;
  /** The stage open now; null when there is no staged rollout or it has not started. */
  stage: StageInfo | null;
  /** The stage through which this host takes part, when eligible. */
  joinedVia: StageInfo | null;
  /** The stage that opens next, if any. */
  nextStage: StageInfo | null;
  /** 0..9999; null when the rollout is not staged. */
  bucket: number | null;
  reason: string;
}

export interface EligibilityOptions {
  hostId: string;
  now: Date;
  /** Evaluates stage criteria on this host. */
  conditionContext: ConditionContext;
  file?: string;
}

export async function checkRolloutEligibility(
  manifest: Pick<Manifest, "version" | "release_date" | "rollout">,
  options: EligibilityOptions,
): Promise<RolloutEligibility> {
  const none = { stage: null, joinedVia: null, nextStage: null, bucket: null };
  const rollout = manifest.rollout;
  if (rollout === undefined)
    return { eligible: true, ...none, reason: "no rollout section: every host takes part" };
  if (rollout.strategy === "immediate") {
    return { eligible: true, ...none, reason: "rollout strategy is immediate: every host takes part" };
  }
  if (rollout.stages.length === 0) {
    return { eligible: true, ...none, reason: "staged rollout without stages: every host takes part" };
  }

  const file = options.file ?? "update-manifest.yaml";
  const stages = scheduleStages(manifest, file);
  const criteria = parseCriteria(stages, file);
  const bucket = bucketOf(manifest.version, options.hostId);
  const now = options.now.getTime();
  const opened = stages.filter((s) => s.opensAt.getTime() <= now);
  const upcoming = stages.find((s) => s.opensAt.getTime() > now);
  const base = { bucket, stage: info(opened.at(-1)), nextStage: info(upcoming) };

  if (opened.length === 0) {
    return {
      eligible: false,
      ...base,
      joinedVia: null,
      reason: `the rollout starts at ${stages[0]!.opensAt.toISOString()}`,
    };
  }
  const covering = opened.filter((s) => bucketWithin(bucket, s.percentage));
  const unmet: Unmet[] = [];
  for (const stage of covering) {
    const expr = criteria[stage.index];
    const verdict = expr === undefined ? undefined : await explainCondition(expr, options.conditionContext);
    if (expr === undefined || verdict === undefined || verdict.result) {
      const reason = `bucket ${bucket} is within ${stage.name} (${stage.percentage} %)${expr === undefined ? "" : " and this host meets its criteria"}`;
      return { eligible: true, ...base, joinedVia: info(stage), reason };
    }
    // As a conditional's reason quotes it: a command line's arguments may carry a secret.
    const said = runsCommand(expr) ? formatCondition(expr, quotedCommand) : (stage.criteria ?? "");
    unmet.push({ ...stage, undetermined: verdict.undetermined, said });
  }
  return { eligible: false, ...base, joinedVia: null, reason: notYetReason(bucket, stages, opened, unmet) };
}

/**
 * A stage whose criteria this host did not meet; undetermined: they compare an unknown version;
 * said: the criteria as the reason quotes them.
 */
type Unmet = ScheduledStage & { undetermined: boolean; said: string };

function notYetReason(
  bucket: number,
  stages: ScheduledStage[],
  opened: ScheduledStage[],
  unmet: Unmet[],
): string {
  const current = opened.at(-1)!;
  const later = stages.find((s) => s.index > current.index && bucketWithin(bucket, s.percentage));
  const waiting =
    later === undefined
      ? ""
      : `; ${later.name} (${later.percentage} %) opens at ${later.opensAt.toISOString()}`;
  if (unmet.length > 0) {
    const which = unmet.map((s) => `${s.name}: ${s.said}`).join("; ");
    // Read as false, an unknown version would keep the host out for good with nothing saying why:
    // it gets a version only by an install, which this very rollout holds back.
    const unknown = unmet.some((s) => s.undetermined)
      ? `; not decided: ${UNKNOWN_VERSION}, so the criteria are taken as not met until it has one`
      : "";
    return `bucket ${bucket} is covered, but this host does not meet the criteria (${which})${unknown}${waiting}`;
  }
  if (later !== undefined)
    return `bucket ${bucket} is not within ${current.name} (${current.percentage} %)${waiting}`;
  const final = Math.max(...stages.map((s) => s.percentage));
  return `bucket ${bucket} is beyond every stage (at most ${final} %): this host is not part of this rollout`;
}

function parseCriteria(stages: ScheduledStage[], file: string): (ConditionExpr | undefined)[] {
  const issues: Issue[] = [];
  const parsed = stages.map((stage) => {
    if (stage.criteria === undefined) return undefined;
    try {
      return parseCondition(stage.criteria);
    } catch (error) {
      if (!(error instanceof ConditionSyntaxError)) throw error;
      issues.push({
        file,
        path: `rollout.stages[${stage.index}].criteria`,
        message: `${error.message} (at character ${error.offset + 1} of ${JSON.stringify(stage.criteria)})`,
        severity: "error",
      });
      return undefined;
    }
  });
  if (issues.length > 0) throw new BadInputError(issues);
  return parsed;
}

function info(stage: ScheduledStage | undefined): StageInfo | null {
  if (stage === undefined) return null;
  return {
    index: stage.index,
    name: stage.name,
    percentage: stage.percentage,
    opensAt: stage.opensAt.toISOString(),
  };
}
