import { Minimatch } from "minimatch";
import type { FileRule, Manifest } from "./schema.js";

export interface MatchedRule {
  /** The `files` key that matched, or null when no rule names the file (the default applies). */
  pattern: string | null;
  rule: FileRule;
}

/** Files no rule names are replaced, like the seed did. */
export const DEFAULT_FILE_RULE: FileRule = Object.freeze({
  action: "replace",
  merge_strategy: "preserve_user",
  backup: false,
}) as FileRule;

// Compiling a glob is far costlier than matching; an app has thousands of files and a few rules.
const compiled = new WeakMap<Manifest, [string, Minimatch, FileRule][]>();

function globsOf(manifest: Manifest): [string, Minimatch, FileRule][] {
  let globs = compiled.get(manifest);
  if (globs === undefined) {
    globs = Object.entries(manifest.files).map(([pattern, rule]) => [
      pattern,
      new Minimatch(pattern, { dot: true, matchBase: false }),
      rule,
    ]);
    compiled.set(manifest, globs);
  }
  return globs;
}

function normalise(relPath: string): string {
  // Asked once or twice per app file: skip the regexes when there is no "./" or trailing "/".
  if (!relPath.startsWith("./") && !relPath.endsWith("/")) return relPath;
  return relPath.replace(/^(\.\/)+/, "").replace(/\/+$/, "");
}

/**
 * The rule for a file (path relative to the app root, `/`-separated): an exact `files` key wins,
 * then the first glob that matches in file order (dotfiles included), else DEFAULT_FILE_RULE.
 */
export function findFileRule(manifest: Manifest, relPath: string): MatchedRule {
  const path = normalise(relPath);
  const exact = Object.hasOwn(manifest.files, path) ? manifest.files[path] : undefined;
  if (exact !== undefined) return { pattern: path, rule: exact };
  for (const [pattern, matcher, rule] of globsOf(manifest)) {
    if (matcher.match(path)) return { pattern, rule };
  }
  return { pattern: null, rule: DEFAULT_FILE_RULE };
}

/**
 * The preserved `directories` entry (as written in the manifest) that contains relPath or is
 * relPath, matching whole path segments so `data` protects `data/x` but not `database.py`. The
 * most specific entry decides: `data/cache` with preserve: false under a preserved `data` is not
 * protected.
 */
export function protectedDirectoryOf(manifest: Manifest, relPath: string): string | null {
  const path = normalise(relPath);
  let best: { key: string; length: number; preserve: boolean } | null = null;
  for (const [key, rule] of Object.entries(manifest.directories)) {
    const dir = normalise(key);
    if (dir === "" || (path !== dir && !path.startsWith(`${dir}/`))) continue;
    if (best === null || dir.length > best.length)
      best = { key, length: dir.length, preserve: rule.preserve };
  }
  return best?.preserve ? best.key : null;
}
