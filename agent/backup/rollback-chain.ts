/**
 * Whether a rollback's chain of backups (newest first, the target last) can be restored in turn:
 * each backup undoes one update, so the first must undo what is installed and each must undo the
 * version the one before it brings back. The one rule `ship --rollback` refuses by before anything
 * moves and `ship --list-backups` marks its rows by: the listing called a backup restorable that the
 * rollback then refused, because the way to it passed a backup that cannot be restored.
 */
import { restoredVersionLabel } from "../../shared/errors.js";
import { type BackupInfo, backupMetaOf } from "./backup-store.js";

/** Why the chain cannot be restored (one sentence, naming the backups), or undefined when it can. */
export function chainRefusal(
  chain: readonly BackupInfo[],
  installed: string | undefined,
  /** The installed build's release id (the install index's `releaseId`), when recorded. */
  installedRelease?: string,
  /**
   * The source whose update installed it (the install index's `source`), when recorded: named when
   * another source than the target's put it there (two sources filling one app_dir), else alpha's
   * refusal spoke of a 5.0.0 the operator never gave alpha.
   */
  installedBy?: string,
): string | undefined {
  const first = chain[0];
  const target = chain.at(-1);
  if (first === undefined || target === undefined) return undefined;
  const by =
    installedBy === undefined || installedBy === target.app ? "" : ` (source ${installedBy} installed it)`;
  // Another build of the installed version (a backup copied from another host or state directory):
  // its restore judged this host's files against the other build's, left those alone, put back
  // the other host's older files where none stood, and recorded the result as the older version.
  if (
    installed !== undefined &&
    installed === first.replacedBy &&
    installedRelease !== undefined &&
    first.replacedByRelease !== undefined &&
    installedRelease !== first.replacedByRelease
  )
    return `has no backup that undoes the installed ${installed} (release ${installedRelease})${by}: the newest backup of ${target.app}, ${first.id}, undoes another build of ${installed} (release ${first.replacedByRelease}), not installed here (a backup copied from another host or state directory?); restoring ${target.id} would leave files of both builds; move ${first.id} out of the backup directory`;
  // The backup of the last update deleted by hand: restoring would leave that update's files
  // among the restored version's.
  if (installed !== undefined && installed !== first.replacedBy)
    return `has no backup that undoes the installed ${installed}${by}: the newest backup of ${target.app}, ${first.id}, undoes ${first.replacedBy}; restoring ${target.id} would leave ${installed}'s files mixed with those of ${restoredVersionLabel(target.version, target.replacedBy)} (was a backup deleted by hand?)`;
  for (const [i, later] of chain.slice(1).entries()) {
    const newer = chain[i];
    if (newer === undefined) continue;
    // Not a gap: an install that found no install index (deleted by hand, as a damaged one's
    // message advises) recorded no version before it. It was blamed on a pruned or deleted backup.
    if (newer.version === null)
      return `cannot restore ${target.id} across ${newer.id}: that backup's update found no install index in ${backupMetaOf(newer).stateDir} (deleted, or lost) and recorded no version before it, so the backups older than it (${later.id}, which undoes ${later.replacedBy}, and on) do not chain to it: ship --rollback ${newer.id} first (it brings back the files that update replaced, and the older backups then restore from there)`;
    // Backups made under a source's old name are kept by their own pruning, so after a rename a
    // chain can miss the oldest of the new name's (pruned): restoring across that gap mixes two
    // versions' files.
    if (newer.version !== later.replacedBy)
      return `has no backup that undoes ${newer.version}: ${newer.id} brings it back, but the next older backup of ${target.appDir}, ${later.id}, undoes ${later.replacedBy}; restoring ${target.id} would leave files of both (a backup between them was pruned, deleted by hand, or has a damaged meta.json: see ship --list-backups)`;
  }
  return undefined;
}
