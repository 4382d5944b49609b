/**
 * Everything an update computes before its first write to the app: config merges (their results
 * replace the release's file in the staging directory, the release's pristine copy is saved as the
 * next merge's base) and the install-index changes. A merge that fails throws here, when nothing
 * has been written to the app yet.
 */
import { createHash } from "node:crypto";
import { readFile, readlink, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "../../shared/log.js";
import type { Manifest } from "../../shared/manifest/schema.js";
import type { MergeReport } from "../../shared/protocol/messages.js";
import type { MergeResult } from "../merge/index.js";
import { DELETED_CONFIG, LINKED_CONFIG } from "../merge/not-merged.js";
import type { ReplacedMergeInput } from "../merge/replaced-merge.js";
import { copyTempName, pathExists } from "../tree/fs-ops.js";
import { baseNotAsNamed } from "./base-copy.js";
import { keepsUserValues, namedAsShipsCopy, readMergeCopy } from "./check-merge-inputs.js";
import { releaseDirModes } from "./dir-modes.js";
import { basePath, readBaseCopy, writeBaseCopy } from "./install-index.js";
import type { IndexDelta } from "./journal.js";
import { mergedMode, stageMergedOwnership } from "./merged-file-owner.js";
import { sectionsFor } from "./rules.js";
import type { InstallIndex, PlanStep, TreeScan, UpdatePlan } from "./types.js";

export interface PrepareInput {
  plan: UpdatePlan;
  manifest: Manifest;
  app: TreeScan;
  appDir: string;
  stagingDir: string;
  stateDir: string;
  index: InstallIndex | undefined;
  appHashes: ReadonlyMap<string, string>;
  toVersion: string;
  log?: Logger;
  releaseId?: string;
  /** The release's directory modes (umask applied), recorded for the next update's decisions. */
  releaseDirs?: ReadonlyMap<string, number>;
}

export interface Prepared {
  /** The plan's steps with merges that change nothing turned into keeps. */
  steps: PlanStep[];
  index: IndexDelta;
  /** Every merged file's key report, in plan order. */
  merges: MergeReport[];
  /** Configs merged until now that this release replaces: reported once the backup holds them. */
  replacedMerges: ReplacedMerge[];
}

export type ReplacedMerge = Omit<ReplacedMergeInput, "backupCopy">;

/** The previous release's copy (ship's own, `<state>/base/<sha256>`), when the index has one. */
function basePathOf(input: PrepareInput, rel: string): string | undefined {
  const indexed = input.index?.files.get(rel);
  return indexed?.merged ? basePath(input.stateDir, indexed.sha256) : undefined;
}

/**
 * A config ship installed whole until now (no merge rule, so no base copy) that the app still holds
 * byte for byte is the previous release's copy itself: merged three-way against it, every value
 * follows the release. Two-way, the release's new defaults were kept and reported as the operator's.
 */
function installedWhole(input: PrepareInput, rel: string, current: string): string | undefined {
  const indexed = input.index?.files.get(rel);
  if (indexed === undefined || indexed.merged) return undefined;
  return createHash("sha256").update(current).digest("hex") === indexed.sha256 ? current : undefined;
}

/**
 * The sha256 of the last release copy that held keys, to stay the base when this release's holds
 * none: the base the index names, or the copy ship installed whole (no merge rule until now) that the
 * app still holds, saved as a base here. That one was recorded as the keyless copy itself, so the
 * next release merged against nothing and kept every default it changed as the operator's.
 */
async function lastKeyedBase(
  input: PrepareInput,
  rel: string,
  baseFile: string | undefined,
  base: string | undefined,
): Promise<string | undefined> {
  const indexed = input.index?.files.get(rel);
  if (indexed === undefined) return undefined;
  if (indexed.merged)
    return baseFile !== undefined && (await pathExists(baseFile)) ? indexed.sha256 : undefined;
  // `base` is installedWhole()'s: the app's bytes, which are the installed copy's (indexed.sha256).
  if (base === undefined) return undefined;
  await writeBaseCopy(input.stateDir, indexed.sha256, base);
  return indexed.sha256;
}

/** Whether the app's copy is byte for byte what the last merge wrote (the install index says so). */
function writtenByShip(input: PrepareInput, rel: string, current: string): boolean {
  const written = input.index?.files.get(rel)?.installedSha256;
  return written !== undefined && createHash("sha256").update(current).digest("hex") === written;
}

/** Runs one merge; returns the step to apply (a keep when the merged text is what the app has). */
async function prepareMerge(
  input: PrepareInput,
  step: Extract<PlanStep, { kind: "merge" }>,
  reports: MergeReport[],
  writtenShas: Map<string, string>,
  unusedFound: Map<string, string[] | undefined>,
  keptBases: Map<string, string>,
): Promise<PlanStep> {
  const staged = join(input.stagingDir, step.rel);
  const server = join(input.appDir, step.rel);
  const baseFile = basePathOf(input, step.rel);
  // The copies the check before the hooks read strictly are read strictly here too, named alike:
  // one changed since (by a pre_update hook, say) is refused, not decoded with U+FFFD.
  const keepsUser = keepsUserValues(input.manifest, step.rel, step.rule);
  const incoming = await readMergeCopy(staged, step.rel, "release", step.rel, step.rule);
  const current = keepsUser
    ? await readMergeCopy(server, server, "server", step.rel, step.rule)
    : await readFile(server, "utf8");
  const baseMissing = baseFile !== undefined && !(await pathExists(baseFile));
  const shipsBase =
    baseFile === undefined || baseMissing
      ? undefined
      : keepsUser
        ? await readMergeCopy(baseFile, baseFile, "previous release", step.rel, step.rule)
        : readBaseCopy(baseFile, step.rel).toString("utf8");
  const indexedSha = input.index?.files.get(step.rel)?.sha256;
  // Not the bytes its name records (base-copy.ts): merged as if gone. One that does not parse is
  // refused as the check before the hooks refuses it, naming ship's copy, whatever its bytes.
  const baseDamaged =
    shipsBase !== undefined &&
    baseFile !== undefined &&
    indexedSha !== undefined &&
    baseNotAsNamed(baseFile, indexedSha);
  if (baseDamaged && keepsUser) await checkParses(step, shipsBase, baseFile);
  const baseGone = baseMissing || baseDamaged;
  const base = baseFile === undefined || baseGone ? installedWhole(input, step.rel, current) : shipsBase;
  const sections = sectionsFor(input.manifest, step.rel, step.rule.pattern);
  // Loaded on demand: the YAML/TOML parsers cost more start-up time than most updates take.
  const { mergeConfigFile } = await import("../merge/index.js");
  let merged: MergeResult;
  try {
    merged = mergeConfigFile({
      format: step.format,
      fileName: step.rel,
      names: { server, ...(baseFile === undefined ? {} : { "previous release": baseFile }) },
      current,
      incoming,
      strategy: step.rule.rule.merge_strategy,
      ...(base === undefined ? {} : { base }),
      ...(sections === undefined ? {} : { sections }),
      ...(writtenByShip(input, step.rel, current) ? { currentIsShips: true } : {}),
      unusedSaid: input.index?.unusedSections?.[step.rel] ?? [],
      ...(baseGone ? { baseGone: baseFile } : {}),
      ...(baseDamaged ? { baseDamaged: true } : {}),
    });
  } catch (error) {
    throw baseFile === undefined ? error : namedAsShipsCopy(error, step.rel, baseFile);
  }
  writtenShas.set(step.rel, createHash("sha256").update(merged.text).digest("hex"));
  unusedFound.set(step.rel, merged.unusedSections);
  // A release copy holding no key was not merged: the next release merges against the last copy
  // that held keys, so a default it changes follows it; against the keyless one (read as no earlier
  // copy) it was kept, reported as the operator's.
  const lastKeyed = merged.releaseKeyless
    ? await lastKeyedBase(input, step.rel, baseGone ? undefined : baseFile, base)
    : undefined;
  if (lastKeyed !== undefined) keptBases.set(step.rel, lastKeyed);
  else await writeBaseCopy(input.stateDir, step.entry.sha256, incoming);
  const installedMode = input.app.files.get(step.rel)?.mode;
  if (merged.text === current && installedMode === mergedMode(step.entry.mode, installedMode)) {
    reports.push(reportMerge(input.log, step.rel, merged));
    return { kind: "keep", rel: step.rel };
  }
  // copyTempName: a suffix added to a name near NAME_MAX failed the merge with ENAMETOOLONG.
  const tmp = copyTempName(staged);
  // Owner-only until stageMergedOwnership gives it its mode: it holds the operator's values (a
  // password in a 600 config), and a reader that opened it while it was 644 kept reading it.
  await writeFile(tmp, merged.text, { mode: 0o600 });
  const owner = await stageMergedOwnership(tmp, server, step.entry.mode);
  await rename(tmp, staged);
  const warnings = owner.warning === undefined ? merged.warnings : [...merged.warnings, owner.warning];
  reports.push(reportMerge(input.log, step.rel, { ...merged, warnings }));
  return step;
}

/** Logs one merge's key report (INFO) and each thing the file's form lost (WARN, naming the file). */
function reportMerge(log: Logger | undefined, file: string, merged: MergeResult): MergeReport {
  const { kept, added, updated, removed, deleted, warnings } = merged;
  const gone = deleted === undefined ? {} : { deleted };
  const counts = `${kept.length} kept, ${added.length} added, ${updated.length} updated, ${removed.length} removed${deleted === undefined ? "" : `, ${deleted.length} deleted`}`;
  log?.info(`merged ${file}: ${counts}`, { file, kept, added, updated, removed, ...gone });
  for (const warning of warnings) log?.warn(`merge of ${file}: ${warning}`, { file });
  return { file, kept, added, updated, removed, ...gone, warnings };
}

/** A merge-rule config the operator made a symlink: left as it is, said loudly (WARN and the merge report). */
async function reportLinked(input: PrepareInput, rel: string): Promise<MergeReport> {
  const target = await readlink(join(input.appDir, rel)).catch(() => "?");
  const warning = `${LINKED_CONFIG}${target}), not the file ship installed: not merged and left as it is; the release's copy was not installed, merge its changes into the link's target by hand`;
  input.log?.warn(`merge of ${rel}: ${warning}`, { file: rel });
  return { file: rel, kept: [], added: [], updated: [], removed: [], warnings: [warning] };
}

/**
 * Whether the release's copy of a linked config differs from the one ship last installed there or
 * left beside the link: only then is there something to merge into the link's target by hand, so an
 * update that did not change it says nothing (every run warning about the same link taught
 * operators to skip the warning that mattered).
 */
function linkedCopyChanged(
  input: PrepareInput,
  step: Extract<PlanStep, { kind: "skip"; reason: "linked" }>,
): boolean {
  const before = input.index?.linked?.[step.rel] ?? input.index?.files.get(step.rel)?.sha256;
  return before !== step.sha256;
}

/**
 * A config ship installed before that is gone from the app (the operator deleted it, or moved it
 * away) is installed as the release's copy, as a missing file must be for the app to start; but
 * whatever values the operator had in it are not in that copy, so the run says so, loudly.
 */
function reportDeletedConfig(input: PrepareInput, rel: string): MergeReport {
  const since = input.index?.version === undefined ? "" : ` (${input.index.version})`;
  const warning = `${DELETED_CONFIG}${since}: the release's copy was installed in its place, so it holds the release's values, none of yours; if you had values of your own in it, put them back (an earlier copy may be in a backup, ship --list-backups)`;
  input.log?.warn(`merge of ${rel}: ${warning}`, { file: rel });
  return { file: rel, kept: [], added: [], updated: [], removed: [], warnings: [warning] };
}

function isMergeRule(step: Extract<PlanStep, { kind: "add" }>): boolean {
  return step.rule.rule.action.startsWith("merge_");
}

export async function prepareUpdate(input: PrepareInput): Promise<Prepared> {
  const delta: IndexDelta = {
    version: input.toVersion,
    ...(input.releaseId === undefined ? {} : { releaseId: input.releaseId }),
    set: {},
    drop: [],
    addDirs: input.plan.mkdirs.map((d) => d.rel),
    dropDirs: input.plan.rmdirs.map((d) => d.rel),
    dirModes: releaseDirModes(input.manifest, input.releaseDirs),
  };
  const steps: PlanStep[] = [];
  const merges: MergeReport[] = [];
  const replacedMerges: ReplacedMerge[] = [];
  /** sha256 of each merge's result: what the app holds once it is installed (or kept). */
  const writtenShas = new Map<string, string>();
  /** Each file merged in this run, with the merge_strategies entries that named no key in it. */
  const unusedFound = new Map<string, string[] | undefined>();
  /** sha256 of the earlier base a merged file keeps, for a release copy that held no key. */
  const keptBases = new Map<string, string>();
  for (const planned of input.plan.steps) {
    const step =
      planned.kind === "merge"
        ? await prepareMerge(input, planned, merges, writtenShas, unusedFound, keptBases)
        : planned;
    steps.push(step);
    switch (step.kind) {
      case "add":
        if (isMergeRule(step)) {
          await writeBaseCopy(
            input.stateDir,
            step.entry.sha256,
            await readFile(join(input.stagingDir, step.rel), "utf8"),
          );
        }
        if (isMergeRule(step) && input.index?.files.get(step.rel) !== undefined)
          merges.push(reportDeletedConfig(input, step.rel));
        delta.set[step.rel] = {
          sha256: step.entry.sha256,
          mode: step.entry.mode,
          // Nothing to merge with yet: the app gets the release's own bytes.
          ...(isMergeRule(step) ? { merged: true, installedSha256: step.entry.sha256 } : {}),
        };
        break;
      case "replace":
        delta.set[step.rel] = { sha256: step.entry.sha256, mode: step.entry.mode };
        if (
          input.index?.files.get(step.rel)?.merged === true &&
          input.app.files.get(step.rel)?.type === "file"
        )
          replacedMerges.push(await replacedMerge(input, step));
        break;
      case "merge":
        delta.set[step.rel] = mergedEntry(step.entry, writtenShas.get(step.rel), keptBases.get(step.rel));
        break;
      case "keep":
        keepInIndex(input, planned, delta, { writtenShas, keptBases });
        break;
      case "remove":
        if (input.index?.files.get(step.rel) !== undefined) delta.drop.push(step.rel);
        if (step.reason === "dropped" && input.index?.files.get(step.rel)?.merged === true)
          replacedMerges.push(await replacedMerge(input, step));
        break;
      case "skip":
        if (step.reason === "linked") {
          if (linkedCopyChanged(input, step)) merges.push(await reportLinked(input, step.rel));
          delta.linked = { ...delta.linked, [step.rel]: step.sha256 };
          // No longer ship's file: a later release that drops it must not remove the operator's link.
          if (input.index?.files.get(step.rel) !== undefined) delta.drop.push(step.rel);
        }
        break;
      default:
        unhandled(step);
    }
  }
  const unused = unusedSectionsRecord(input.index, delta, unusedFound);
  if (unused !== undefined) delta.unusedSections = unused;
  return { steps, index: delta, merges, replacedMerges };
}

/**
 * The new index's record of merge_strategies entries that named no key: this run's finding for each
 * file it merged, the last one's for a merged config this run did not merge (its release copy did
 * not change), so the warning waits for a change of the manifest, not for a merge that runs again.
 */
function unusedSectionsRecord(
  index: InstallIndex | undefined,
  delta: IndexDelta,
  found: ReadonlyMap<string, string[] | undefined>,
): Record<string, string[]> | undefined {
  const record: Record<string, string[]> = {};
  for (const [rel, ids] of Object.entries(index?.unusedSections ?? {})) {
    const entry = delta.set[rel];
    const stillMerged = entry === undefined ? !delta.drop.includes(rel) : entry.merged === true;
    if (!found.has(rel) && stillMerged) record[rel] = ids;
  }
  for (const [rel, ids] of found) if (ids !== undefined) record[rel] = ids;
  return Object.keys(record).length === 0 ? undefined : record;
}

/** The copies that say which of the operator's values a replace of a merged config takes away. */
async function replacedMerge(
  input: PrepareInput,
  step: Extract<PlanStep, { kind: "replace" | "remove" }>,
): Promise<ReplacedMerge> {
  const baseFile = basePathOf(input, step.rel);
  const base = baseFile === undefined ? undefined : baseText(baseFile, step.rel);
  const replaced = step.kind === "replace" ? step : undefined;
  return {
    file: step.rel,
    rule:
      replaced === undefined || replaced.rule.pattern === "(default)"
        ? undefined
        : { pattern: replaced.rule.pattern, action: replaced.rule.rule.action },
    current: await readFile(join(input.appDir, step.rel), "utf8"),
    incoming: replaced && (await readFile(join(input.stagingDir, step.rel), "utf8")),
    base,
    keepCopy: replaced?.keepCopy,
  };
}

async function checkParses(
  step: Extract<PlanStep, { kind: "merge" }>,
  text: string,
  baseFile: string,
): Promise<void> {
  const { checkMergeInput } = await import("../merge/index.js");
  try {
    checkMergeInput(step.format, text, baseFile, "previous release");
  } catch (error) {
    throw namedAsShipsCopy(error, step.rel, baseFile);
  }
}

/** ship's copy of `rel` at `baseFile` as text, or undefined when it cannot be read (the report goes without it). */
function baseText(baseFile: string, rel: string): string | undefined {
  try {
    return readBaseCopy(baseFile, rel).toString("utf8");
  } catch {
    return undefined;
  }
}

/**
 * Once the update is in, warns (log and merge report) for each config merged until now that it
 * replaced whole, naming the operator's values that went and where their copy is kept.
 */
export async function reportReplacedMerges(
  replaced: readonly ReplacedMerge[],
  backupFiles: string,
  log: Logger | undefined,
): Promise<MergeReport[]> {
  if (replaced.length === 0) return [];
  const { replacedMergeReport } = await import("../merge/replaced-merge.js");
  const reports: MergeReport[] = [];
  for (const one of replaced) {
    const report = replacedMergeReport({ ...one, backupCopy: join(backupFiles, one.file) });
    if (report === undefined) continue;
    for (const warning of report.warnings) log?.warn(warning, { file: one.file });
    reports.push(report);
  }
  return reports;
}

/** A kept file enters the index with a fresh stat when the index could not vouch for it (so it is not hashed again). */
function keepInIndex(
  input: PrepareInput,
  planned: PlanStep,
  delta: IndexDelta,
  merged: { writtenShas: ReadonlyMap<string, string>; keptBases: ReadonlyMap<string, string> },
): void {
  if (planned.kind === "merge") {
    const rel = planned.rel;
    delta.set[rel] = mergedEntry(planned.entry, merged.writtenShas.get(rel), merged.keptBases.get(rel));
    return;
  }
  const sha = input.appHashes.get(planned.rel);
  const app = input.app.files.get(planned.rel);
  // "": a file ship's user could not read (hashEntriesOrUnknown), whose content no entry may claim.
  if (sha !== undefined && sha !== "" && app !== undefined) {
    delta.set[planned.rel] = {
      sha256: sha,
      mode: app.mode,
      ...(input.index?.files.get(planned.rel)?.merged ? { merged: true, installedSha256: sha } : {}),
    };
  }
}

/**
 * A merged file's index entry: the release's copy (the next merge's base; an earlier one `base`
 * names when this release's held no key) and what ship wrote.
 */
function mergedEntry(entry: { sha256: string; mode: number }, written: string | undefined, base?: string) {
  return {
    sha256: base ?? entry.sha256,
    mode: entry.mode,
    merged: true,
    ...(written === undefined ? {} : { installedSha256: written }),
  };
}

/** The compiler rejects the call when a step kind has no case above. */
function unhandled(value: never): never {
  throw new Error(`unhandled step ${JSON.stringify(value)}`);
}
