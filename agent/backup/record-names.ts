/**
 * The names of a backup's records and the words an operator reads when one is damaged: their own
 * module, so that the store (backup-store.ts) and the one rule that judges the records
 * (saved-records.ts) both use them without importing each other.
 */

export const META_FILE = "meta.json";

export const INVENTORY_FILE = "inventory.json";

/**
 * The manifest of the release the update installed (the one restoring this backup undoes): its
 * rollback hooks and notifications serve `ship --rollback`, when that release's files are gone.
 */
export const UNDONE_MANIFEST_FILE = "manifest.json";

/** The install index that was current before the update; restore reinstates it. */
export const PREVIOUS_INDEX_FILE = "index.json";

/**
 * The install index entries of the paths the update wrote (with their stat after the install):
 * what a restore checks "is this still the file ship installed" against, so undoing a 1 % change
 * reads 1 % of the index. Absent in backups made before it was kept: the whole index is read then.
 */
export const INSTALLED_FILE = "installed.json";

/** What an operator reads when a backup's own record is damaged: the backup cannot be trusted. */
export const BACKUP_WHAT =
  "this backup's record of what its update changed; the backup cannot be restored, move it out of the backup directory";

/** The sizes (and hashes) of the copies a backup saved, checked as a restore takes each back. */
export const SAVED_SIZES_FILE = "saved.json";

export const SAVED_SIZES_WHAT =
  "the sizes of the copies this backup saved; move it aside to restore without checking them";

export { NOT_A_FILE } from "../state/record-file.js";

/** Why a record every backup has is not there. */
export const MISSING = "it is missing (deleted by hand?)";

export const UNDONE_MANIFEST_WHAT =
  "this backup's copy of the manifest of the release it undoes (its rollback hooks and notifications); move it aside to roll back without them; nothing was changed";

/**
 * The base of the saved install index when that index is a head (install-index.ts): a second name
 * of the base it names, so the backup holds both halves of the index it reinstates.
 */
export const SAVED_INDEX_BASE_FILE = "index-base.json";
