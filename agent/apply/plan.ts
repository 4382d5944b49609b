/**
 * The pure planner: from the release's file list, the app's stat scan and the
 * install index it decides every file's fate without touching disk, so it is tested on in-memory
 * trees. Reading merge inputs and writing anything happens later, in prepare/apply.
 */
import type { Manifest } from "../../shared/manifest/schema.js";
import { shownPath } from "../backup/unrestored.js";
import { dirModeChanges } from "./dir-modes.js";
import {
  clearedDirectoryOf,
  clearsAnyDirectory,
  isNamedDirectory,
  protectedDirectoryOf,
  ruleFor,
} from "./rules.js";
import { statMatches } from "./stat-match.js";
import type {
  IndexedFile,
  InstallIndex,
  MergeFormat,
  PlanConflict,
  PlanStep,
  PlanSummary,
  ReleaseEntry,
  RuleRef,
  TreeEntry,
  TreeScan,
  UpdatePlan,
} from "./types.js";

// Where the planner's callers have found it; the test itself lives in stat-match.ts.
export { statMatches };

export interface PlanInput {
  manifest: Manifest;
  release: ReadonlyMap<string, ReleaseEntry>;
  /** Release directory modes, for directories the apply must create. */
  releaseDirs?: ReadonlyMap<string, number>;
  /** The app scanned with protected directories left unread. */
  app: TreeScan;
  index: InstallIndex | undefined;
  /** sha256 of the app files `filesToHash` named (files whose stat no longer matches the index). */
  appHashes?: ReadonlyMap<string, string>;
}

export const MERGE_FORMATS: Record<string, MergeFormat> = {
  merge_toml: "toml",
  merge_json: "json",
  merge_yaml: "yaml",
};

/** The problem of a release path that is absolute or holds `.` or `..` (the source's to refuse first). */
export const NOT_SAFE = "not a safe relative path";

export function keepCopyName(rel: string): string {
  return `${rel}.bak`;
}

/** Whether a replaced file under `rule` keeps its previous version beside it (`backup_replace`, `backup: true`). */
export function keepsCopy(rule: RuleRef["rule"]): boolean {
  return rule.action === "backup_replace" || rule.backup;
}

/** Whether any of the manifest's file rules keeps copies (none: the common case, nothing to look at). */
export function anyKeepsCopy(manifest: Manifest): boolean {
  return Object.values(manifest.files).some(keepsCopy);
}

/** What the app's file holds, when the index can vouch for it by stat alone. */
function vouchedSha(app: TreeEntry, indexed: IndexedFile | undefined): string | undefined {
  return indexed !== undefined && statMatches(app, indexed) ? indexed.sha256 : undefined;
}

/**
 * App files whose content must be hashed before planning: the release ships them, the index cannot
 * vouch for them (changed stat, or never installed by ship) and their size equals the release's, so
 * they might be byte-equal. Everything else is decided from stat alone: this is what keeps an
 * update's cost proportional to what changed, not to the app's size.
 */
export function filesToHash(input: Omit<PlanInput, "appHashes">): string[] {
  const out: string[] = [];
  for (const [rel, entry] of input.release) {
    const app = input.app.files.get(rel);
    if (app === undefined || app.size !== entry.size || app.type !== entry.type) continue;
    if (vouchedSha(app, input.index?.files[rel]) !== undefined) continue;
    if (protectedDirectoryOf(input.manifest, rel) !== undefined) continue;
    if (ruleFor(input.manifest, rel).rule.action === "skip") continue;
    out.push(rel);
  }
  return out.sort();
}

/**
 * Whether a release file in a protected directory is installed: only while that directory does not
 * exist in the app yet (a first install, or a release adding a protected directory), so the app
 * starts with the release's `data/` or `logs/.gitkeep`. Once the directory exists it is the user's:
 * never read, written or deleted again. Judged by the outermost protected directory on the way, so
 * an existing protected directory is never written into to seed one nested in it.
 */
function seedsProtected(input: PlanInput, rel: string): boolean {
  const parts = rel.split("/");
  for (let i = 1; i <= parts.length; i++) {
    const dir = parts.slice(0, i).join("/");
    if (protectedDirectoryOf(input.manifest, dir) === undefined) continue;
    return !input.app.dirs.has(dir) && !input.app.files.has(dir);
  }
  return false;
}

function releaseStep(input: PlanInput, rel: string, entry: ReleaseEntry): PlanStep {
  const protectedBy = protectedDirectoryOf(input.manifest, rel);
  if (protectedBy !== undefined && !seedsProtected(input, rel))
    return { kind: "skip", rel, reason: "protected", pattern: protectedBy };
  const rule = ruleFor(input.manifest, rel);
  if (rule.rule.action === "skip") return { kind: "skip", rel, reason: "rule", pattern: rule.pattern };
  const app = input.app.files.get(rel);
  if (app === undefined) return { kind: "add", rel, entry, rule };
  const indexed = input.index?.files[rel];
  // A merged file holds the merge ship wrote, not the release's copy its `sha256` names: kept as it
  // is only when that merge was the release's bytes, so a rule that now replaces it does replace it.
  const holds = indexed?.merged ? indexed.installedSha256 : indexed?.sha256;
  const sameBytes =
    (holds === entry.sha256 && statMatches(app, indexed)) || input.appHashes?.get(rel) === entry.sha256;
  if (sameBytes && app.mode === entry.mode) return { kind: "keep", rel };
  const keepCopy = keepsCopy(rule.rule) ? keepCopyName(rel) : undefined;
  const format = MERGE_FORMATS[rule.rule.action];
  // A config the operator replaced with a symlink (to a shared copy, the Capistrano layout) is
  // theirs: a merge would read and write through it, a replace would drop the link and their values.
  if (format !== undefined && app.type === "symlink" && entry.type === "file" && !statMatches(app, indexed))
    return { kind: "skip", rel, reason: "linked", pattern: rule.pattern, sha256: entry.sha256 };
  // Symlinks are never merged: reading through one could leave the app directory.
  if (format !== undefined && app.type === "file" && entry.type === "file") {
    return { kind: "merge", rel, entry, rule, format, ...(keepCopy ? { keepCopy } : {}) };
  }
  return { kind: "replace", rel, entry, rule, ...(keepCopy ? { keepCopy } : {}) };
}

/** Files the previous release installed that this one drops, and the contents of cleared directories. */
function removalSteps(input: PlanInput): PlanStep[] {
  const steps: PlanStep[] = [];
  for (const rel of Object.keys(input.index?.files ?? {})) {
    if (input.release.has(rel) || !input.app.files.has(rel)) continue;
    if (protectedDirectoryOf(input.manifest, rel) !== undefined) continue;
    if (ruleFor(input.manifest, rel).rule.action === "skip") continue;
    steps.push({ kind: "remove", rel, reason: "dropped" });
  }
  if (!clearsAnyDirectory(input.manifest)) return steps;
  const dropped = new Set(steps.map((s) => s.rel));
  for (const rel of input.app.files.keys()) {
    if (input.release.has(rel) || dropped.has(rel)) continue;
    if (clearedDirectoryOf(input.manifest, rel) !== undefined)
      steps.push({ kind: "remove", rel, reason: "cleared" });
  }
  return steps;
}

/** Sources verify paths already; this guard keeps a bad list from ever writing outside the app. */
function unsafePath(rel: string): boolean {
  // An absolute path, or an empty, "." or ".." segment anywhere.
  return /^\/|(^|\/)\.{0,2}(\/|$)/.test(rel);
}

function ancestorsOf(rel: string): string[] {
  const parts = rel.split("/");
  const out: string[] = [];
  for (let i = 1; i < parts.length; i++) out.push(parts.slice(0, i).join("/"));
  return out;
}

function depth(rel: string): number {
  return rel.split("/").length;
}

const NONE: readonly string[] = [];

/** Files written by a step (its target and the sibling copy of the old version). */
function writtenPaths(step: PlanStep): readonly string[] {
  if (step.kind === "add") return [step.rel];
  if (step.kind === "replace" || step.kind === "merge")
    return step.keepCopy ? [step.rel, step.keepCopy] : [step.rel];
  return NONE;
}

/** The release's paths in code-unit order (sources usually list them so already: one pass checks). */
function sortedPaths(release: ReadonlyMap<string, ReleaseEntry>): string[] {
  const rels = [...release.keys()];
  for (let i = 1; i < rels.length; i++) {
    if ((rels[i - 1] as string) >= (rels[i] as string)) return rels.sort((a, b) => (a < b ? -1 : 1));
  }
  return rels;
}

export function planUpdate(input: PlanInput): UpdatePlan {
  const steps: PlanStep[] = sortedPaths(input.release).map((rel) =>
    releaseStep(input, rel, input.release.get(rel) as ReleaseEntry),
  );
  steps.push(...removalSteps(input));
  // Loops, not filter/flatMap over the steps: one array per step (20,000, nearly all keeps) was garbage.
  const removed = new Set<string>();
  const written: string[] = [];
  for (const step of steps) {
    if (step.kind === "remove") removed.add(step.rel);
    else written.push(...writtenPaths(step));
  }
  const conflicts: PlanConflict[] = [];
  for (const rel of input.release.keys()) if (unsafePath(rel)) conflicts.push({ rel, problem: NOT_SAFE });
  // A file (or symlink) where a directory is: fine once the plan empties that directory.
  const neededAsFile = new Set(written.filter((rel) => input.app.dirs.has(rel)));
  const rmdirs = emptiedDirectories(input, removed, written, neededAsFile);
  const emptied = new Set(rmdirs.map((d) => d.rel));
  const mkdirs = new Map<string, number>();
  const keptFor = new Map<string, string>();
  for (const step of steps)
    if ((step.kind === "replace" || step.kind === "merge") && step.keepCopy !== undefined)
      keptFor.set(step.keepCopy, step.rel);
  for (const rel of written) {
    const special = input.app.special?.get(rel);
    // A keep-copy name held so is the app's own: that .bak is not written (keep-copies.ts).
    if (special !== undefined && !keptFor.has(rel))
      conflicts.push({ rel, problem: `the release ships a file where the app has ${special}` });
    if (input.app.dirs.has(rel) && !emptied.has(rel)) {
      const kept = keptFor.get(rel);
      conflicts.push({
        rel,
        problem:
          kept === undefined
            ? "the release ships a file where the app has a directory"
            : `the app has a directory where ship keeps ${shownPath(kept)}'s previous version (its rule keeps a .bak copy)`,
      });
    }
    for (const dir of ancestorsOf(rel)) {
      if (input.app.dirs.has(dir)) continue;
      const specialDir = input.app.special?.get(dir);
      if (specialDir !== undefined) {
        conflicts.push({
          rel,
          problem: `the app has ${specialDir} at ${shownPath(dir)}, where the release needs a directory`,
        });
        continue;
      }
      if (input.app.files.has(dir) && !removed.has(dir)) {
        const what = input.app.files.get(dir)?.type === "symlink" ? "a symlink" : "a file";
        conflicts.push({
          rel,
          problem: `the app has ${what} at ${shownPath(dir)}, where the release needs a directory`,
        });
        continue;
      }
      mkdirs.set(dir, input.releaseDirs?.get(dir) ?? 0o755);
    }
  }
  for (const [rel, mode] of emptyReleaseDirs(input, removed)) if (!mkdirs.has(rel)) mkdirs.set(rel, mode);
  const chmods = dirModeChanges({
    manifest: input.manifest,
    releaseDirs: input.releaseDirs,
    app: input.app,
    index: input.index,
    removed: emptied,
  });
  return {
    steps,
    mkdirs: [...mkdirs].map(([rel, mode]) => ({ rel, mode })).sort((a, b) => depth(a.rel) - depth(b.rel)),
    rmdirs,
    chmods,
    conflicts,
  };
}

/**
 * The release's directories the app lacks that no file leads to (a tarball's or a local release's
 * empty `tmp/`, `uploads/`): created like the others, so the app holds the release's whole tree.
 * One whose place holds a file or symlink the plan keeps, or that lies in an existing protected
 * directory, is left out (an empty directory is no reason to refuse an update).
 */
function emptyReleaseDirs(input: PlanInput, removed: ReadonlySet<string>): [string, number][] {
  const out: [string, number][] = [];
  const blocked = new Set<string>();
  const dirs = [...(input.releaseDirs ?? [])].sort((a, b) => depth(a[0]) - depth(b[0]));
  for (const [rel, mode] of dirs) {
    if (rel === "" || input.app.dirs.has(rel)) continue;
    const parent = parentOf(rel);
    const taken = (input.app.files.has(rel) && !removed.has(rel)) || input.app.special?.has(rel) === true;
    const guarded = protectedDirectoryOf(input.manifest, rel) !== undefined && !seedsProtected(input, rel);
    if (blocked.has(parent) || taken || guarded) blocked.add(rel);
    else out.push([rel, mode]);
  }
  return out;
}

function parentOf(rel: string): string {
  const slash = rel.lastIndexOf("/");
  return slash < 0 ? "" : rel.slice(0, slash);
}

/**
 * Directories ship created that hold nothing once the plan ran; only those are removed (children
 * first), and those the release replaces with a file once they are empty (a type change: they hold
 * nothing, so removing one loses nothing and the backup brings it back). Counts entries per directory
 * instead of walking every path's ancestors: one cheap pass.
 */
function emptiedDirectories(
  input: PlanInput,
  removed: Set<string>,
  written: string[],
  neededAsFile: ReadonlySet<string>,
): { rel: string; mode: number }[] {
  const created = new Set(input.index?.dirs ?? []);
  const listed = input.releaseDirs;
  // Directories ship created that this release no longer has (an empty one included).
  const dropped =
    listed === undefined ? [] : [...created].filter((d) => !listed.has(d) && input.app.dirs.has(d));
  if (neededAsFile.size === 0 && dropped.length === 0 && (removed.size === 0 || created.size === 0))
    return [];
  const entries = new Map<string, number>();
  const bump = (dir: string, by: number): number => {
    const n = (entries.get(dir) ?? 0) + by;
    entries.set(dir, n);
    return n;
  };
  for (const rel of input.app.files.keys()) bump(parentOf(rel), 1);
  for (const rel of input.app.dirs.keys()) bump(parentOf(rel), 1);
  // A socket or FIFO keeps its directory too (removing the directory fails, replacing it moves them).
  for (const rel of input.app.special?.keys() ?? []) bump(parentOf(rel), 1);
  // A new file keeps its nearest existing directory alive (new directories only lead to it).
  for (const rel of written) {
    if (input.app.files.has(rel) && !removed.has(rel)) continue;
    let dir = parentOf(rel);
    while (dir !== "" && !input.app.dirs.has(dir)) dir = parentOf(dir);
    bump(dir, 1);
  }
  const out: { rel: string; mode: number }[] = [];
  const pending = [...[...removed].map(parentOf), ...neededAsFile, ...dropped];
  for (const rel of removed) bump(parentOf(rel), -1);
  while (pending.length > 0) {
    const dir = pending.pop() ?? "";
    if (dir === "" || (entries.get(dir) ?? 0) > 0 || !input.app.dirs.has(dir)) continue;
    if (!created.has(dir) && !neededAsFile.has(dir)) continue;
    if (listed?.has(dir) === true && !neededAsFile.has(dir)) continue; // the release keeps it, if empty
    if (isNamedDirectory(input.manifest, dir) || out.some((d) => d.rel === dir)) continue;
    out.push({ rel: dir, mode: input.app.dirs.get(dir) ?? 0o755 });
    bump(parentOf(dir), -1);
    pending.push(parentOf(dir));
  }
  return out.sort((a, b) => depth(b.rel) - depth(a.rel));
}

export function summarizePlan(plan: UpdatePlan): PlanSummary {
  const summary: PlanSummary = { add: 0, replace: 0, merge: 0, remove: 0, keep: 0, skip: 0 };
  for (const step of plan.steps) summary[step.kind]++;
  return summary;
}
