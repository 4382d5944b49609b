import { compileGlob, firstSegmentOf, type GlobMatcher } from "./glob-matcher.js";
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

/** What no rule names gets: one object for every such file (an app's files are nearly all such). */
const DEFAULT_MATCH: MatchedRule = Object.freeze({ pattern: null, rule: DEFAULT_FILE_RULE });

/** A glob, and the answer it gives (made once: a rule lookup per app file builds no object). */
type Glob = [pattern: string, matcher: GlobMatcher, rule: FileRule, matched: MatchedRule];

/** What a directory's files can match: read once per directory, not once per file. */
interface DirRules {
  /** The index in `globs` of the first skip rule matching this directory or one above it (globs.length when none). */
  skip: number;
  /** The globs before `skip` that can match a path under this directory's first segment, in file order. */
  candidates: readonly Glob[];
}

interface CompiledRules {
  /** Each `files` key's answer for the path it names exactly. */
  exact: Map<string, MatchedRule>;
  globs: Glob[];
  dirs: Map<string, DirRules>;
  /**
   * The directory asked last and its rules: a listing names a directory's files together, and
   * slicing each path's directory to look it up cost a string and its hash per file.
   */
  lastDir: string | undefined;
  lastRules: DirRules | undefined;
}

/**
 * Per manifest: its `files` globs compiled (compiling is far costlier than matching; an app has
 * thousands of files and a few rules), and per directory what its files can match. Directories
 * are far fewer than files and each builds on its parent, so each directory is matched once, and
 * a file in a directory no glob can reach (`d042/` under `config/*.toml` and `logs/**`) asks no glob.
 */
const compiled = new WeakMap<Manifest, CompiledRules>();

function compiledOf(manifest: Manifest): CompiledRules {
  let found = compiled.get(manifest);
  if (found === undefined) {
    const entries = Object.entries(manifest.files);
    found = {
      exact: new Map(entries.map(([pattern, rule]) => [pattern, Object.freeze({ pattern, rule })])),
      globs: entries.map(([pattern, rule]) => [
        pattern,
        compileGlob(pattern, { dot: true, matchBase: false }),
        rule,
        Object.freeze({ pattern, rule }),
      ]),
      dirs: new Map(),
      lastDir: undefined,
      lastRules: undefined,
    };
    compiled.set(manifest, found);
  }
  return found;
}

function normalise(relPath: string): string {
  // Asked once or twice per app file: skip the regexes when there is no "./" or trailing "/".
  if (!relPath.startsWith("./") && !relPath.endsWith("/")) return relPath;
  return relPath.replace(/^(\.\/)+/, "").replace(/\/+$/, "");
}

/**
 * The rule for a file (path relative to the app root, `/`-separated): an exact `files` key wins,
 * then the first rule in file order whose glob matches the path (dotfiles included), else
 * DEFAULT_FILE_RULE. A `skip` rule whose glob (or key) names a directory above the file counts as
 * matching it: `secrets/*` marks `secrets/db` "never touch", so `secrets/db/password` is skipped
 * too. The seed's globs crossed directories (Python's fnmatch lets `*` match `/`), and a skip rule
 * exists to protect: honouring it one level deep only would overwrite the operator's nested
 * secrets. Other actions match files only (minimatch: `*` stops at `/`). The answer is shared
 * (frozen): callers read it.
 */
export function findFileRule(manifest: Manifest, relPath: string): MatchedRule {
  const path = normalise(relPath);
  const rules = compiledOf(manifest);
  const exact = rules.exact.get(path);
  if (exact !== undefined) return exact;
  const { globs } = rules;
  if (globs.length === 0) return DEFAULT_MATCH;
  const slash = path.lastIndexOf("/");
  // Only rules before the first skip rule covering a parent directory can still win.
  let skip = globs.length;
  let candidates: readonly Glob[] = globs;
  if (slash >= 0) ({ skip, candidates } = rulesOfDirectory(rules, path, slash));
  for (let i = 0; i < candidates.length; i++) {
    const [, matcher, , matched] = candidates[i] as Glob;
    if (matcher.match(path)) return matched;
  }
  return globs[skip]?.[3] ?? DEFAULT_MATCH;
}

/** The rules of the directory of `path` (which ends at `slash`), the last one asked answering first. */
function rulesOfDirectory(rules: CompiledRules, path: string, slash: number): DirRules {
  const last = rules.lastDir;
  if (last !== undefined && last.length === slash && path.startsWith(last))
    return rules.lastRules as DirRules;
  const dir = path.slice(0, slash);
  const found = dirRulesOf(rules.globs, rules.dirs, dir);
  rules.lastDir = dir;
  rules.lastRules = found;
  return found;
}

function dirRulesOf(globs: Glob[], known: Map<string, DirRules>, dir: string): DirRules {
  const cached = known.get(dir);
  if (cached !== undefined) return cached;
  const slash = dir.lastIndexOf("/");
  let skip = slash < 0 ? globs.length : dirRulesOf(globs, known, dir.slice(0, slash)).skip;
  for (let i = 0; i < skip; i++) {
    const [pattern, matcher, rule] = globs[i] as Glob;
    if (rule.action === "skip" && (pattern === dir || matcher.match(dir))) {
      skip = i;
      break;
    }
  }
  const first = firstSegmentOf(dir);
  const candidates = globs.slice(0, skip).filter(([, matcher]) => matcher.admits(first));
  const found = { skip, candidates };
  known.set(dir, found);
  return found;
}

/**
 * The preserved `directories` entry (as written in the manifest) that contains relPath or is
 * relPath, matching whole path segments so `data` protects `data/x` but not `database.py`. The
 * most specific entry decides: `data/cache` with preserve: false under a preserved `data` is not
 * protected.
 */
export function protectedDirectoryOf(
  manifest: { directories: Record<string, { preserve: boolean }> },
  relPath: string,
): string | null {
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
