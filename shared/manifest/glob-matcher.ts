import { GLOBSTAR, Minimatch, type MinimatchOptions } from "minimatch";

/** A compiled `files` glob: `match` answers exactly as minimatch's own `match` does. */
export interface GlobMatcher {
  readonly pattern: string;
  readonly hasMagic: boolean;
  match(path: string): boolean;
  /** Whether a path whose first segment is `first` can match: false only where `match` is false. */
  admits(first: string): boolean;
}

/**
 * The first path segments a glob can match, or undefined when any may: a glob whose every brace
 * alternative starts with a literal segment (`config/*.toml`, `{logs,tmp}/**`) can only match
 * paths under those. minimatch splits the path on runs of `/` and compares a literal pattern
 * segment with `===` (no `nocase` here), so a path whose first segment is none of these is one
 * minimatch would refuse too. Negated globs match what the glob does not, so they get no filter;
 * a comment matches nothing and has no alternatives (an empty set: refused at once).
 */
function firstSegments(glob: Minimatch): ReadonlySet<string> | undefined {
  // matchBase matches a slash-free pattern against the basename: any directory may hold it.
  if (glob.negate || glob.empty || glob.options.nocase || glob.options.matchBase) return undefined;
  const firsts = new Set<string>();
  for (const alternative of glob.set) {
    const first = alternative[0];
    if (typeof first !== "string") return undefined;
    firsts.add(first);
  }
  return firsts;
}

/** What a path's last segment must be for a glob to match it: one of `names`, or ending with one of `suffixes`. */
interface LastSegments {
  names: ReadonlySet<string>;
  suffixes: readonly string[];
}

/**
 * Characters that may make a segment's glob text match other than itself: wildcards, classes,
 * extglobs, escapes, braces. A segment's text after the last of them is matched literally.
 */
const MAGIC = new Set(["*", "?", "[", "]", "(", ")", "|", "\\", "!", "@", "+", "{", "}"]);

/** The literal tail of a segment's glob text (`.py` of `*.py`), "" when it ends in magic. */
function literalSuffix(segmentGlob: string): string {
  let at = segmentGlob.length;
  while (at > 0 && !MAGIC.has(segmentGlob.charAt(at - 1))) at--;
  return segmentGlob.slice(at);
}

/**
 * What the last segment of a path must be for a glob to match it, or undefined when anything may:
 * a glob with no literal first segment (`*.toml`, or one starting with `**`) was asked about every
 * path, and its last segment is most often literal or ends in a literal (`Makefile`, `*.py`). minimatch matches
 * the pattern's last segment against the path's (a trailing `**` aside, which takes any), or, for
 * a path ending in `/`, against the segment before it (`a/*` matches `a/b/`); with `matchBase`, a
 * one-segment pattern against the last non-empty segment. The same negations, comments and
 * `nocase` as firstSegments get no filter; nor does a pattern ending in `/`.
 */
function lastSegments(glob: Minimatch): LastSegments | undefined {
  if (glob.negate || glob.empty || glob.options.nocase) return undefined;
  const names = new Set<string>();
  const suffixes: string[] = [];
  for (const alternative of glob.set) {
    const last = alternative.at(-1);
    if (last === undefined || last === GLOBSTAR || last === "") return undefined;
    if (typeof last === "string") names.add(last);
    else {
      const suffix = last._glob === undefined ? "" : literalSuffix(last._glob);
      if (suffix === "") return undefined;
      suffixes.push(suffix);
    }
  }
  return { names, suffixes };
}

export function firstSegmentOf(path: string): string {
  const slash = path.indexOf("/");
  return slash < 0 ? path : path.slice(0, slash);
}

function lastSegmentOf(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

function fits(segment: string, last: LastSegments): boolean {
  if (last.names.has(segment)) return true;
  for (const suffix of last.suffixes) if (segment.endsWith(suffix)) return true;
  return false;
}

/** Whether a path's last segment (or, behind a trailing `/`, the one before it) can be the glob's. */
function lastAdmits(path: string, last: LastSegments): boolean {
  const segment = lastSegmentOf(path);
  if (fits(segment, last)) return true;
  if (segment !== "") return false;
  let end = path.length;
  while (end > 0 && path.charCodeAt(end - 1) === 47) end--;
  return fits(lastSegmentOf(path.slice(0, end)), last);
}

/**
 * minimatch's `match` runs its whole segment walk for every path it is asked about; a manifest's
 * globs are asked about every file of the app (20,000 here) in each of the plan's passes, and most
 * globs name one directory (`config/*.toml`, `logs/**`) or one kind of file (`*.py` at any depth). The
 * first- and last-segment tests cost a slice and a set lookup or `endsWith` each and leave minimatch
 * only the paths it might match: the rules cost what matches.
 */
export function compileGlob(pattern: string, options: MinimatchOptions = { dot: true }): GlobMatcher {
  const glob = new Minimatch(pattern, options);
  const firsts = firstSegments(glob);
  const last = lastSegments(glob);
  const hasMagic = glob.hasMagic();
  const lastFits =
    last === undefined
      ? (path: string) => glob.match(path)
      : (path: string) => lastAdmits(path, last) && glob.match(path);
  if (firsts === undefined) return { pattern, hasMagic, match: lastFits, admits: () => true };
  return {
    pattern,
    hasMagic,
    match: (path) => firsts.has(firstSegmentOf(path)) && lastFits(path),
    admits: (first) => firsts.has(first),
  };
}
