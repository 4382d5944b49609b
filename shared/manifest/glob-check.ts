import { Minimatch } from "minimatch";
import { relativePatternProblem } from "../schema/path-pattern.js";

function unbalanced(pattern: string, open: string, close: string): boolean {
  let depth = 0;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === "\\") i++;
    else if (c === open) depth++;
    else if (c === close && depth > 0) depth--;
  }
  return depth > 0;
}

/**
 * Why a `files` pattern cannot do what its author meant, or undefined when it is fine. minimatch
 * accepts almost anything (an unclosed `[` silently becomes a literal), so the mistakes that would
 * make a rule match nothing, or match outside the app, are caught here.
 */
export function globProblem(pattern: string): string | undefined {
  const relative = relativePatternProblem(pattern);
  if (relative !== undefined) return relative;
  if (unbalanced(pattern, "[", "]")) return 'unclosed "[" in glob (escape it as "\\[" to match it literally)';
  if (unbalanced(pattern, "{", "}")) return 'unclosed "{" in glob (escape it as "\\{" to match it literally)';
  const re = new Minimatch(pattern, { dot: true }).makeRe();
  if (re === false || re.source.includes("$.")) return "invalid glob: it can never match a path";
  return undefined;
}
