/** The installed release as sources see it: the app's install index, read fresh at each call. */
import { readInstallIndex, readInstallIndexHeader } from "../apply/install-index.js";
import { type BackupInfo, listBackups } from "../backup/backup-store.js";
import { updateLeftNoFile } from "../backup/update-left-files.js";
import type { InstalledId, InstalledRelease } from "../sources/types.js";

export interface LegacyState {
  current_version: string | null;
  release_id: string | null;
}

/**
 * Indexes written before the index recorded its release id fall back to the state file's
 * `release_id`, but only while the state still names the index's version (else it may describe a
 * release that a rollback undid).
 */
export async function readInstalledRelease(
  appStateDir: string,
  appDir: string,
  legacy: LegacyState | undefined,
): Promise<InstalledRelease | undefined> {
  const index = await readInstallIndex(appStateDir);
  if (index === undefined) return undefined;
  return { ...idOf(index, legacy), appDir, files: index.files };
}

/** readInstalledRelease's version and release id, from the index's header alone. */
export async function readInstalledId(
  appStateDir: string,
  legacy: LegacyState | undefined,
): Promise<InstalledId | undefined> {
  const header = await readInstallIndexHeader(appStateDir);
  return header === undefined ? undefined : idOf(header, legacy);
}

function idOf(index: InstalledId, legacy: LegacyState | undefined): InstalledId {
  const releaseId =
    index.releaseId ??
    (legacy?.current_version === index.version ? (legacy.release_id ?? undefined) : undefined);
  return { version: index.version, ...(releaseId === undefined ? {} : { releaseId }) };
}

/**
 * "The state file and the install index are gone" was said too of a state file a run had just
 * written (a refused run records its refusal, naming no version): what is true either way.
 */
const NO_STATE_VERSION = "the state file names no version";

/**
 * What a check says in place of the installed version when ship has no record of one. With the
 * state file and the install index both gone (wiped, restored from an old image) it said "update
 * available (nothing installed)", of an app whose backups show ship installed a release there:
 * the newest one names it.
 */
export async function noneInstalledNote(
  recorded: string | null,
  backupRoot: string,
  appDir: string,
  configured: Iterable<string>,
): Promise<string | undefined> {
  if (recorded !== null) return `(none recorded: the install index is gone; ship installed ${recorded})`;
  const newest = await newestBackup(backupRoot, appDir, configured);
  if (newest === undefined) return undefined;
  return `(none recorded: the install index is gone and ${NO_STATE_VERSION}, yet backup ${newest.id} was made when ship installed ${newest.replacedBy} here)`;
}

/**
 * The version ship installed last in `appDir` when the install index that names it is gone: the
 * one the state file named before the run's sync forgot it, else the one the newest backup of this
 * directory was made installing (a restore consumes its backup, so the newest left names what is
 * there). The downgrade refusal compares with it: without it, a source pointed at an older release
 * installed it as a first install.
 */
export async function lastInstalledVersion(
  recorded: string | null,
  backupRoot: string,
  appDir: string,
  configured: Iterable<string>,
): Promise<{ version: string; why: string } | undefined> {
  if (recorded !== null)
    return { version: recorded, why: "the install index is gone; the state file names it" };
  const newest = await newestBackup(backupRoot, appDir, configured);
  if (newest === undefined) return undefined;
  return {
    version: newest.replacedBy,
    why: `the install index is gone and ${NO_STATE_VERSION}; backup ${newest.id} was made installing it`,
  };
}

/**
 * Throws BackupDirUnlistableError (exit 2, naming backup_dir) when backup_dir cannot be listed, or a
 * `configured` source's place in it (backupSourceDirs): "no backup" would read as "ship never
 * installed here", so no migration would run, the downgrade refusal would have no version to compare
 * with, and the check would say "nothing installed".
 */
async function newestBackup(
  backupRoot: string,
  appDir: string,
  configured: Iterable<string>,
): Promise<BackupInfo | undefined> {
  const newest = (await listBackups(backupRoot, undefined, appDir, [], configured))[0];
  // Only while its update's files are in the app: one copied from another host (or left from an
  // install a rollback undid) made a fresh host's first install "the install index is gone; ship
  // installed 2.0.0 here last", and refused an older release there as a downgrade. A damaged record
  // proves nothing either way: the backup counts, as it did.
  if (newest === undefined) return undefined;
  const left = await updateLeftNoFile(newest, appDir).catch(() => undefined);
  return left === undefined ? newest : undefined;
}
