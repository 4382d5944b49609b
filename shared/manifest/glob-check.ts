import { Minimatch } from "minimatch";

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
  if (pattern.startsWith("/")) return "patterns are relative to the app directory; remove the leading /";
  if (pattern.split("/").some((segment) => segment === ".."))
    return 'patterns must not contain ".." segments';
  if (pattern.endsWith("/"))
    return `ends with "/" and matches no file; use "${pattern}**" for the files under it`;
  if (unbalanced(pattern, "[", "]")) return 'unclosed "[" in glob (escape it as "\\[" to match it literally)';
  if (unbalanced(pattern, "{", "}")) return 'unclosed "{" in glob (escape it as "\\{" to match it literally)';
  const re = new Minimatch(pattern, { dot: true }).makeRe();
  if (re === false || re.source.includes("$.")) return "invalid glob: it can never match a path";
  return undefined;
}
