/**
 * Whether a backup's update is what the app holds, when no install index says what ship installed
 * there. The index is the record a rollback's chain starts from ("the newest backup undoes the
 * installed version"); with none (nothing installed: a fresh host, or one rolled back to the tree
 * before ship), any backup in backup_dir passed for the newest one — one copied from another host
 * or state directory, or kept from an install a rollback has already undone. `ship --rollback` of
 * it wrote its saved files into an app that never held its release and recorded that version as
 * installed; a run took its version for "what ship installed here last".
 *
 * The evidence left is on disk: the files the update wrote (`installed.json`). An index lost by
 * hand leaves them in the app as ship installed them; an update that never ran here leaves none.
 */
import { join } from "node:path";
import { ConfinedPaths } from "../apply/confined-paths.js";
import { installedState } from "../apply/installed-file.js";
import { type BackupInfo, readBackupInstalled } from "./backup-store.js";

/**
 * The paths `backup`'s update wrote when none of them holds what it wrote in `appDir` (at most
 * three, for the message, with how many in all); undefined when one does, or when the backup
 * records none (an update that only removed files, or one made before `installed.json` was kept),
 * which proves nothing either way. Never reads through a symlinked directory of the app.
 */
export async function updateLeftNoFile(
  backup: BackupInfo,
  appDir: string,
): Promise<{ count: number; sample: string[] } | undefined> {
  const installed = await readBackupInstalled(backup.path);
  const paths = installed === undefined ? [] : [...installed.keys()];
  if (installed === undefined || paths.length === 0) return undefined;
  const confined = new ConfinedPaths(appDir);
  for (const rel of paths) {
    if (!(await confined.reachable(rel))) continue;
    if ((await installedState(join(appDir, rel), installed.get(rel))) === "installed") return undefined;
  }
  return { count: paths.length, sample: paths.sort().slice(0, 3) };
}

/** updateLeftNoFile's finding in chainRefusal's words (a sentence after backup_dir). */
export function notInstalledHere(
  first: BackupInfo,
  target: BackupInfo,
  appDir: string,
  stateDir: string,
  left: { count: number; sample: string[] },
): string {
  const more = left.count > left.sample.length ? `, … ${left.count} in all` : "";
  return `cannot restore ${target.id}: no install index in ${stateDir} records what ship installed in ${appDir}, and none of the file(s) the update ${first.id} undoes wrote (${left.sample.join(", ")}${more}) is there as it wrote them, so ${first.replacedBy} is not what the app holds and ${first.id} has nothing here to undo (a backup copied from another host or state directory, or one of an install a rollback already undid?); restoring it would write its saved files into the app and record a version it does not hold`;
}

/**
 * The refusal of a chain whose newest backup has nothing in the app to undo (updateLeftNoFile),
 * asked only when no install index records what is installed (`installed` undefined): with one,
 * chainRefusal's version rule decides. Undefined when the chain may start from `first`.
 */
export async function notUndoingTheApp(
  first: BackupInfo,
  target: BackupInfo,
  appDir: string,
  stateDir: string,
  installed: object | undefined,
): Promise<string | undefined> {
  if (installed !== undefined) return undefined;
  const left = await updateLeftNoFile(first, appDir);
  return left === undefined ? undefined : notInstalledHere(first, target, appDir, stateDir, left);
}
