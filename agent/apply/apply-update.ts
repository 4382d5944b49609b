/**
 * applyUpdate: plan → prepare (merges) → backup changeset + journal → file operations → commit →
 * finalize. Before the journal is written nothing in the app has changed; after it, a crash at any
 * point is undone (or finished, once committed) by recoverApp.
 */
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { RestoreFailedError, UpdateFailedError } from "../../shared/errors.js";
import type { Logger } from "../../shared/log.js";
import type { Manifest } from "../../shared/manifest/schema.js";
import {
  type BackupInfo,
  backupFilesDir,
  newBackupId,
  PREVIOUS_INDEX_FILE,
  writeBackupMeta,
} from "../backup/backup-store.js";
import { faultPoint } from "../fault.js";
import { writeFileAtomic } from "../tree/fs-ops.js";
import { hashEntry, mapLimit } from "../tree/hash-file.js";
import { scanTree } from "../tree/scan-tree.js";
import { type FileOp, type OpContext, runForward } from "./file-ops.js";
import { finalizeUpdate } from "./finalize-update.js";
import { readInstallIndex } from "./install-index.js";
import { type UpdateJournal, writeJournal } from "./journal.js";
import { buildOps, inventoryOf } from "./ops.js";
import { filesToHash, planUpdate, summarizePlan } from "./plan.js";
import { prepareUpdate } from "./prepare.js";
import { recoverApp, rollBackUpdate } from "./recover.js";
import { protectedDirectoryOf } from "./rules.js";
import type { PlanStep, PlanSummary, ReleaseTree, TreeScan } from "./types.js";

export interface ApplyUpdateInput {
  /** The source's name; backups live in <backupRoot>/<app>/. */
  app: string;
  appDir: string;
  /** The staged release; its directory must be on the app's filesystem for renames (else: copies, logged). */
  release: ReleaseTree;
  manifest: Manifest;
  /** Per-app state: install index, journal, merge bases. Created if missing. */
  stateDir: string;
  /** `general.backup_dir`. */
  backupRoot: string;
  /** Default: the manifest's rollback.keep_backups. */
  keepBackups?: number;
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
}

async function hashSuspects(appDir: string, rels: string[]): Promise<Map<string, string>> {
  const hashes = await mapLimit(rels, 8, (rel) => hashEntry(join(appDir, rel)));
  return new Map(rels.map((rel, i) => [rel, hashes[i] ?? ""]));
}

export async function applyUpdate(input: ApplyUpdateInput): Promise<AppliedUpdate> {
  const { app, appDir, manifest, stateDir, log } = input;
  const recovered = await recoverApp({ stateDir, log });
  if (recovered.action !== "none") log?.warn(recovered.message);
  await mkdir(stateDir, { recursive: true });
  await mkdir(appDir, { recursive: true });
  const index = await readInstallIndex(stateDir);
  const scan: TreeScan = await scanTree(appDir, {
    skipDir: (rel) => protectedDirectoryOf(manifest, rel) !== undefined,
  });
  const planInput = {
    manifest,
    release: input.release.files,
    releaseDirs: input.release.dirs,
    app: scan,
    index,
  };
  const appHashes = await hashSuspects(appDir, filesToHash(planInput));
  const plan = planUpdate({ ...planInput, appHashes });
  if (plan.conflicts.length > 0) throw new UpdateFailedError(app, "plan", plan.conflicts.join("; "));

  const toVersion = manifest.version;
  const prepared = await prepareUpdate({
    plan,
    manifest,
    app: scan,
    appDir,
    stagingDir: input.release.dir,
    stateDir,
    index,
    appHashes,
    toVersion,
  });
  const ops = buildOps(prepared.steps, plan, scan, input.release.files);
  const inventory = inventoryOf(ops, scan);
  const created = (input.now ?? (() => new Date()))();
  const id = await newBackupId(input.backupRoot, app, created);
  const backupPath = join(input.backupRoot, app, id);
  await mkdir(backupFilesDir(backupPath), { recursive: true });
  const fromVersion = index?.version ?? null;
  if (index !== undefined)
    await writeFileAtomic(join(backupPath, PREVIOUS_INDEX_FILE), JSON.stringify(index));
  await writeBackupMeta(backupPath, {
    id,
    app,
    fromVersion,
    toVersion,
    created: created.toISOString(),
    appDir,
    stateDir,
    ...inventory,
    bases: Object.values(index?.files ?? {})
      .filter((f) => f.merged)
      .map((f) => f.sha256),
    complete: false,
  });
  const journal: UpdateJournal = {
    kind: "update",
    phase: "applying",
    app,
    appDir,
    stagingDir: input.release.dir,
    stateDir,
    backupRoot: input.backupRoot,
    backupPath,
    keepBackups: input.keepBackups ?? manifest.rollback.keep_backups,
    fromVersion,
    toVersion,
    ops,
    index: prepared.index,
  };
  await writeJournal(stateDir, journal);
  faultPoint("apply:journal-written");

  const paths = { appDir, stagingDir: input.release.dir, backupFiles: backupFilesDir(backupPath) };
  const copied = await runOpsOrUndo(journal, paths, log);
  faultPoint("apply:before-commit");
  await writeJournal(stateDir, { ...journal, phase: "committed" });
  faultPoint("apply:committed");
  await finalizeUpdate({ ...journal, phase: "committed" }, log);
  const summary = summarizePlan({ ...plan, steps: prepared.steps });
  log?.info("applied update", {
    app,
    fromVersion,
    toVersion,
    ...summary,
    backup: id,
    operations: ops.length,
  });
  return {
    app,
    fromVersion,
    toVersion,
    steps: prepared.steps,
    summary,
    operations: ops.length,
    copied,
    backup: {
      id,
      app,
      version: fromVersion,
      replacedBy: toVersion,
      created: created.toISOString(),
      size: inventory.bytes,
      files: inventory.changed.length,
      path: backupPath,
    },
  };
}

/**
 * Runs the operations; on an error (disk full, permissions) undoes them at once, exactly as
 * recovery would after a crash, and reports an update that changed nothing.
 */
async function runOpsOrUndo(
  journal: UpdateJournal,
  paths: Omit<OpContext, "onCopy">,
  log?: Logger,
): Promise<number> {
  try {
    return await runOps(journal.ops, paths, log);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    try {
      await rollBackUpdate(journal);
    } catch (undoError) {
      const undoReason = undoError instanceof Error ? undoError.message : String(undoError);
      throw new RestoreFailedError(journal.app, reason, undoReason);
    }
    throw new UpdateFailedError(journal.app, "apply", reason);
  }
}

/** Runs the operations in order; returns how many had to copy instead of rename/link. */
async function runOps(
  ops: readonly FileOp[],
  paths: Omit<OpContext, "onCopy">,
  log?: Logger,
): Promise<number> {
  let copied = 0;
  const ctx: OpContext = {
    ...paths,
    onCopy: (rel) => {
      if (copied++ === 0)
        log?.warn("different filesystems: copying instead of renaming (slower)", { first: rel });
    },
  };
  for (const op of ops) {
    await runForward(op, ctx);
    faultPoint("apply:file");
  }
  return copied;
}
