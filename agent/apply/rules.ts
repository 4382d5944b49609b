/**
 * Rule lookups the planner needs, on top of shared/manifest/rules.ts (exact path, then first glob in
 * file order, else replace; directory rules by whole path segments, the most specific winning).
 */
import {
  DEFAULT_FILE_RULE,
  findFileRule,
  type MatchedRule,
  protectedDirectoryOf as sharedProtectedDirectoryOf,
} from "../../shared/manifest/rules.js";
import type { Manifest, SectionStrategy } from "../../shared/manifest/schema.js";
import type { RuleRef } from "./types.js";

function normalise(path: string): string {
  return path.replace(/^(\.\/)+/, "").replace(/\/+$/, "");
}

function hasDirectoryRules(manifest: Manifest): boolean {
  for (const _ in manifest.directories) return true;
  return false;
}

/** What a file no rule names takes: nearly every file of an app, one object for all of them. */
const DEFAULT_REF: RuleRef = Object.freeze({ pattern: "(default)", rule: DEFAULT_FILE_RULE });
/** Each other answer of findFileRule as the planner names it (findFileRule's answers are shared: so are these). */
const refs = new WeakMap<MatchedRule, RuleRef>();

/** The rule `rel` takes; the answer is shared by every file that takes it (frozen): read it, never change it. */
export function ruleFor(manifest: Manifest, rel: string): RuleRef {
  const found = findFileRule(manifest, rel);
  if (found.pattern === null) return DEFAULT_REF;
  let ref = refs.get(found);
  if (ref === undefined) {
    ref = Object.freeze({ pattern: found.pattern ?? "(default)", rule: found.rule });
    refs.set(found, ref);
  }
  return ref;
}

/** The protected (`preserve: true`) directory `rel` is in or is: never read, written or deleted. */
export function protectedDirectoryOf(manifest: Manifest, rel: string): string | undefined {
  if (!hasDirectoryRules(manifest)) return undefined; // the common case, asked once per file
  return sharedProtectedDirectoryOf(manifest, rel) ?? undefined;
}

/** The `preserve: false` directory `rel` is in (most specific entry deciding): its contents are cleared. */
export function clearedDirectoryOf(manifest: Manifest, rel: string): string | undefined {
  if (!hasDirectoryRules(manifest)) return undefined;
  let best: { key: string; length: number; preserve: boolean } | undefined;
  for (const [key, rule] of Object.entries(manifest.directories)) {
    const dir = normalise(key);
    if (dir === "" || !rel.startsWith(`${dir}/`)) continue;
    if (best === undefined || dir.length > best.length)
      best = { key, length: dir.length, preserve: rule.preserve };
  }
  return best !== undefined && !best.preserve ? best.key : undefined;
}

/**
 * Whether clearedDirectoryOf can name a directory for any path: some entry clears (`preserve: false`).
 * Most manifests clear none, and the planner then skips asking for each of the app's 20,000 files.
 */
export function clearsAnyDirectory(manifest: Manifest): boolean {
  for (const [key, rule] of Object.entries(manifest.directories))
    if (!rule.preserve && normalise(key) !== "") return true;
  return false;
}

/** Whether `dir` is named in the manifest's `directories` (such directories are never removed). */
export function isNamedDirectory(manifest: Manifest, dir: string): boolean {
  return Object.keys(manifest.directories).some((key) => normalise(key) === dir);
}

/**
 * A file's `merge_strategies`: the entry of the `files` pattern that matched it, with its own path's
 * entry over it section by section (the most specific wins, as everywhere in the manifest). Taking
 * the path's entry alone dropped the pattern's sections without a word.
 */
export function sectionsFor(
  manifest: Manifest,
  rel: string,
  pattern: string,
): Record<string, SectionStrategy> | undefined {
  const own = Object.hasOwn(manifest.merge_strategies, rel) ? manifest.merge_strategies[rel] : undefined;
  const shared =
    pattern !== rel && Object.hasOwn(manifest.merge_strategies, pattern)
      ? manifest.merge_strategies[pattern]
      : undefined;
  if (own === undefined || shared === undefined) return own ?? shared;
  return { ...shared, ...own };
}
