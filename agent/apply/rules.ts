/**
 * Rule lookups the planner needs, on top of shared/manifest/rules.ts (exact path, then first glob in
 * file order, else replace; directory rules by whole path segments, the most specific winning).
 */
import {
  findFileRule,
  protectedDirectoryOf as sharedProtectedDirectoryOf,
} from "../../shared/manifest/rules.js";
import type { Manifest } from "../../shared/manifest/schema.js";
import type { RuleRef } from "./types.js";

function normalise(path: string): string {
  return path.replace(/^(\.\/)+/, "").replace(/\/+$/, "");
}

function hasDirectoryRules(manifest: Manifest): boolean {
  for (const _ in manifest.directories) return true;
  return false;
}

export function ruleFor(manifest: Manifest, rel: string): RuleRef {
  const found = findFileRule(manifest, rel);
  return { pattern: found.pattern ?? "(default)", rule: found.rule };
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

/** Whether `dir` is named in the manifest's `directories` (such directories are never removed). */
export function isNamedDirectory(manifest: Manifest, dir: string): boolean {
  return Object.keys(manifest.directories).some((key) => normalise(key) === dir);
}

/** The `merge_strategies` entry of a file: by its path, else by the `files` pattern that matched. */
export function sectionsFor(manifest: Manifest, rel: string, pattern: string) {
  return manifest.merge_strategies[rel] ?? manifest.merge_strategies[pattern];
}
