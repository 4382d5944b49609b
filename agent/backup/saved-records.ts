/**
 * Whether a backup's own records (beside meta.json) are there and as its update wrote them, judged
 * by one lstat each against the sizes (and sums, record-sums.ts) meta.json recorded: the one rule
 * `ship --rollback` refuses by before anything moves and `ship --list-backups` lists by. The listing
 * judged meta.json alone, so a backup whose index.json, inventory.json or manifest.json was deleted
 * or truncated was listed as restorable (exit 0), and the operator who picked it was then refused.
 * A record is read only when its time moved since it was written: then it is hashed against its
 * sum, so one garbled at its old size is named too.
 */
import { basename, join } from "node:path";
import { indexBaseOf, readSavedIndexFileSync } from "../apply/install-index.js";
import { damagedRecord } from "../state/record-file.js";
import { lstatOrUndefined } from "../tree/fs-ops.js";
import {
  BACKUP_WHAT,
  INSTALLED_FILE,
  INVENTORY_FILE,
  MISSING,
  NOT_A_FILE,
  PREVIOUS_INDEX_FILE,
  SAVED_INDEX_BASE_FILE,
  SAVED_SIZES_FILE,
  SAVED_SIZES_WHAT,
  UNDONE_MANIFEST_FILE,
  UNDONE_MANIFEST_WHAT,
} from "./record-names.js";
import { checkRecordSum, type RecordSum } from "./record-sums.js";
import { checkSavedIndexSums } from "./saved-index-sum.js";

/** The parts of meta.json (backup-store.ts) the rule judges by. */
interface SizedMeta {
  fromVersion: string | null;
  /** When the backup was made (ISO): its saved index was written before, never in place since. */
  created: string;
  indexBytes?: number | undefined;
  indexLineSums?: Record<string, string> | undefined;
  manifestBytes?: number | undefined;
  installedBytes?: number | undefined;
  inventorySizes?: number[] | undefined;
  recordSums?: Record<string, RecordSum> | undefined;
}

/** Throws what is wrong with the backup's records (exit 2, naming the file and the way out). */
export function checkSavedRecords(backupPath: string, meta: SizedMeta): void {
  // Every backup has one. Its size may be one of two while cleanup rewrites it after the backup
  // completed (cleanup-backup.ts): both are recorded then.
  const inventory = join(backupPath, INVENTORY_FILE);
  const listed = lstatOrUndefined(inventory);
  if (listed === undefined) throw damagedRecord(inventory, BACKUP_WHAT, MISSING);
  if (!listed.isFile()) throw damagedRecord(inventory, BACKUP_WHAT, NOT_A_FILE);
  const sizes = meta.inventorySizes;
  if (sizes !== undefined && !sizes.includes(listed.size))
    throw damagedRecord(inventory, BACKUP_WHAT, resized(listed.size, sizes.join(" or ")));
  // Garbled at its own size: listed as restorable, then refused by the rollback's parse (or, where
  // it still parsed, restored by). A file whose time is the one recorded is not read.
  checkRecordSum(inventory, meta.recordSums?.[INVENTORY_FILE], BACKUP_WHAT);
  checkSavedIndex(backupPath, meta);
  // Absent is no damage for either: a backup made before they were kept has none, and moving
  // manifest.json aside is the documented way to roll back without the undone release's hooks.
  checkSize(
    join(backupPath, UNDONE_MANIFEST_FILE),
    meta.manifestBytes,
    UNDONE_MANIFEST_WHAT,
    meta.recordSums,
  );
  checkSize(join(backupPath, INSTALLED_FILE), meta.installedBytes, BACKUP_WHAT, meta.recordSums);
  // saved.json: absent in backups made before it was kept and in one that saved no copy, and
  // meta.json records no size for it. A directory or a link in its place is damage: `--rollback`
  // said "internal error: EISDIR" (exit 1) and the listing called that backup restorable.
  const saved = join(backupPath, SAVED_SIZES_FILE);
  if (lstatOrUndefined(saved)?.isFile() === false) throw damagedRecord(saved, SAVED_SIZES_WHAT, NOT_A_FILE);
}

function checkSize(
  path: string,
  bytes: number | undefined,
  what: string,
  sums: SizedMeta["recordSums"],
): void {
  const stat = bytes === undefined ? undefined : lstatOrUndefined(path);
  if (stat === undefined) return;
  if (!stat.isFile()) throw damagedRecord(path, what, NOT_A_FILE);
  if (stat.size !== bytes) throw damagedRecord(path, what, resized(stat.size, String(bytes)));
  checkRecordSum(path, sums?.[basename(path)], what);
}

function resized(size: number, recorded: string): string {
  return `it is ${size} bytes, but it was ${recorded} when the update saved it (truncated or edited by hand since)`;
}

/**
 * The install index the backup saved (index.json) must be there when the update replaced one, and
 * be the size it had: a restore links it into place unread once every file is back, so one deleted
 * by hand left no index ("back on 1.0.0", then "none recorded" and the next update kept 1.0.0's
 * files it no longer ships), and a truncated one became the live index, every later run refused
 * with "install-index.json is damaged" and the state file still naming the undone version. Exit 2
 * naming the backup, before anything moves. One lstat; the size is known for backups made since.
 */
function checkSavedIndex(
  backupPath: string,
  meta: Pick<SizedMeta, "fromVersion" | "indexBytes" | "indexLineSums" | "created">,
): void {
  if (meta.fromVersion === null) return;
  const saved = lstatOrUndefined(join(backupPath, PREVIOUS_INDEX_FILE));
  const what = savedIndexWhat(meta.fromVersion);
  if (saved === undefined || !saved.isFile())
    throw damagedRecord(
      backupPath,
      what,
      `its saved install index of ${meta.fromVersion} (${PREVIOUS_INDEX_FILE}) is ${saved === undefined ? "missing (deleted by hand?)" : "not a file"}`,
    );
  if (meta.indexBytes !== undefined && saved.size !== meta.indexBytes)
    throw damagedRecord(
      backupPath,
      what,
      `its saved install index of ${meta.fromVersion} (${PREVIOUS_INDEX_FILE}) is ${saved.size} bytes, but it was ${meta.indexBytes} when the update saved it (truncated or edited by hand since)`,
    );
  // A saved head (install-index.ts) needs the base it names, saved beside it at the size it names.
  const base = indexBaseOf(join(backupPath, PREVIOUS_INDEX_FILE));
  const kept = base === undefined ? undefined : lstatOrUndefined(join(backupPath, SAVED_INDEX_BASE_FILE));
  if (base !== undefined && (kept === undefined || !kept.isFile() || kept.size !== base.bytes))
    throw damagedRecord(
      backupPath,
      what,
      `the base of its saved install index of ${meta.fromVersion} (${SAVED_INDEX_BASE_FILE}) is ${kept === undefined ? "missing (deleted by hand?)" : !kept.isFile() ? "not a file" : `${kept.size} bytes, but ${PREVIOUS_INDEX_FILE} names one of ${base.bytes}`}`,
    );
  // ship wrote both before the backup was made and never writes them in place: one modified since
  // was edited (at its own size, or the size rule had named it), and is read whole to tell.
  const made = Date.parse(meta.created);
  if (!(saved.mtimeMs <= made && (kept === undefined || kept.mtimeMs <= made)))
    readSavedIndexWhole(backupPath, meta.indexLineSums, what);
}

/** The saved index read as a restore reads it, and its uncovered bytes against their sum. */
function readSavedIndexWhole(
  backupPath: string,
  lineSums: Record<string, string> | undefined,
  what: string,
): void {
  readSavedIndexFileSync(join(backupPath, PREVIOUS_INDEX_FILE), what);
  checkSavedIndexSums(backupPath, lineSums, what);
}

function savedIndexWhat(fromVersion: string): string {
  return `this backup cannot be restored (ship would not know what ${fromVersion} installed); move it out of the backup directory; nothing was changed`;
}

/**
 * The saved install index read whole, in either layout (docs/install-index.md), before a restore
 * moves anything: the size rule above passes one garbled at its own size, which the restore then
 * linked into place unread — "back on 2.0.0", exit 0, and every later run refused the live index
 * as damaged. The columns' CRC-32 (or the JSON's parse) finds it, and the sum of the bytes no
 * CRC covers (saved-index-sum.ts) one that still parses; exit 2 naming the saved file.
 * Here, not in checkSavedRecords: the listing judges every backup by an lstat each, and reading
 * each saved index (megabytes at 20,000 files) would make it as slow as a rollback.
 */
export function checkSavedIndexReads(
  backupPath: string,
  meta: Pick<SizedMeta, "fromVersion" | "indexLineSums">,
): void {
  if (meta.fromVersion === null) return;
  readSavedIndexWhole(backupPath, meta.indexLineSums, savedIndexWhat(meta.fromVersion));
}
