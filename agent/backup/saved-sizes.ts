/**
 * `saved.json` in a backup: what each copy it saved was, taken once the update moved them in — its
 * size, modification time, change time, inode and sha256. A copy truncated or edited by hand since
 * (a disk cleaned up with `: > big.log`, a "fix" made in the backup) was restored as it was, and
 * `--rollback` said "back on 2.0.0" of an app holding an empty file; an edit that kept the size
 * slipped past a size alone, and one that kept the modification time too (`cp -p`, `touch -r`, a
 * tool that restores mtimes, bit rot) past the mtime. A restore compares each copy with its record
 * before anything moves: the size always, the content only when the mtime, ctime or inode moved. No
 * user can set a ctime back, and any write, chmod or link moves it: a copy untouched since costs one
 * lstat, and a backup moved with its times kept but not its inodes costs a hash, not a refusal.
 * Backups made before it was kept, and copies cleanup added later, have no record: they are not
 * checked; backups made while it held sizes only are checked by size, and those made before ctime
 * and inode were recorded read a copy only when its mtime moved.
 */
import { join } from "node:path";
import * as z from "zod";
import { isPlainObject } from "../../shared/plain-object.js";
import { damagedRecord, parseRecord } from "../state/record-file.js";
import { lstatBigOrUndefined, writeFileAtomic } from "../tree/fs-ops.js";
import { deniedOpen, hashEntriesOrUnknown, hashFile } from "../tree/hash-file.js";
import { loopSlices } from "../tree/loop-slices.js";
import {
  isDirectoryMode,
  isFileMode,
  isSymlinkMode,
  type LiteStatNs,
  lstatLiteNsOrUndefined,
} from "../tree/lstat-lite.js";
import { backupFilesDir, readSavedRecord } from "./backup-store.js";
import { SAVED_SIZES_FILE, SAVED_SIZES_WHAT } from "./record-names.js";

interface SavedCopy {
  size: number;
  mtimeNs: string;
  sha256: string;
  /** Absent in backups made before it was recorded (their copies are read when the mtime moved). */
  ctimeNs?: string;
  ino?: string;
}
/** A copy's record: its size alone (backups made while saved.json held sizes only), or the rest too. */
type SavedRecord = number | SavedCopy;

// The entries are checked by a loop (savedRecords), not by zod: a z.record of unions walked every
// entry through zod twice per backup, most of what `--list-backups` added by judging the copies.
const SavedSizes = z.custom<Record<string, unknown>>(isPlainObject, "must be an object");

function isSavedRecord(value: unknown): value is SavedRecord {
  if (typeof value === "number") return true;
  if (!isPlainObject(value)) return false;
  return (
    typeof value.size === "number" &&
    typeof value.mtimeNs === "string" &&
    typeof value.sha256 === "string" &&
    (value.ctimeNs === undefined || typeof value.ctimeNs === "string") &&
    (value.ino === undefined || typeof value.ino === "string")
  );
}

/**
 * What the update already knew of an app file before moving it into the backup: its stat as the
 * scan saw it and its sha256 (vouched for by the install index, or hashed by the planner).
 */
export interface KnownContent {
  size: number;
  mtimeMs: number;
  ino: number;
  sha256: string;
}

/**
 * Records what each copy of `rels` the backup holds is. Not fsynced: a record lost to a crash only
 * means that copy is not checked. A copy whose stat is still the one `known` gives for it (a rename
 * keeps the inode, size and mtime; only ctime moves) takes that sha256: reading it again would cost
 * every changed byte a second time. Only the rest are read, so an update costs what it changed.
 */
export async function writeSavedSizes(
  backupPath: string,
  rels: readonly string[],
  known: ReadonlyMap<string, KnownContent> = new Map(),
): Promise<void> {
  const files = backupFilesDir(backupPath);
  const copies: Record<string, SavedCopy> = {};
  const unknown: { rel: string; type: "file"; size: number }[] = [];
  const slice = loopSlices();
  for (const rel of rels) {
    const pause = slice();
    if (pause !== undefined) await pause;
    // Synchronous: one lstat per saved copy, where a thread-pool round trip cost ~3x the call.
    const stat = lstatBigOrUndefined(join(files, rel));
    if (stat?.isFile() !== true) continue;
    const size = Number(stat.size);
    const copy = {
      size,
      mtimeNs: String(stat.mtimeNs),
      sha256: "",
      ctimeNs: String(stat.ctimeNs),
      ino: String(stat.ino),
    };
    copies[rel] = copy;
    const was = known.get(rel);
    if (
      was !== undefined &&
      was.sha256 !== "" &&
      was.size === size &&
      was.ino === Number(stat.ino) &&
      was.mtimeMs === msOfNs(stat.mtimeNs)
    )
      copy.sha256 = was.sha256;
    else unknown.push({ rel, type: "file", size });
  }
  if (Object.keys(copies).length === 0) return;
  // A copy ship's user cannot read (an app file at mode 000 it moved in unread) is recorded by its
  // size alone: it lost every copy's record before, with a WARN naming only EACCES.
  const hashes = await hashEntriesOrUnknown(files, unknown);
  const records: Record<string, SavedRecord> = { ...copies };
  unknown.forEach(({ rel, size }, i) => {
    const copy = copies[rel];
    const sha256 = hashes[i] ?? "";
    if (copy !== undefined) records[rel] = sha256 === "" ? size : { ...copy, sha256 };
  });
  await writeFileAtomic(join(backupPath, SAVED_SIZES_FILE), JSON.stringify(records), false);
}

/** Node's Stats.mtimeMs from a bigint stat's nanoseconds (sec * 1e3 + nsec / 1e6): the scan's very double. */
function msOfNs(ns: bigint): number {
  return Number(ns / 1_000_000_000n) * 1e3 + Number(ns % 1_000_000_000n) / 1e6;
}

/** What saved.json records of each copy, by its path in files/ (none when it is absent). */
export type SavedRecords = Readonly<Record<string, SavedRecord>>;

/** saved.json read and checked once: the link check and the size check both judge by it. */
export async function savedRecords(backupPath: string): Promise<SavedRecords> {
  const path = join(backupPath, SAVED_SIZES_FILE);
  // A directory in its place (or a link to one) was "internal error: EISDIR", exit 1: damage, named.
  const text = await readSavedRecord(path, SAVED_SIZES_WHAT);
  if (text === undefined) return {};
  const records = parseRecord(text, path, SavedSizes, SAVED_SIZES_WHAT);
  // for-in: no [key, value] array per entry.
  for (const rel in records)
    if (!isSavedRecord(records[rel]))
      throw damagedRecord(
        path,
        SAVED_SIZES_WHAT,
        `its entry for ${rel} is malformed (a size, or the size, mtimeNs, sha256 and optionally ctimeNs and ino of the copy)`,
      );
  return records as SavedRecords;
}

/** resizedCopies' kind of a copy that is not there. */
export const MISSING_COPY = "missing";

/**
 * The copies that are no longer what was recorded: `rel`, the size now and the size saved; a copy
 * that is no file now (a directory or a link made in its place) has `kind` saying what it is, one
 * of the same size whose content changed has `edited`. `known`: the copies' lstats the caller took
 * just before (checkSavedEntries), so each copy costs one lstat, not two.
 */
export async function resizedCopies(
  backupPath: string,
  known: ReadonlyMap<string, LiteStatNs> = new Map(),
  /** A missing copy is listed too, with kind MISSING_COPY (for `--list-backups`, which reads no inventory). */
  missingToo = false,
  /** saved.json as the caller read it already (savedRecords); read here when not given. */
  given?: SavedRecords,
): Promise<{ rel: string; now: number; saved: number; kind?: string; edited?: true }[]> {
  const records = given ?? (await savedRecords(backupPath));
  const files = backupFilesDir(backupPath);
  const changed: { rel: string; now: number; saved: number; kind?: string; edited?: true }[] = [];
  for (const [rel, record] of Object.entries(records)) {
    const saved = typeof record === "number" ? record : record.size;
    const copy = join(files, rel);
    // Synchronous: one lstat per changed file of a rollback, in turn; awaited one by one, each was a
    // round trip through libuv's thread pool (most of a 1 % rollback's checks, and all its wait).
    // Numbers, not a BigIntStats (lstat-lite.ts): a listing's only per-file call.
    const stat = known.get(rel) ?? lstatLiteNsOrUndefined(copy);
    // A missing copy is checkSavedEntries' to judge (a restore killed half-way has moved some back).
    if (stat === undefined) {
      if (missingToo) changed.push({ rel, now: 0, saved, kind: MISSING_COPY });
      continue;
    }
    const now = stat.size;
    // Only files are recorded: a directory in a file's place stopped the restore half-way (ENOTDIR,
    // exit 3, the app partly restored), a link would have gone into the app for the file.
    if (!isFileMode(stat.mode))
      changed.push({
        rel,
        now,
        saved,
        kind: isDirectoryMode(stat.mode)
          ? "a directory"
          : isSymlinkMode(stat.mode)
            ? "a symlink"
            : "no regular file",
      });
    else if (now !== saved) changed.push({ rel, now, saved });
    else if (
      typeof record !== "number" &&
      touchedSince(stat, record) &&
      (await contentMoved(copy, record.sha256))
    )
      changed.push({ rel, now, saved, edited: true });
  }
  return changed;
}

/**
 * Whether a copy's content is no longer `sha256`. A copy ship's user may not read is not judged here:
 * a chmod moves its ctime, and the restore's readability check names it and what to do (chmod u+r,
 * the other filesystem) where a hash would say only "cannot open …: permission denied".
 */
async function contentMoved(copy: string, sha256: string): Promise<boolean> {
  try {
    return (await hashFile(copy)) !== sha256;
  } catch (error) {
    if (deniedOpen(error)) return false;
    throw error;
  }
}

/**
 * Whether a copy may have been written since its record: its mtime, or (recorded since) its ctime or
 * inode moved. The mtime alone let an edit followed by `touch -r` through; the ctime moves with it.
 */
function touchedSince(stat: LiteStatNs, record: SavedCopy): boolean {
  if (String(stat.mtimeNs) !== record.mtimeNs) return true;
  if (record.ctimeNs !== undefined && String(stat.ctimeNs) !== record.ctimeNs) return true;
  return record.ino !== undefined && String(stat.ino) !== record.ino;
}
