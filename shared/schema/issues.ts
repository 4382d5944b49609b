import type { Issue } from "../errors.js";
import { formatKeyPath } from "./key-path.js";
import type { Problem } from "./problem.js";

export interface Position {
  line: number;
  column: number;
}

/** Positions problems in their file and orders them as they appear, so output reads top to bottom. */
export function toIssues(
  problems: readonly Problem[],
  file: string,
  positionOf: (problem: Problem) => Position | undefined,
): Issue[] {
  const issues = problems.map((problem): Issue => {
    const at = positionOf(problem);
    const base = {
      file,
      path: formatKeyPath(problem.path),
      message: problem.message,
      severity: problem.severity,
    };
    return at === undefined ? base : { ...base, line: at.line, column: at.column };
  });
  return issues
    .map((issue, index) => ({ issue, index }))
    .sort(
      (a, b) =>
        (a.issue.line ?? Number.MAX_SAFE_INTEGER) - (b.issue.line ?? Number.MAX_SAFE_INTEGER) ||
        (a.issue.column ?? 0) - (b.issue.column ?? 0) ||
        a.index - b.index,
    )
    .map(({ issue }) => issue);
}
