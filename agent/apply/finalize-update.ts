/**
 * The bookkeeping after an update is committed: the new install index (with each written file's
 * stat), the backup's completion marker, unused merge bases, and last the journal. Idempotent, so
 * recovery can simply run it again after a crash. Retention (keepNewestBackups) waits until the
 * update stands: pruned here, at commit, an update whose health check then failed had already
 * deleted the older backups (keep_backups 1: every one), so the restored version could no longer
 * be rolled back.
 */
import { lstatSync, type Stats } from "node:fs";
import { readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout } from "node:timers/promises";
import type { Logger } from "../../shared/log.js";
import {
  basesInUse,
  pruneBackups,
  readBackupMeta,
  writeBackupInstalled,
  writeBackupMeta,
} from "../backup/backup-store.js";
import { INSTALLED_FILE } from "../backup/record-names.js";
import { faultPoint } from "../fault.js";
import { loopSlices } from "../tree/loop-slices.js";
import { FINE_RACY_MS } from "../tree/racy-rule.js";
import { type AppDirMark, appDirMarkOf } from "./app-dir-mark.js";
import { IndexFiles } from "./index-files.js";
import {
  basePath,
  entryVouches,
  readInstallIndex,
  takeInstallIndex,
  UNVERIFIED_CTIME,
  writeInstallIndex,
} from "./install-index.js";
import { removeJournal, type UpdateJournal } from "./journal.js";
import type { IndexedFile, InstallIndex } from "./types.js";

/**
 * `previous`: the index as read before the apply (saves re-reading it); recovery leaves it out. Its
 * `files` become the new index's, changed in place (takeInstallIndex): the caller uses neither after.
 */
export async function finalizeUpdate(journal: UpdateJournal, previous?: InstallIndex): Promise<void> {
  if (previous === undefined) previous = await readInstallIndex(journal.stateDir);
  const files = previous === undefined ? new IndexFiles() : takeInstallIndex(previous).files;
  for (const rel of journal.index.drop) files.delete(rel);
  let statAtMs = await stampWritten(journal, files);
  // On a file system with fine timestamps, the files just written settle within FINE_RACY_MS: wait
  // that out once (≤ 0.1 s) and stat them again, so the next run trusts them instead of hashing
  // (or, for a first install, staging) them all. Whole-second ones would cost 2 s: left unverified.
  // The wait is idle time every update pays; not waiting costs the next update (and a rollback of
  // this one) hashing those files once: a 1 % update writes ~5 MB, ~20 ms to hash against a wait of
  // 60-100 ms. So an update waits only when that hashing would cost more; a first install always
  // does (once per app: else the next update stages and hashes the whole app again).
  const wait = settleWaitWorthMs(Object.keys(journal.index.set), files, statAtMs, previous === undefined);
  if (wait > 0) {
    await setTimeout(wait);
    statAtMs = await stampWritten(journal, files);
  }
  const dropDirs = new Set(journal.index.dropDirs);
  const dirs = new Set([...(previous?.dirs ?? []).filter((d) => !dropDirs.has(d)), ...journal.index.addDirs]);
  const index: InstallIndex = {
    version: journal.index.version,
    ...(journal.index.releaseId === undefined ? {} : { releaseId: journal.index.releaseId }),
    source: journal.app,
    installedAt: new Date().toISOString(),
    statAtMs,
    ...withMark(appDirMarkOf(journal.appDir, files)),
    files,
    dirs: [...dirs].sort(),
    ...(journal.index.dirModes === undefined ? {} : { dirModes: journal.index.dirModes }),
    ...(journal.index.linked === undefined ? {} : { linked: journal.index.linked }),
    ...(journal.index.unusedSections === undefined ? {} : { unusedSections: journal.index.unusedSections }),
  };
  // The paths set or dropped: the index is written as its base's changes while they stay few.
  await writeInstallIndex(journal.stateDir, index, [
    ...journal.index.drop,
    ...Object.keys(journal.index.set),
  ]);
  faultPoint("apply:finalize");
  const meta = await readBackupMeta(journal.backupPath);
  if (!meta.complete) {
    // Only what the apply wrote: `set` also re-stamps kept files the planner hashed (the racy rule
    // leaves the last update's files unverified), and a kept file listed here was taken for this
    // update's own, hard-linked into the rollback commands' $SHIP_RELEASE_DIR, where their writes
    // reached the restored app.
    const wrote = new Set<string>();
    for (const op of journal.ops) if (op.op === "add" || op.op === "replace") wrote.add(op.rel);
    const written: Record<string, IndexedFile> = {};
    for (const rel of Object.keys(journal.index.set)) {
      if (!wrote.has(rel)) continue;
      const entry = files.get(rel);
      // The racy rule, judged now (installed.json keeps no moment): a restore hashes such a file
      // before it takes it for ship's, so a hook's same-second rewrite is left alone, not undone.
      if (entry !== undefined)
        written[rel] = entryVouches(entry, statAtMs, statAtMs)
          ? entry
          : { ...entry, ctimeMs: UNVERIFIED_CTIME };
    }
    const installed = await writeBackupInstalled(journal.backupPath, written);
    await writeBackupMeta(journal.backupPath, {
      ...meta,
      installedBytes: installed.bytes,
      recordSums: { ...meta.recordSums, [INSTALLED_FILE]: installed.sum },
      complete: true,
    });
  }
  await removeUnusedBases(journal, index);
  await removeJournal(journal.stateDir);
}

/**
 * Records each written file's stat in `files`; returns the moment taken before the stats (a file
 * changed at or after it cannot look settled by it, install-index.ts). The stats yield to the event
 * loop every LOOP_SLICE_MS: the moment stays the one before the first, so a yield only makes it
 * more cautious.
 */
async function stampWritten(journal: UpdateJournal, files: IndexFiles): Promise<number> {
  const statAtMs = Date.now();
  const slice = loopSlices();
  for (const [rel, entry] of Object.entries(journal.index.set)) {
    const pause = slice();
    if (pause !== undefined) await pause;
    // Gone already (someone deleted it after the commit): nothing to vouch for, and no reason to fail forever.
    const stat = lstatOrUndefined(join(journal.appDir, rel));
    if (stat === undefined) {
      files.delete(rel);
      continue;
    }
    files.set(rel, {
      ...entry,
      size: stat.size,
      mtimeMs: stat.mtimeMs,
      ino: stat.ino,
      ctimeMs: stat.ctimeMs,
      mode: stat.mode & 0o7777,
    });
  }
  return statAtMs;
}

/**
 * How long to wait (ms, 0: none) before stamping the written files `rels` again so the next run trusts
 * them: until each one with a fine ctime (not whole seconds) is FINE_RACY_MS old at most, and only
 * when the wait pays — a first install (`firstInstall`) always, else when hashing the entries that
 * cannot vouch at `statAtMs` would cost a later run more (rehashCostMs) than the wait.
 */
export function settleWaitWorthMs(
  rels: readonly string[],
  files: IndexFiles,
  statAtMs: number,
  firstInstall: boolean,
): number {
  let latest = Number.NEGATIVE_INFINITY;
  for (const rel of rels) {
    const ctimeMs = files.get(rel)?.ctimeMs;
    if (ctimeMs !== undefined && ctimeMs % 1000 !== 0 && ctimeMs > latest) latest = ctimeMs;
  }
  const wait = Math.ceil(latest + FINE_RACY_MS + 1 - statAtMs);
  // A ctime far ahead of our clock (a file system's clock elsewhere) is not waited for.
  if (!(wait > 0 && wait <= FINE_RACY_MS + 1)) return 0;
  return firstInstall || rehashCostMs(rels, files, statAtMs) >= wait ? wait : 0;
}

/**
 * What hashing the written files whose stamps cannot vouch yet would cost a later run, in ms: an
 * estimate on the high side (reading from disk, or staging them again for an archive source).
 */
function rehashCostMs(rels: readonly string[], files: IndexFiles, statAtMs: number): number {
  let count = 0;
  let bytes = 0;
  for (const rel of rels) {
    const entry = files.get(rel);
    if (entry === undefined || entryVouches(entry, statAtMs, statAtMs)) continue;
    count++;
    bytes += entry.size;
  }
  return count * REHASH_MS_PER_FILE + bytes / REHASH_BYTES_PER_MS;
}

/**
 * Measured on the benchmark's 2-core VM: 200 cached files of 4.6 MB hashed in ~21 ms of CPU
 * (hashEntries), ~0.05 ms a file and ~250 MB/s; the bytes' rate is taken at 150 MB/s to cover an
 * archive source staging them again (written, not only read) and a cold page cache.
 */
const REHASH_MS_PER_FILE = 0.05;
const REHASH_BYTES_PER_MS = 150_000;

/**
 * keep_backups, once the update that made `own.backupPath` stands (its checks passed, or it stays
 * installed without them): the `keep` newest backups of the app directory are kept, the update's
 * own first. Never throws (pruneBackups says why); the merge bases only pruned backups needed go too.
 */
export async function keepNewestBackups(
  input: {
    backupRoot: string;
    app: string;
    appDir: string;
    stateDir: string;
    keep: number;
    own: { backupPath: string; installed: string };
  },
  log?: Logger,
): Promise<void> {
  const problems: string[] = [];
  const pruned = await pruneBackups(
    input.backupRoot,
    input.app,
    input.appDir,
    input.keep,
    problems,
    input.own,
  );
  if (pruned.length > 0) log?.info("removed old backups (keep_backups)", { pruned });
  if (problems.length > 0)
    log?.warn("could not remove old backups or the trash; the app's next run retries", { problems });
  if (pruned.length === 0) return;
  const index = await readInstallIndex(input.stateDir).catch(() => undefined);
  if (index !== undefined) await removeUnusedBases(input, index).catch(() => undefined);
}

/**
 * The written file's stat, or undefined when it cannot be had. Synchronous: one lstat per written
 * file, and a thread-pool round trip each cost more than the calls (200 files: ~20 ms).
 */
function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path, { throwIfNoEntry: false });
  } catch {
    return undefined;
  }
}

async function removeUnusedBases(
  journal: Pick<UpdateJournal, "backupRoot" | "appDir" | "stateDir">,
  index: InstallIndex,
): Promise<void> {
  let names: string[];
  try {
    names = await readdir(join(journal.stateDir, "base"));
  } catch {
    return;
  }
  // No base to judge (an app without merge rules): the backups' listing and the walk of the
  // index's 20,000 entries below cost ~9 ms of every update's CPU for nothing.
  if (names.length === 0) return;
  let used: Set<string>;
  try {
    used = await basesInUse(journal.backupRoot, journal.appDir);
  } catch {
    // backup_dir cannot be listed (a directory of another config there this user cannot read): a
    // base still needed by an unseen backup must not go, so none does. Freeing a few KB is no
    // reason to fail an update that stands: thrown here, at commit, it was "UPDATE FAILED AND
    // RESTORE FAILED" (exit 3) for a healthy install. keepNewestBackups' warning names the cause.
    return;
  }
  for (const [, entry] of index.files.merged()) used.add(entry.sha256);
  for (const sha of names) if (!used.has(sha)) await rm(basePath(journal.stateDir, sha), { force: true });
}

function withMark(appDirMark: AppDirMark | undefined): { appDirMark?: AppDirMark } {
  return appDirMark === undefined ? {} : { appDirMark };
}
