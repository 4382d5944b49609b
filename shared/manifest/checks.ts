import { ConditionSyntaxError, parseCondition } from "../conditions/parse.js";
import type { KeyPath } from "../schema/key-path.js";
import type { Problem } from "../schema/problem.js";
import { compareVersions, isVersionLike } from "../versions.js";
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

/** Migration keys must be versions, and distinct ones: `1.2` and `v1.2.0` would run in no defined order. */
function migrationProblems(migrations: unknown): Problem[] {
  const problems: Problem[] = [];
  const seen: string[] = [];
  for (const [version] of entries(migrations)) {
    const path = ["migrations", version];
    if (!isVersionLike(version)) {
      problems.push(error(path, `${JSON.stringify(version)} is not a version, e.g. "1.2.0"`, "key"));
    }
    const same = seen.find((other) => compareVersions(other, version) === 0);
    if (same !== undefined) {
      const message = `${JSON.stringify(version)} is the same version as ${JSON.stringify(same)}; merge them`;
      problems.push(error(path, message, "key"));
    }
    seen.push(version);
  }
  return problems;
}

/**
 * A `directories` key that names no directory inside the app: the rule would silently apply to
 * nothing, so `"/srv/app/uploads": {preserve: true}` would leave uploads/ unprotected.
 */
function directoryProblem(dir: string): string | undefined {
  if (dir.startsWith("/")) return "directories are relative to the app directory; remove the leading /";
  if (dir.split("/").some((segment) => segment === "..")) return 'directories must not contain ".." segments';
  if (dir.split("/").every((segment) => segment === "" || segment === "."))
    return "names the app directory itself; name a directory inside it";
  return undefined;
}

/**
 * What the schema cannot check: a version that does not look like one (a warning), globs that
 * cannot match, migration keys that are not versions (or repeat one), and conditions that do not
 * parse. Works on the raw data so these problems come together with schema errors, not after.
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
  for (const [dir] of entries(data.directories)) {
    const problem = directoryProblem(dir);
    if (problem !== undefined) problems.push(error(["directories", dir], problem, "key"));
  }
  problems.push(...migrationProblems(data.migrations));
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
