/**
 * applyUpdate: plan → prepare (merges) → backup changeset + journal → file operations → commit →
 * finalize. Before the journal is written nothing in the app has changed; after it, a crash at any
 * point is undone (or finished, once committed) by recoverApp.
 */
import { constants as fsConstants, lstatSync } from "node:fs";
import { chmod, copyFile, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import {
  errorMessage,
  RestoreFailedError,
  UpdateFailedError,
  UpdateNotAppliedError,
} from "../../shared/errors.js";
import { errnoCode, errnoErrorText } from "../../shared/fs-errors.js";
import type { Logger } from "../../shared/log.js";
import { makeDirs } from "../../shared/make-dirs.js";
import type { Manifest } from "../../shared/manifest/schema.js";
import type { MergeReport } from "../../shared/protocol/messages.js";
import {
  type BackupInfo,
  backupFilesDir,
  listBackups,
  newBackupId,
  writeBackupInventory,
  writeBackupMeta,
  writeUndoneManifest,
} from "../backup/backup-store.js";
import { dirTimesBefore, dropSubMicroseconds } from "../backup/dir-times.js";
import {
  INVENTORY_FILE,
  PREVIOUS_INDEX_FILE,
  SAVED_INDEX_BASE_FILE,
  UNDONE_MANIFEST_FILE,
} from "../backup/record-names.js";
import { savedIndexLineSums } from "../backup/saved-index-sum.js";
import { type KnownContent, writeSavedSizes } from "../backup/saved-sizes.js";
import { shownPath } from "../backup/unrestored.js";
import { PROGRESS_DELAY_MS, progressReporter } from "../download/progress.js";
import { faultPoint } from "../fault.js";
import { isUnwritableDir, unwritableRecord } from "../state/record-file.js";
import { linkEntry, lstatOrUndefined, ownerOnlyDir } from "../tree/fs-ops.js";
import { hashEntriesOrUnknown, hashFile, mapLimit } from "../tree/hash-file.js";
import { loopSlices } from "../tree/loop-slices.js";
import { dirIdentity, realDir } from "../tree/path-on-disk.js";
import { errnoRemedy } from "../tree/remove-tree.js";
import { scanTree } from "../tree/scan-tree.js";
import { type FileOp, type OpContext, runForward } from "./file-ops.js";
import { finalizeUpdate } from "./finalize-update.js";
import { type SplitLink, splitLinks, splitLinkText } from "./hard-links.js";
import { indexBaseOf, indexPath, readInstallIndex } from "./install-index.js";
import { JOURNAL_OF, journalPath, type UpdateJournal, writeJournal } from "./journal.js";
import { withoutForeignKeepCopies } from "./keep-copies.js";
import { anyUnder, mountPointInTheWay } from "./mount-points.js";
import { buildOps, type Inventory, inventoryOf } from "./ops.js";
import { draftPlan, finishPlan, summarizePlan } from "./plan.js";
import { prepareUpdate, reportReplacedMerges } from "./prepare.js";
import { privilegedModes, stagePrivilegedFiles } from "./privileged-files.js";
import { recoverApp, rollBackUpdate } from "./recover.js";
import { type OwnerNotKept, stageReplacedOwnership } from "./replaced-file-owner.js";
import { protectedDirectoryOf } from "./rules.js";
import { statMatches } from "./stat-match.js";
import type {
  InstallIndex,
  PlanConflict,
  PlanStep,
  PlanSummary,
  ReleaseEntry,
  ReleaseTree,
  TreeScan,
} from "./types.js";

export interface ApplyUpdateInput {
  /** The source's name; backups live in <backupRoot>/<app>/. */
  app: string;
  appDir: string;
  /** The staged release; its directory must be on the app's filesystem for renames (else: copies, logged). */
  release: ReleaseTree;
  manifest: Manifest;
  /** The source's id of this release, recorded in the install index (what sources compare against). */
  releaseId?: string;
  /**
   * Stages release files missing from the staging directory (a source that left out what the app
   * already held, when the app changed since). Without it, a missing file stops the update unchanged.
   */
  materialize?: (rels: readonly string[]) => Promise<void>;
  /** Per-app state: install index, journal, merge bases. Created if missing. */
  stateDir: string;
  /** `general.backup_dir`. */
  backupRoot: string;
  /** The version the state file records as installed: with no install index, the index was lost. */
  previousVersion?: string | null;
  /** `privileged_files` patterns: these keep their owner, group and mode (see privileged-files.ts). */
  privilegedFiles?: readonly string[];
  log?: Logger;
  now?: () => Date;
}

export interface AppliedUpdate {
  app: string;
  fromVersion: string | null;
  toVersion: string;
  /** Every file's fate (merges that changed nothing are keeps). */
  steps: PlanStep[];
  summary: PlanSummary;
  /** The backup restoreBackup takes to undo this update. */
  backup: BackupInfo;
  /** File operations performed, and how many had to copy across filesystems. */
  operations: number;
  copied: number;
  /** Every merged config file's key report (also logged as the merge happens). */
  merges: MergeReport[];
  /** Milliseconds per phase (scan, hash, plan, prepare, backup, apply, finalize), for the log and reports. */
  timings: Record<string, number>;
  /** Files ship had not installed that this update replaced (their previous versions are in the backup). */
  overwritten: string[];
  /** Files ship installed, changed on this host since, that this update replaced or removed. */
  edited: EditedOnHost;
  /** Replaced files whose owner ship could not give their new version: now ship's. */
  ownersNotKept: OwnerNotKept[];
  /** Files saved into a backup on another filesystem whose copies could not keep their owner. */
  backupOwnersNotKept: OwnerNotKept[];
  /** Replaced files with other names (hard links), which keep the old content. */
  splitLinks: SplitLink[];
}

/** App files ship installed whose bytes were changed on the host since, by what the update did to them. */
export interface EditedOnHost {
  /** Replaced with the release's copy. */
  replaced: string[];
  /** Removed: the release no longer ships them. */
  removed: string[];
}

/** Conflicts named in the error (and so in the state's last_error and the hub report); the log has all. */
const SHOWN_CONFLICTS = 5;

/**
 * One readable line however many paths conflict: a symlinked directory with 20,000 release files
 * under it would otherwise make a megabyte-long error, state entry and report.
 */
export function conflictSummary(conflicts: readonly PlanConflict[], appDir?: string): string {
  const shown = conflictLines(conflicts.slice(0, SHOWN_CONFLICTS), appDir).join("; ");
  const more = conflicts.length - SHOWN_CONFLICTS;
  return more > 0 ? `${shown}; and ${more} more (the log lists them all)` : shown;
}

/** Each conflict as `path: problem`, a name with a line break JSON-quoted so each stays one line. */
function conflictLines(conflicts: readonly PlanConflict[], appDir?: string): string[] {
  return conflicts.map(
    (c) => `${shownPath(appDir === undefined ? c.rel : `${appDir}/${c.rel}`)}: ${c.problem}`,
  );
}

/** Records how long each phase took, for the log line every step gets. */
function phaseClock(): { lap: (phase: string) => void; timings: Record<string, number> } {
  const timings: Record<string, number> = {};
  let mark = performance.now();
  return {
    timings,
    lap: (phase) => {
      const now = performance.now();
      timings[phase] = Math.round(now - mark);
      mark = now;
    },
  };
}

async function hashSuspects(appDir: string, rels: string[], scan: TreeScan): Promise<Map<string, string>> {
  const items = rels.map((rel) => {
    const entry = scan.files.get(rel);
    return { rel, type: entry?.type ?? "file", size: entry?.size ?? Number.POSITIVE_INFINITY };
  });
  // One ship's user may not read is replaced unread, as one of another size always was: the rename
  // needs no read, and a same-sized mode-000 file failed the update at apply ("cannot open").
  const hashes = await hashEntriesOrUnknown(appDir, items);
  return new Map(rels.map((rel, i) => [rel, hashes[i] ?? ""]));
}

export async function applyUpdate(input: ApplyUpdateInput): Promise<AppliedUpdate> {
  const { app, appDir, manifest, stateDir, log } = input;
  const recovered = await recoverApp({ stateDir, log });
  if (recovered.action !== "none") log?.warn(recovered.message);
  const clock = phaseClock();
  await makeDirs(stateDir);
  await makeDirs(appDir);
  const index = await readInstallIndex(stateDir);
  // Asked again here: a mount made since the check (by a pre_update hook) was written through.
  const mounted = mountPointInTheWay({
    manifest,
    appDir,
    index,
    writes: (rel) => anyUnder(input.release.files.keys(), rel),
  });
  if (mounted !== undefined) throw new UpdateNotAppliedError(app, "plan", mounted);
  const scan: TreeScan = await scanTree(appDir, {
    skipDir: (rel) => protectedDirectoryOf(manifest, rel) !== undefined,
  });
  clock.lap("scan");
  const privileged = input.privilegedFiles ?? [];
  const planInput = {
    manifest,
    release: privilegedModes(input.release.files, scan, privileged),
    releaseDirs: input.release.dirs,
    app: scan,
    index,
  };
  // One pass over the listing decides what stat can; the files it could not wait for their hashes.
  const draft = draftPlan(planInput);
  const appHashes = await hashSuspects(appDir, draft.toHash, scan);
  clock.lap("hash");
  const planned = finishPlan(draft, appHashes);
  if (planned.conflicts.length > 0) {
    if (planned.conflicts.length > SHOWN_CONFLICTS)
      log?.error("the plan found conflicts", { conflicts: conflictLines(planned.conflicts) });
    throw new UpdateNotAppliedError(app, "plan", conflictSummary(planned.conflicts));
  }
  const keepCopies = await withoutForeignKeepCopies(planned.steps, {
    appDir,
    backupRoot: input.backupRoot,
    scan,
  });
  if (keepCopies.dropped.length > 0) {
    log?.warn("kept the previous version in the backup only: these names hold files ship did not write", {
      app,
      files: keepCopies.dropped,
    });
  }
  if (keepCopies.tooLong.length > 0) {
    log?.warn("kept the previous version in the backup only: a .bak beside these would be a name too long", {
      app,
      files: keepCopies.tooLong,
    });
  }
  const plan = { ...planned, steps: keepCopies.steps };
  const overwritten = notShipsFiles(plan.steps, index);
  const { edited, hashed } = await editedOnHost(appDir, plan.steps, index, scan, appHashes, log);
  await stageMissing(input, plan.steps, index, scan);
  clock.lap("plan");
  const toVersion = manifest.version;
  const stagingDir = input.release.dir;
  const prepared = await prepareUpdate({
    plan,
    manifest,
    app: scan,
    appDir,
    stagingDir,
    stateDir,
    index,
    appHashes,
    toVersion,
    ...(log === undefined ? {} : { log }),
    ...(input.releaseId === undefined ? {} : { releaseId: input.releaseId }),
    ...(input.release.dirs === undefined ? {} : { releaseDirs: input.release.dirs }),
  });
  await stagePrivilegedFiles({
    app,
    appDir,
    stagingDir,
    steps: prepared.steps,
    patterns: privileged,
    ...(log === undefined ? {} : { log }),
  });
  const ownersNotKept = await stageReplacedOwnership({
    appDir,
    stagingDir,
    steps: prepared.steps,
    privileged,
    ...(log === undefined ? {} : { log }),
  });
  const ops = withRemovedDirOwners(appDir, buildOps(prepared.steps, plan, scan, input.release.files));
  // From the scan, before the backup's own hard links add a name to every replaced file. Only an
  // app with hard-linked files is asked: the set of kept files is 20,000 names for nothing otherwise.
  const split =
    scan.linked === undefined
      ? []
      : splitLinks(
          ops,
          scan,
          new Set(prepared.steps.filter((step) => step.kind === "keep").map((step) => step.rel)),
        );
  clock.lap("prepare");

  const created = (input.now ?? (() => new Date()))();
  const inventory = inventoryOf(ops, scan);
  const backup = await startBackup(input, { index, created, inventory });
  const journal: UpdateJournal = {
    kind: "update",
    phase: "applying",
    app,
    appDir,
    stagingDir,
    stateDir,
    backupRoot: input.backupRoot,
    backupPath: backup.path,
    fromVersion: backup.version,
    toVersion,
    ops,
    index: prepared.index,
  };
  await writeFirstJournal(journal);
  faultPoint("apply:journal-written");
  clock.lap("backup");

  const backupOwnersNotKept: OwnerNotKept[] = [];
  const copied = await runOpsOrUndo(
    journal,
    {
      appDir,
      stagingDir,
      backupFiles: backupFilesDir(backup.path),
      onOwnerLost: (file, owner) => backupOwnersNotKept.push({ file, owner }),
    },
    log,
  );
  faultPoint("apply:committed");
  // So that the next update's backup records directory times a restore sets without touch(1).
  dropSubMicroseconds(appDir, inventory);
  // Sizes lost to a failure here only go unchecked: the update stands.
  const known = knownContents(inventory.changed, scan, index, [appHashes, hashed]);
  await writeSavedSizes(backup.path, inventory.changed, known).catch((error: unknown) =>
    log?.warn("could not record the sizes of the backup's copies", { error: errnoErrorText(error) }),
  );
  clock.lap("apply");
  await finalizeUpdate({ ...journal, phase: "committed" }, index);
  clock.lap("finalize");
  if (overwritten.length > 0)
    log?.warn("replaced files ship had not installed; their previous versions are in the backup", {
      app,
      files: overwritten,
      backup: backupFilesDir(backup.path),
    });
  if (split.length > 0)
    log?.warn("replaced files that had other names (hard links): the other names keep the old content", {
      app,
      files: split.map((link) => splitLinkText(link)),
    });
  const replaced = await reportReplacedMerges(prepared.replacedMerges, backupFilesDir(backup.path), log);
  const summary = summarizePlan({ ...plan, steps: prepared.steps });
  log?.info("applied update", {
    app,
    fromVersion: backup.version,
    toVersion,
    ...summary,
    backup: backup.id,
    operations: ops.length,
    copied,
    ms: clock.timings,
  });
  return {
    app,
    fromVersion: backup.version,
    toVersion,
    steps: prepared.steps,
    merges: [...prepared.merges, ...replaced],
    summary,
    operations: ops.length,
    copied,
    backup,
    timings: clock.timings,
    overwritten,
    edited,
    ownersNotKept,
    backupOwnersNotKept,
    splitLinks: split,
  };
}

/**
 * Files ship installed that were changed on this host since (a hotfix made by hand, a config with
 * no merge rule edited in place) and that this update replaces, or removes because the release
 * dropped them: their previous versions are in the backup only, and nothing else would tell the
 * operator their edit went. Judged by content: the index's stat vouches for untouched files (no
 * read), the rest are hashed (a symlink by its target's text), so a `touch` or a `chmod` is no
 * edit and a file made a link is one. Merged configs are not here:
 * replaced-merge.ts names which of the operator's values went, key by key. A file that cannot be
 * read now is left out (the update itself decides what that means); the warning is a courtesy,
 * never a reason to fail.
 */
async function editedOnHost(
  appDir: string,
  steps: readonly PlanStep[],
  index: InstallIndex | undefined,
  scan: TreeScan,
  appHashes: ReadonlyMap<string, string>,
  log: Logger | undefined,
): Promise<{ edited: EditedOnHost; hashed: ReadonlyMap<string, string> }> {
  const edited: EditedOnHost = { replaced: [], removed: [] };
  const none = { edited, hashed: new Map<string, string>() };
  if (index === undefined) return none;
  const suspects: { rel: string; list: string[] }[] = [];
  for (const step of steps) {
    const list =
      step.kind === "replace"
        ? edited.replaced
        : step.kind === "remove" && step.reason === "dropped"
          ? edited.removed
          : undefined;
    if (list === undefined) continue;
    const indexed = index.files.get(step.rel);
    const app = scan.files.get(step.rel);
    // A link the operator put where ship installed a file (or retargeted one ship installed) is an
    // edit like any other: its sha256 is the target's text's, never the file's.
    if (indexed === undefined || indexed.merged === true || app === undefined) continue;
    if (statMatches(app, indexed)) continue;
    suspects.push({ rel: step.rel, list });
  }
  if (suspects.length === 0) return none;
  const unhashed = suspects.map((s) => s.rel).filter((rel) => !appHashes.has(rel));
  let hashed: ReadonlyMap<string, string>;
  try {
    hashed = await hashSuspects(appDir, unhashed, scan);
  } catch (error) {
    log?.debug("could not tell which replaced files were changed on this host", {
      error: errorMessage(error),
    });
    return none;
  }
  for (const { rel, list } of suspects) {
    const now = appHashes.get(rel) ?? hashed.get(rel);
    if (now !== undefined && now !== "" && now !== index.files.sha256Of(rel)) list.push(rel);
  }
  return { edited, hashed };
}

/**
 * What the update already knows of the app files it moves into the backup: the scan's stat and a
 * sha256, from the hashes read this run or from the index where its stat vouches for the file (a
 * merged file's bytes are `installedSha256`, not the release's `sha256`). saved.json reads only
 * the copies left out.
 */
function knownContents(
  rels: readonly string[],
  scan: TreeScan,
  index: InstallIndex | undefined,
  hashes: readonly ReadonlyMap<string, string>[],
): Map<string, KnownContent> {
  const known = new Map<string, KnownContent>();
  for (const rel of rels) {
    const app = scan.files.get(rel);
    if (app?.type !== "file") continue;
    const indexed = index?.files.get(rel);
    const vouched =
      indexed !== undefined && statMatches(app, indexed)
        ? indexed.merged === true
          ? indexed.installedSha256
          : indexed.sha256
        : undefined;
    const sha256 = vouched ?? hashes.map((h) => h.get(rel)).find((h) => h !== undefined && h !== "");
    if (sha256 !== undefined) known.set(rel, { size: app.size, mtimeMs: app.mtimeMs, ino: app.ino, sha256 });
  }
  return known;
}

/**
 * App files a release now ships that ship had not installed (an operator's own `local.conf`, made
 * beside the app's files): replaced like any file, their previous version kept in the backup only.
 * Said loudly, since nothing else would tell the operator. None on ship's first install over an app,
 * where every file is one ship did not install and replacing them is the point.
 */
function notShipsFiles(steps: readonly PlanStep[], index: InstallIndex | undefined): string[] {
  if (index === undefined) return [];
  return steps.filter((s) => s.kind === "replace" && !index.files.has(s.rel)).map((s) => s.rel);
}

/**
 * Every file the plan installs must be in staging before anything is written. A source may have
 * left out files the app held byte for byte. When only the mode changed, the app still holds the
 * bytes and they are copied from it (and checked); otherwise the source stages them now.
 */
async function stageMissing(
  input: ApplyUpdateInput,
  steps: readonly PlanStep[],
  index: InstallIndex | undefined,
  scan: TreeScan,
): Promise<void> {
  const { dir, files } = input.release;
  const installs = steps.filter((s) => s.kind === "add" || s.kind === "replace" || s.kind === "merge");
  // A staged path of the wrong type (a directory, or a symlink where the listing has a file) would
  // be renamed into the app as it is: it counts as missing, and goes, so it is staged again.
  const missing: string[] = [];
  const slice = loopSlices();
  for (const s of installs) {
    const pause = slice();
    if (pause !== undefined) await pause;
    const staged = lstatSync(join(dir, s.rel), { throwIfNoEntry: false });
    if (staged !== undefined && (s.entry.type === "file" ? staged.isFile() : staged.isSymbolicLink()))
      continue;
    if (staged !== undefined) await rm(join(dir, s.rel), { recursive: true, force: true });
    missing.push(s.rel);
  }
  if (missing.length === 0) return;
  const fromSource: string[] = [];
  for (const rel of missing) {
    const entry = files.get(rel);
    const indexed = index?.files.get(rel);
    const app = scan.files.get(rel);
    const sameBytes =
      entry?.type === "file" &&
      app !== undefined &&
      indexed?.merged !== true &&
      indexed?.sha256 === entry.sha256 &&
      statMatches(app, indexed);
    if (!sameBytes || !(await copyVerified(join(input.appDir, rel), join(dir, rel), entry)))
      fromSource.push(rel);
  }
  if (fromSource.length === 0) return;
  if (input.materialize === undefined) {
    throw new UpdateNotAppliedError(
      input.app,
      "plan",
      `${fromSource[0]}${fromSource.length > 1 ? ` and ${fromSource.length - 1} more` : ""} changed in the app while the release was staged; the next run tries again`,
    );
  }
  input.log?.info("staging release files the app no longer holds", { files: fromSource.length });
  await input.materialize(fromSource);
  // The source writes its own listing's modes; the plan's (the manifest's umask applied) are installed.
  await mapLimit(fromSource, 8, async (rel) => {
    const entry = files.get(rel);
    if (entry?.type === "file") await chmod(join(dir, rel), entry.mode);
  });
}

/** Copies `from` to the staging path `to` with the entry's mode; false (and nothing left) unless the bytes hash as expected. */
async function copyVerified(from: string, to: string, entry: ReleaseEntry): Promise<boolean> {
  await makeDirs(dirname(to));
  await copyFile(from, to, fsConstants.COPYFILE_FICLONE);
  if ((await hashFile(to)) !== entry.sha256) {
    await rm(to, { force: true });
    return false;
  }
  await chmod(to, entry.mode);
  return true;
}

/** Creates the backup directory with its inventory; `complete` stays false until finalize. */
async function startBackup(
  input: ApplyUpdateInput,
  facts: { index: InstallIndex | undefined; created: Date; inventory: Inventory },
): Promise<BackupInfo> {
  const { app } = input;
  const id = await newBackupId(input.backupRoot, app, facts.created);
  // Before the backup's directory is made: a listing that fails leaves nothing behind.
  const unrecorded = await foundIndexLost(input, facts.index === undefined, id);
  const path = join(input.backupRoot, app, id);
  try {
    // The app's backups are ship's alone: they hold copies of files the app directory's mode may
    // be what keeps secret (older backups an earlier ship left open are closed with them).
    await ownerOnlyDir(join(input.backupRoot, app), { followLink: true });
    await makeDirs(backupFilesDir(path));
    faultPoint("backup:started"); // a kill here leaves a backup directory without meta.json
    const info = await writeBackupRecords(input, facts, { id, path, unrecorded });
    faultPoint("backup:recorded"); // and here one whose meta.json says complete: false, no journal
    return info;
  } catch (error) {
    // A disk filled since the run began (by a pre_update hook, a log): the half-written backup
    // stayed behind for good, unlisted, and the line said only "no space left on device (ENOSPC)".
    await rm(path, { recursive: true, force: true }).catch(() => undefined);
    throw new UpdateNotAppliedError(app, "apply", `could not start the backup ${path}: ${opFailure(error)}`);
  }
}

/** The backup's records, written before the journal: nothing in the app has changed yet. */
async function writeBackupRecords(
  input: ApplyUpdateInput,
  facts: { index: InstallIndex | undefined; created: Date; inventory: Inventory },
  backup: { id: string; path: string; unrecorded: boolean },
): Promise<BackupInfo> {
  const { app, stateDir } = input;
  const { id, path, unrecorded } = backup;
  const fromVersion = facts.index?.version ?? null;
  // The index file is only ever replaced by rename, so a hard link keeps the previous one intact for free.
  const savedIndex = join(path, PREVIOUS_INDEX_FILE);
  if (facts.index !== undefined) {
    await linkEntry(indexPath(stateDir), savedIndex);
    // A head (install-index.ts): its base is saved beside it, so the backup holds the whole index.
    const base = indexBaseOf(savedIndex);
    if (base !== undefined) await linkEntry(join(stateDir, base.name), join(path, SAVED_INDEX_BASE_FILE));
  }
  const indexBytes = facts.index === undefined ? undefined : lstatOrUndefined(savedIndex)?.size;
  const indexLineSums = indexBytes === undefined ? undefined : savedIndexLineSums(path);
  const created = facts.created.toISOString();
  // The merged entries only: no pass over the index's 20,000 for the few merged files.
  const bases: string[] = [];
  for (const [, f] of facts.index?.files.merged() ?? []) bases.push(f.sha256);
  const toVersion = input.manifest.version;
  const { bytes, ...inventory } = facts.inventory;
  const inventoryWritten = await writeBackupInventory(path, {
    ...inventory,
    dirTimes: dirTimesBefore(input.appDir, inventory),
  });
  const manifestWritten = await writeUndoneManifest(path, input.manifest);
  const files = inventory.changed.length;
  await writeBackupMeta(path, {
    id,
    app,
    fromVersion,
    toVersion,
    created,
    appDir: input.appDir,
    appRealDir: realDir(input.appDir),
    ...dirIdentity(input.appDir),
    stateDir,
    ...(input.releaseId === undefined ? {} : { toReleaseId: input.releaseId }),
    ...(unrecorded ? { unrecorded: true } : {}),
    ...(indexBytes === undefined ? {} : { indexBytes }),
    ...(indexLineSums === undefined ? {} : { indexLineSums }),
    manifestBytes: manifestWritten.bytes,
    inventorySizes: [inventoryWritten.bytes],
    recordSums: { [INVENTORY_FILE]: inventoryWritten.sum, [UNDONE_MANIFEST_FILE]: manifestWritten.sum },
    bytes,
    files,
    bases,
    complete: false,
  });
  return {
    id,
    app,
    version: fromVersion,
    replacedBy: toVersion,
    created,
    size: bytes,
    files,
    path,
    appDir: input.appDir,
  };
}

/**
 * Writes the update's journal, before which nothing in the app has changed. A state directory that
 * became unwritable since the run checked it (a pre_update hook replaced it with a file, chattr +i)
 * was taken for an apply that died half-way: recovery could not read the journal either, and the
 * run said "UPDATE FAILED AND RESTORE FAILED — the app needs a person", exit 3, of an app it had not
 * touched. The backup begun for it is removed (it would be a partial one), and the error says what
 * is wrong with the directory: a ShipError, which the failure path takes for "refused before its
 * first write".
 */
async function writeFirstJournal(journal: UpdateJournal): Promise<void> {
  try {
    await writeJournal(journal.stateDir, journal);
  } catch (error) {
    await rm(journal.backupPath, { recursive: true, force: true }).catch(() => undefined);
    if (isUnwritableDir(error)) throw unwritableRecord(journalPath(journal.stateDir), JOURNAL_OF, error);
    throw new UpdateNotAppliedError(
      journal.app,
      "apply",
      `cannot write ${journalPath(journal.stateDir)}: ${opFailure(error)}`,
    );
  }
}

/**
 * Runs the operations and commits; on an error (disk full, permissions) undoes them at once,
 * exactly as recovery would after a crash, and reports an update that changed nothing.
 */
async function runOpsOrUndo(
  journal: UpdateJournal,
  paths: Omit<OpContext, "onCopy">,
  log?: Logger,
): Promise<number> {
  try {
    const copied = await runOps(journal.app, journal.ops, paths, log);
    faultPoint("apply:before-commit");
    // The commit point: from here on a crash or error leaves the new release in place.
    await writeJournal(journal.stateDir, { ...journal, phase: "committed" });
    return copied;
  } catch (error) {
    const reason = opFailure(error);
    try {
      await rollBackUpdate(journal);
    } catch (undoError) {
      const undoReason = opFailure(undoError);
      throw new RestoreFailedError(journal.app, reason, undoReason);
    }
    throw new UpdateFailedError(journal.app, "apply", reason);
  }
}

/**
 * A file operation's error in one line: the call, the paths, the errno in words and the usual fix
 * ("cannot rename … to …: operation not permitted (EPERM) — … immutable …"), not Node's own text.
 */
function opFailure(error: unknown): string {
  if (errnoCode(error) === undefined) return errorMessage(error);
  return `${errnoErrorText(error)}${errnoRemedy(errnoCode(error))}`;
}

/** Runs the operations in order; returns how many had to copy instead of rename/link. */
async function runOps(
  app: string,
  ops: readonly FileOp[],
  paths: Omit<OpContext, "onCopy">,
  log?: Logger,
): Promise<number> {
  let copied = 0;
  const ctx: OpContext = {
    ...paths,
    onCopy: (rel) => {
      if (copied++ === 0)
        log?.warn(
          "copying instead of renaming or hard-linking (slower): another filesystem, or links refused there",
          {
            first: rel,
          },
        );
    },
  };
  // As a restore's: without a log, a terminal still gets the bar (stderr), and nothing else does.
  const progress = progressReporter({
    label: app,
    ...(log === undefined ? {} : { log }),
    action: "applying",
    unit: "changes",
    delayMs: PROGRESS_DELAY_MS,
  });
  // runForward's moves are synchronous: 20,000 of them held the event loop (the agent's "still
  // working" to the hub) for 3-10 s on a loaded host, so the loop is let run every slice.
  const slice = loopSlices();
  for (let i = 0; i < ops.length; i++) {
    await runForward(ops[i] as FileOp, ctx);
    faultPoint("apply:file");
    progress(i + 1, ops.length);
    const pause = slice();
    if (pause !== undefined) await pause;
  }
  return copied;
}

/**
 * The directories the update removes, with the mode and owner they have on disk (the scan knows
 * only the mode the release gave them): an undo or `ship --rollback` brings each back as it was,
 * an operator's `chmod 770` and `chown www-data` included. A handful of lstats, for removed
 * directories only.
 */
function withRemovedDirOwners(appDir: string, ops: FileOp[]): FileOp[] {
  return ops.map((op) => {
    if (op.op !== "rmdir") return op;
    const stat = lstatOrUndefined(join(appDir, op.rel));
    if (stat === undefined || !stat.isDirectory()) return op;
    return { ...op, mode: stat.mode & 0o7777, uid: stat.uid, gid: stat.gid };
  });
}

/**
 * Whether an update that found no install index replaces a tree ship installed (the index was
 * deleted or lost) rather than the tree before ship: the state named a version, or an older backup
 * of this app directory exists. The state alone did not tell: a run first aligns the state with the
 * index (sync-installed.ts), so the version it named was already gone when the apply began, and the
 * backup then listed as "(pre-ship)" once keep_backups had pruned the older ones.
 */
async function foundIndexLost(input: ApplyUpdateInput, noIndex: boolean, ownId: string): Promise<boolean> {
  if (!noIndex) return false;
  if (input.previousVersion != null) return true;
  // An unlistable backup_dir throws BackupDirUnlistableError (exit 2) like every listing; it cannot
  // get here in practice (newBackupId listed this directory a moment ago), and a guess would only
  // have chosen this backup's label.
  const older = await listBackups(input.backupRoot, input.app, input.appDir);
  return older.some((b) => b.id !== ownId);
}
