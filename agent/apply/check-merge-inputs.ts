/**
 * Refuses an update whose config merges cannot run, before anything changes: every file of the
 * release that a merge rule names is parsed here — the server's copy, the release's copy and the
 * previous release's pristine copy — so a config that is not UTF-8 text or does not parse stops the
 * update with exit 2 and its file:line:column, before the pre_update hooks run and before the apply
 * writes anything. The apply parses the same texts again; this check only moves the failure to where
 * it is harmless.
 */
import { lstat, readdir, readFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { BadInputError } from "../../shared/errors.js";
import { compileGlob, type GlobMatcher } from "../../shared/manifest/glob-matcher.js";
import { protectedDirectoryOfPattern } from "../../shared/manifest/protected-pattern.js";
import type { Manifest } from "../../shared/manifest/schema.js";
import { didYouMean } from "../../shared/schema/did-you-mean.js";
import { decodeConfigText } from "../merge/config-text.js";
import type { CopyRole } from "../merge/parse-error.js";
import { sectionsKeepUserValues } from "../merge/plan.js";
import { pathExists } from "../tree/fs-ops.js";
import { hashFile } from "../tree/hash-file.js";
import { basePath, readBaseCopy, readInstallIndex } from "./install-index.js";
import { MERGE_FORMATS } from "./plan.js";
import { protectedDirectoryOf, ruleFor, sectionsFor } from "./rules.js";
import type { InstallIndex, RuleRef } from "./types.js";

export interface MergeInputsCheck {
  manifest: Manifest;
  releaseDir: string;
  appDir: string;
  /** Per-app state: the install index says which files have a previous release's copy. */
  stateDir: string;
  /**
   * The operator's own release directory (a local source): a release's copy that does not parse is
   * named there, not by its bare relative path, which reads as the app's copy (or ship's staging).
   */
  originDir?: string;
  /**
   * The whole release when `releaseDir` holds only part of it: a source leaves out the files the
   * install index says the app holds (a config whose release copy did not change among them), and
   * the merge still reads the server's copy of those, so it is checked here too.
   */
  listing?: ReadonlyMap<string, { type: string; sha256: string }>;
  /** Told each merge rule that merges nothing while the file it likely meant is replaced. */
  warn?: (message: string) => void;
}

export async function checkMergeInputs(input: MergeInputsCheck): Promise<void> {
  if (!hasMergeRules(input.manifest)) return;
  // Loaded on demand, like the merge itself: the parsers cost start-up time most runs never need.
  const { checkMergeInput } = await import("../merge/index.js");
  const index = await readInstallIndex(input.stateDir);
  const files = withMergedLeftOut(input.manifest, await releaseFiles(input.releaseDir), input.listing, index);
  for (const warning of idleMergeRules(input.manifest, files)) input.warn?.(warning);
  for (const rel of files) {
    if (protectedDirectoryOf(input.manifest, rel) !== undefined) continue;
    const ref = ruleFor(input.manifest, rel);
    const format = MERGE_FORMATS[ref.rule.action];
    if (format === undefined) continue;
    const releaseName = input.originDir === undefined ? rel : join(input.originDir, rel);
    const releaseCopy = await releaseCopyOf(input, rel);
    const release =
      releaseCopy === undefined
        ? undefined
        : await readMergeCopy(releaseCopy.path, releaseName, "release", rel, ref, releaseCopy.shipsCopy);
    if (release !== undefined) checkMergeInput(format, release, releaseName, "release");
    const server = join(input.appDir, rel);
    const keepsUser = keepsUserValues(input.manifest, rel, ref);
    // Symlinks are never merged. Under replace a server copy that does not parse is simply
    // replaced; but one whose values a section keeps must still be UTF-8, or they would come back
    // with U+FFFD in place of each byte that is not, and must parse, or they would be lost.
    if (keepsUser && (await isRegularFile(server))) {
      const text = await readMergeCopy(server, server, "server", rel, ref);
      const sections = sectionsFor(input.manifest, rel, ref.pattern);
      if (ref.rule.merge_strategy !== "replace" || sectionsKeepUserValues(sections))
        checkMergeInput(format, text, server, "server", release);
    }
    const indexed = index?.files.get(rel);
    const base = indexed?.merged ? basePath(input.stateDir, indexed.sha256) : undefined;
    if (base === undefined || !(await pathExists(base))) continue;
    // Read under replace too (the apply reads it for the merge's report): one that is no file is
    // refused here, before the hooks, not at the apply.
    if (!keepsUser) readBaseCopy(base, rel);
    else {
      const text = await readMergeCopy(base, base, "previous release", rel, ref);
      try {
        checkMergeInput(format, text, base, "previous release");
      } catch (error) {
        throw namedAsShipsCopy(error, rel, base);
      }
    }
  }
}

/**
 * The staged files and, when the source staged only part of the release, the files it left out
 * that the merge reads the server's copy of: those ship merged before (the index marks them), and
 * those a merge rule takes now although they were installed whole (a release that starts merging a
 * config it used to replace). Only the left-out files the index does not mark are matched, and only
 * against the merge rules, so a 20,000-file release costs a set lookup per file when the merge
 * rules name paths, one glob match per file when they are globs.
 */
function withMergedLeftOut(
  manifest: Manifest,
  staged: string[],
  listing: MergeInputsCheck["listing"],
  index: InstallIndex | undefined,
): string[] {
  if (listing === undefined || index === undefined) return staged;
  const mergesNow = mergeRuleMatcher(manifest);
  const have = new Set(staged);
  // The merged entries are the few the index keeps apart: asking the index for each listed file's
  // entry built 20,000 objects to read one flag of a handful (~20 ms of a typical manifest's update).
  const merged = new Set<string>();
  for (const [rel] of index.files.merged()) merged.add(rel);
  const leftOut: string[] = [];
  for (const [rel, entry] of listing) {
    if (entry.type !== "file" || have.has(rel)) continue;
    if (merged.has(rel) || (mergesNow(rel) && index.files.has(rel))) leftOut.push(rel);
  }
  return leftOut.length === 0 ? staged : [...staged, ...leftOut];
}

/** Whether a merge rule takes `rel` (the manifest's own order deciding among the rules that match). */
function mergeRuleMatcher(manifest: Manifest): (rel: string) => boolean {
  const paths = new Set<string>();
  const globs: GlobMatcher[] = [];
  for (const [pattern, rule] of Object.entries(manifest.files)) {
    if (MERGE_FORMATS[rule.action] === undefined) continue;
    const matcher = compileGlob(pattern);
    if (matcher.hasMagic) globs.push(matcher);
    else paths.add(pattern);
  }
  return (rel) =>
    (paths.has(rel) || globs.some((glob) => glob.match(rel))) &&
    MERGE_FORMATS[ruleFor(manifest, rel).rule.action] !== undefined;
}

/**
 * Where the release's copy of `rel` can be read: staged, or, left out of staging as one the install
 * index vouches for, ship's own copy of it (`<state>/base/<sha256>`, the same bytes: `shipsCopy`), or
 * — a file installed whole until now has no such copy — the operator's release directory (a local
 * source), when its bytes are still the listing's. None of those: the apply stages it from the
 * source and reads it as strictly.
 */
async function releaseCopyOf(
  input: MergeInputsCheck,
  rel: string,
): Promise<{ path: string; shipsCopy: boolean } | undefined> {
  const staged = join(input.releaseDir, rel);
  if (input.listing === undefined || (await isRegularFile(staged))) return { path: staged, shipsCopy: false };
  const sha256 = input.listing.get(rel)?.sha256;
  if (sha256 === undefined) return undefined;
  const kept = basePath(input.stateDir, sha256);
  if (await pathExists(kept)) return { path: kept, shipsCopy: true };
  if (input.originDir === undefined) return undefined;
  const origin = join(input.originDir, rel);
  return (await isRegularFile(origin)) && (await hashFile(origin)) === sha256
    ? { path: origin, shipsCopy: false }
    : undefined;
}

/**
 * Whether a merge keeps any of the server copy's values, and so reads it and the previous release's
 * copy (three-way): always, except under replace, where only a section of the file merging its own
 * way (`database: preserve_user`) does. The check and the apply read exactly these copies strictly.
 */
export function keepsUserValues(manifest: Manifest, rel: string, ref: RuleRef): boolean {
  return ref.rule.merge_strategy !== "replace" || hasSections(manifest, rel, ref.pattern);
}

/**
 * One copy of a merged file as the text a merge reads: one that is not UTF-8 is bad input (exit 2)
 * naming `name`, line and column; the previous release's copy is named as ship's own. The check
 * before the hooks and the apply both read through here, so a file changed between the two is
 * refused alike instead of being decoded with U+FFFD at the apply. A copy of ship's own
 * (`shipsCopy`, basePath) is read by the rule for ship's records (readBaseCopy).
 */
export async function readMergeCopy(
  path: string,
  name: string,
  role: CopyRole,
  rel: string,
  ref: RuleRef,
  shipsCopy = role === "previous release",
): Promise<string> {
  const bytes = shipsCopy ? readBaseCopy(path, rel) : await readFile(path);
  try {
    return decodeConfigText(bytes, name, role, { rel, pattern: ref.pattern, action: ref.rule.action });
  } catch (error) {
    throw role === "previous release" ? namedAsShipsCopy(error, rel, path) : error;
  }
}

/**
 * The previous release's copy is ship's own (`<state>/base/<sha256>`): named by the app's path, the
 * message sent the operator to their config, which parses fine. It names that copy, says whose it is
 * and what deleting it does (the merge goes on two-way, as after a first install).
 */
export function namedAsShipsCopy(error: unknown, rel: string, base: string): unknown {
  if (!(error instanceof BadInputError) || !error.issues.some((issue) => issue.file === base)) return error;
  const advice = `; that file is ship's copy of ${rel} as the previous release installed it, not yours: delete it and the merge goes on without it (every value of yours is kept, new keys are added)`;
  return new BadInputError(
    error.issues.map((issue) =>
      issue.file === base ? { ...issue, message: `${issue.message}${advice}` } : issue,
    ),
  );
}

function hasSections(manifest: Manifest, rel: string, pattern: string): boolean {
  return Object.keys(sectionsFor(manifest, rel, pattern) ?? {}).length > 0;
}

/**
 * Merge rules that take no file of the release while a file they likely meant is replaced: a glob
 * an earlier glob shadows (rules match in file order, so `config/*: replace` above
 * `config/*.toml: merge_toml` replaced every TOML config), or a path one typo away from a file no
 * rule names. Both were silent, and the user's values went with the replace. Also a merge rule for
 * files of a protected directory, which are never merged.
 */
function idleMergeRules(manifest: Manifest, files: readonly string[]): string[] {
  const taken = new Map<string, string>();
  for (const rel of files) {
    if (protectedDirectoryOf(manifest, rel) === undefined) taken.set(rel, ruleFor(manifest, rel).pattern);
  }
  const used = new Set(taken.values());
  const warnings: string[] = [];
  for (const [pattern, rule] of Object.entries(manifest.files)) {
    if (MERGE_FORMATS[rule.action] === undefined || used.has(pattern)) continue;
    const name = `files.${JSON.stringify(pattern)} (${rule.action})`;
    const matcher = compileGlob(pattern);
    const shadowed = [...taken.keys()].find((rel) => matcher.match(rel));
    if (shadowed !== undefined) {
      const winner = taken.get(shadowed) ?? "";
      const action = manifest.files[winner]?.action ?? "replace";
      warnings.push(
        `${name} merges no file: ${shadowed} takes files.${JSON.stringify(winner)} (${action}), which comes first; put the merge rule above it`,
      );
      continue;
    }
    // Files in a protected directory are never merged: the release's copy fills it only where the
    // app lacks the directory, and nothing is written there again.
    const guarded = files.find((rel) => !taken.has(rel) && matcher.match(rel));
    // Told from the manifest alone, the manifest's own check said it already (at --test-manifest too).
    if (guarded !== undefined && protectedDirectoryOfPattern(manifest.directories, pattern) !== undefined)
      continue;
    if (guarded !== undefined) {
      const dir = protectedDirectoryOf(manifest, guarded) ?? "";
      warnings.push(
        `${name} merges no file: ${guarded} is in the protected directory ${dir} (preserve: true), which ship fills only where the app lacks it and never writes again; keep merged configs out of it`,
      );
      continue;
    }
    if (matcher.hasMagic) continue;
    const unnamed = [...taken].filter(([, taker]) => taker === "(default)").map(([rel]) => rel);
    const close = didYouMean(pattern, unnamed);
    if (close !== undefined) {
      warnings.push(
        `${name} names no file of the release, and ${close}, which no rule names, is replaced whole (did you mean ${JSON.stringify(close)}?)`,
      );
    }
  }
  return warnings;
}

function hasMergeRules(manifest: Manifest): boolean {
  return Object.values(manifest.files).some((rule) => MERGE_FORMATS[rule.action] !== undefined);
}

async function releaseFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => relative(dir, join(e.parentPath, e.name)));
}

async function isRegularFile(path: string): Promise<boolean> {
  try {
    return (await lstat(path)).isFile();
  } catch {
    return false;
  }
}
