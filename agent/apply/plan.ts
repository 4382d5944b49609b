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

/**
 * App files whose content must be hashed before planning: the release ships them, the index cannot
 * vouch for them (changed stat, or never installed by ship) and their size equals the release's, so
 * they might be byte-equal. Everything else is decided from stat alone: this is what keeps an
 * update's cost proportional to what changed, not to the app's size.
 */
export function filesToHash(input: Omit<PlanInput, "appHashes">): string[] {
  return draftPlan(input).toHash;
}

/**
 * The plan's pass over the listing, before any app file is read: every release file's step that
 * stat alone decides, and the files `filesToHash` names, whose steps wait for their hashes
 * (`finishPlan`). The hash list and the steps were a pass each, each looking up the same app entry
 * and index entry and comparing the same stat, for 20,000 files.
 */
export interface PlanDraft {
  readonly input: Omit<PlanInput, "appHashes">;
  /** One per release file in listing order; undefined where the step waits for a hash. */
  readonly steps: (PlanStep | undefined)[];
  /** What `filesToHash` returns: the files to hash, sorted. */
  readonly toHash: string[];
  /** Release paths that are absolute or hold `.` or `..`, in listing order. */
  readonly unsafe: PlanConflict[];
  /** Whether the listing came in code-unit order (the steps are sorted otherwise). */
  readonly sorted: boolean;
  /** How many release paths the index lists: all it holds, and the release drops none of them. */
  readonly indexed: number;
}

/**
 * `hashed`: files whose hashes the caller already holds, waiting like `filesToHash`'s (planUpdate's
 * appHashes, which a caller may give for any file).
 */
export function draftPlan(
  input: Omit<PlanInput, "appHashes">,
  hashed?: ReadonlyMap<string, string>,
): PlanDraft {
  const skipRules = anySkipRule(input.manifest);
  const steps: (PlanStep | undefined)[] = [];
  const toHash: string[] = [];
  const unsafe: PlanConflict[] = [];
  let sorted = true;
  let last: string | undefined;
  let indexed = 0;
  for (const [rel, entry] of input.release) {
    if (last !== undefined && last >= rel) sorted = false;
    last = rel;
    if (unsafePath(rel)) unsafe.push({ rel, problem: NOT_SAFE });
    const listed = input.index?.files.get(rel);
    if (listed !== undefined) indexed++;
    const step = statStep(input, rel, entry, listed, skipRules, hashed);
    if (step === HASH_IT) toHash.push(rel);
    steps.push(typeof step === "symbol" ? undefined : step);
  }
  return { input, steps, toHash: toHash.sort(), unsafe, sorted, indexed };
}

/** A draft's step for a file whose content must be hashed first, or whose hash the caller holds. */
const HASH_IT = Symbol("hash it");
const HASHED = Symbol("hashed");

/**
 * A release file's step as far as stat decides it: skipped, added, kept because the index vouches
 * for its bytes, or changed; HASH_IT when only its content can tell (filesToHash's files), HASHED
 * when `hashed` holds its content's hash.
 */
function statStep(
  input: Omit<PlanInput, "appHashes">,
  rel: string,
  entry: ReleaseEntry,
  indexed: IndexedFile | undefined,
  skipRules: boolean,
  hashed: ReadonlyMap<string, string> | undefined,
): PlanStep | typeof HASH_IT | typeof HASHED {
  const protectedBy = protectedDirectoryOf(input.manifest, rel);
  if (protectedBy !== undefined && !seedsProtected(input, rel))
    return { kind: "skip", rel, reason: "protected", pattern: protectedBy };
  const rule = skipRules ? ruleFor(input.manifest, rel) : undefined;
  if (rule?.rule.action === "skip") return { kind: "skip", rel, reason: "rule", pattern: rule.pattern };
  const app = input.app.files.get(rel);
  if (app === undefined) return { kind: "add", rel, entry, rule: rule ?? ruleFor(input.manifest, rel) };
  const vouched = statMatches(app, indexed);
  // Only a file of the release's size and type can hold its bytes; the index vouches for the rest.
  if (!vouched && protectedBy === undefined && app.size === entry.size && app.type === entry.type)
    return HASH_IT;
  if (hashed?.has(rel) === true) return HASHED;
  return changeStep(input, rel, entry, app, indexed, vouched, undefined, rule);
}

/**
 * The step of a release file the app has. A merged file holds the merge ship wrote, not the
 * release's copy its `sha256` names: kept as it is only when that merge was the release's bytes, so
 * a rule that now replaces it does replace it.
 */
function changeStep(
  input: Omit<PlanInput, "appHashes">,
  rel: string,
  entry: ReleaseEntry,
  app: TreeEntry,
  indexed: IndexedFile | undefined,
  vouched: boolean,
  hash: string | undefined,
  known: RuleRef | undefined,
): PlanStep {
  const holds = indexed?.merged ? indexed.installedSha256 : indexed?.sha256;
  const sameBytes = (holds === entry.sha256 && vouched) || hash === entry.sha256;
  if (sameBytes && app.mode === entry.mode) return { kind: "keep", rel };
  // A rule decides only what a changed file becomes: a kept one (nearly every file) needs no lookup.
  const rule = known ?? ruleFor(input.manifest, rel);
  const keepCopy = keepsCopy(rule.rule) ? keepCopyName(rel) : undefined;
  const format = MERGE_FORMATS[rule.rule.action];
  // A config the operator replaced with a symlink (to a shared copy, the Capistrano layout) is
  // theirs: a merge would read and write through it, a replace would drop the link and their values.
  if (format !== undefined && app.type === "symlink" && entry.type === "file" && !vouched)
    return { kind: "skip", rel, reason: "linked", pattern: rule.pattern, sha256: entry.sha256 };
  // Symlinks are never merged: reading through one could leave the app directory.
  if (format !== undefined && app.type === "file" && entry.type === "file") {
    return { kind: "merge", rel, entry, rule, format, ...(keepCopy ? { keepCopy } : {}) };
  }
  return { kind: "replace", rel, entry, rule, ...(keepCopy ? { keepCopy } : {}) };
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

/**
 * Whether any file rule skips: only then can a file the release leaves as it is be a `skip` rather
 * than a `keep`. Without one, a kept file (nearly every file of an update) needs no rule lookup,
 * which was a path normalised and two objects made for each of 20,000 files.
 */
function anySkipRule(manifest: Manifest): boolean {
  for (const pattern in manifest.files) if (manifest.files[pattern]?.action === "skip") return true;
  return false;
}

/** Files the previous release installed that this one drops, and the contents of cleared directories. */
function removalSteps(input: PlanInput, indexed: number): PlanStep[] {
  const steps: PlanStep[] = [];
  const installed = input.index?.files;
  // A release that lists as many installed paths as the index holds drops none (its paths are
  // distinct): the index's 20,000 names need no lookup each (checkImmutable counts alike).
  for (const rel of installed !== undefined && indexed < installed.size ? installed.keys() : []) {
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

const byPath = (a: PlanStep, b: PlanStep): number => (a.rel < b.rel ? -1 : 1);

/**
 * Every release file's step, in code-unit order of its path (sources usually list them so already:
 * the draft checked the order on the way, and they are sorted only when it is not), the waiting
 * ones decided by the app's hashes.
 */
function releaseSteps(draft: PlanDraft, appHashes: ReadonlyMap<string, string> | undefined): PlanStep[] {
  const { input } = draft;
  const steps: PlanStep[] = new Array(draft.steps.length);
  let i = 0;
  for (const [rel, entry] of input.release) {
    const step = draft.steps[i];
    if (step !== undefined) steps[i++] = step;
    else {
      const app = input.app.files.get(rel) as TreeEntry; // waits only for a file the app has
      const indexed = input.index?.files.get(rel);
      const hash = appHashes?.get(rel);
      steps[i++] = changeStep(input, rel, entry, app, indexed, statMatches(app, indexed), hash, undefined);
    }
  }
  return draft.sorted ? steps : steps.sort(byPath);
}

export function planUpdate(input: PlanInput): UpdatePlan {
  return finishPlan(draftPlan(input, input.appHashes), input.appHashes);
}

/** The plan from a draft and the hashes of the files it named (`toHash`). */
export function finishPlan(draft: PlanDraft, appHashes?: ReadonlyMap<string, string>): UpdatePlan {
  const input: PlanInput = { ...draft.input, ...(appHashes === undefined ? {} : { appHashes }) };
  const steps = releaseSteps(draft, appHashes);
  const conflicts = [...draft.unsafe];
  steps.push(...removalSteps(input, draft.indexed));
  // Loops, not filter/flatMap over the steps: one array per step (20,000, nearly all keeps) was garbage.
  const removed = new Set<string>();
  const written: string[] = [];
  const keptFor = new Map<string, string>();
  for (const step of steps) {
    if (step.kind === "keep" || step.kind === "skip") continue;
    if (step.kind === "remove") {
      removed.add(step.rel);
      continue;
    }
    written.push(step.rel);
    if (step.kind !== "add" && step.keepCopy !== undefined) {
      written.push(step.keepCopy);
      keptFor.set(step.keepCopy, step.rel);
    }
  }
  // A file (or symlink) where a directory is: fine once the plan empties that directory.
  const neededAsFile = new Set(written.filter((rel) => input.app.dirs.has(rel)));
  const rmdirs = emptiedDirectories(input, removed, written, neededAsFile);
  const emptied = new Set(rmdirs.map((d) => d.rel));
  const mkdirs = new Map<string, number>();
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
