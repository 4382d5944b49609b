import { Minimatch, type MinimatchOptions } from "minimatch";

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

export function firstSegmentOf(path: string): string {
  const slash = path.indexOf("/");
  return slash < 0 ? path : path.slice(0, slash);
}

/**
 * minimatch's `match` runs its whole segment walk for every path it is asked about; a manifest's
 * globs are asked about every file of the app (20,000 here) in each of the plan's passes, and most
 * globs name one directory (`config/*.toml`, `logs/**`). The first-segment test costs a slice and a
 * set lookup and leaves minimatch only the paths it might match: the rules cost what matches.
 */
export function compileGlob(pattern: string, options: MinimatchOptions = { dot: true }): GlobMatcher {
  const glob = new Minimatch(pattern, options);
  const firsts = firstSegments(glob);
  const hasMagic = glob.hasMagic();
  if (firsts === undefined)
    return { pattern, hasMagic, match: (path) => glob.match(path), admits: () => true };
  return {
    pattern,
    hasMagic,
    match: (path) => firsts.has(firstSegmentOf(path)) && glob.match(path),
    admits: (first) => firsts.has(first),
  };
}
