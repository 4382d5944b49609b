import { ConditionSyntaxError, parseCondition } from "../conditions/parse.js";
import type { KeyPath } from "../schema/key-path.js";
import type { Problem } from "../schema/problem.js";
import { isVersionLike } from "../versions.js";
import { globProblem } from "./glob-check.js";

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function entries(value: unknown): [string, unknown][] {
  return isRecord(value) ? Object.entries(value) : [];
}

function items(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function error(path: KeyPath, message: string, at: "key" | "value", offset?: number): Problem {
  return offset === undefined
    ? { path, message, severity: "error", at }
    : { path, message, severity: "error", at, offset };
}

/** A condition that does not parse, pointed at the offending character (empty ones are the schema's). */
function conditionProblem(path: KeyPath, text: unknown): Problem[] {
  if (typeof text !== "string" || text === "") return [];
  try {
    parseCondition(text);
    return [];
  } catch (e) {
    if (!(e instanceof ConditionSyntaxError)) throw e;
    return [error(path, `invalid condition: ${e.message}`, "value", e.offset)];
  }
}

/**
 * What the schema cannot check: a version that does not look like one (a warning), globs that
 * cannot match, migration keys that are not versions, and conditions that do not parse. Works on
 * the raw data so these problems are reported together with schema errors instead of after them.
 */
export function manifestChecks(data: unknown): Problem[] {
  const problems: Problem[] = [];
  if (!isRecord(data)) return problems;
  if (typeof data.version === "string" && data.version !== "" && !isVersionLike(data.version)) {
    const message = `${JSON.stringify(data.version)} does not look like a version (e.g. "1.2.3"); it is ordered as text`;
    problems.push({ path: ["version"], message, severity: "warning", at: "value" });
  }
  for (const [pattern] of entries(data.files)) {
    const problem = globProblem(pattern);
    if (problem !== undefined) problems.push(error(["files", pattern], problem, "key"));
  }
  for (const [version] of entries(data.migrations)) {
    if (!isVersionLike(version)) {
      problems.push(
        error(["migrations", version], `${JSON.stringify(version)} is not a version, e.g. "1.2.0"`, "key"),
      );
    }
  }
  items(data.conditionals).forEach((conditional, i) => {
    const text = isRecord(conditional) ? conditional.condition : undefined;
    problems.push(...conditionProblem(["conditionals", i, "condition"], text));
  });
  const rollout = isRecord(data.rollout) ? data.rollout : {};
  items(rollout.stages).forEach((stage, i) => {
    const text = isRecord(stage) ? stage.criteria : undefined;
    problems.push(...conditionProblem(["rollout", "stages", i, "criteria"], text));
  });
  return problems;
}
