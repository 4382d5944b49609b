/**
 * The manifest's `conditionals` on this host: what each condition says and what the update should
 * do about it. Used by the pipeline (before requirements) and by `ship --test-conditionals`.
 */
import { type ConditionExpr, formatCondition, runsCommand } from "../../shared/conditions/ast.js";
import {
  type ConditionContext,
  explainCondition,
  type Observation,
} from "../../shared/conditions/evaluate.js";
import { ConditionSyntaxError, parseCondition } from "../../shared/conditions/parse.js";
import { BadInputError, type Issue } from "../../shared/errors.js";
import type { Conditional } from "../../shared/manifest/schema.js";
import { quotedCommand } from "../exec/quoted-command.js";

/**
 * proceed: nothing stops the update. skip: a `skip_update` condition holds; try again next run.
 * manual: a `require_manual_intervention` condition holds; a person must act first. When both
 * hold, manual wins: skipping quietly would hide steps someone has to take anyway.
 */
export type ConditionalsDecision = "proceed" | "skip" | "manual";

export interface ConditionalOutcome {
  condition: string;
  /**
   * The condition as a run's messages (warnings, skip and failure reasons, notifications) quote it:
   * each `command('…')` by its program, since the line may carry a secret (quoted-command.ts).
   */
  said: string;
  result: boolean;
  /**
   * The result depends on the version of an app ship did not install (result is then false). A
   * require_manual_intervention condition counts as holding: a person knows what is installed.
   */
  undetermined: boolean;
  action: Conditional["action"];
  message: string | undefined;
  manual_steps: string[];
  /** Host facts the condition looked at, e.g. `file_exists('/x') = false`. */
  observations: Observation[];
}

export interface ConditionalsVerdict {
  decision: ConditionalsDecision;
  outcomes: ConditionalOutcome[];
  /** Messages of `warn` conditions that hold. */
  warnings: string[];
  /** Steps of every `require_manual_intervention` condition that holds, in manifest order. */
  manualSteps: string[];
  /** One line per condition that holds with skip_update or require_manual_intervention. */
  reasons: string[];
  /** The lines of the skip_update conditions among them: they still hold once manual steps are approved. */
  skipReasons: string[];
}

/**
 * Parses every condition before running any (a typo in the last must not leave the first's
 * command() half-acted on), then evaluates them all in order so the report is complete.
 */
export async function evaluateConditionals(
  conditionals: readonly Conditional[],
  ctx: ConditionContext,
  options: { file?: string } = {},
): Promise<ConditionalsVerdict> {
  const parsed = parseAll(conditionals, options.file ?? "update-manifest.yaml");
  const outcomes: ConditionalOutcome[] = [];
  for (const [i, conditional] of conditionals.entries()) {
    const expr = parsed[i]!;
    const { result, undetermined, observations } = await explainCondition(expr, ctx, {
      commandTimeoutSeconds: conditional.timeout,
      shownCommand: quotedCommand,
    });
    outcomes.push({
      condition: conditional.condition,
      said: runsCommand(expr) ? formatCondition(expr, quotedCommand) : conditional.condition,
      result,
      undetermined,
      action: conditional.action,
      message: conditional.message,
      manual_steps: conditional.manual_steps,
      observations,
    });
  }
  const holding = outcomes.filter((o) => o.result);
  const describe = (o: ConditionalOutcome) =>
    o.undetermined
      ? `${o.message ?? `condition may hold: ${o.said}`} (${UNKNOWN_VERSION})`
      : (o.message ?? `condition holds: ${o.said}`);
  // An app ship did not install may be the 1.x a manual stop is for: ask rather than install.
  // A skip is not taken on a guess (nothing would ever install), nor is a warning given as fact.
  const manual = outcomes.filter(
    (o) => o.action === "require_manual_intervention" && (o.result || o.undetermined),
  );
  const skip = holding.filter((o) => o.action === "skip_update");
  const undecided = outcomes
    .filter((o) => o.undetermined && o.action !== "require_manual_intervention")
    .map(
      (o) =>
        `${o.said} (${o.action}) is not decided: ${UNKNOWN_VERSION}; it is taken as not holding${o.action === "warn" && o.message !== undefined ? ` (its warning: ${o.message})` : ""}`,
    );
  return {
    decision: manual.length > 0 ? "manual" : skip.length > 0 ? "skip" : "proceed",
    outcomes,
    warnings: [...holding.filter((o) => o.action === "warn").map(describe), ...undecided],
    manualSteps: manual.flatMap((o) => o.manual_steps),
    reasons: [...manual, ...skip].map(describe),
    skipReasons: skip.map(describe),
  };
}

export const UNKNOWN_VERSION =
  "the installed version is unknown: ship did not install the app in app_dir, and has no record of its version";

function parseAll(conditionals: readonly Conditional[], file: string): ConditionExpr[] {
  const issues: Issue[] = [];
  const parsed = conditionals.map((c, i) => {
    try {
      return parseCondition(c.condition);
    } catch (error) {
      if (!(error instanceof ConditionSyntaxError)) throw error;
      issues.push({
        file,
        path: `conditionals[${i}].condition`,
        message: `${error.message} (at character ${error.offset + 1} of ${JSON.stringify(c.condition)})`,
        severity: "error",
      });
      return undefined;
    }
  });
  if (issues.length > 0) throw new BadInputError(issues);
  return parsed as ConditionExpr[];
}
