/**
 * `backup: true` / `backup_replace` keep the previous version of a file beside it as `<file>.bak`.
 * An operator may have made that name themselves (`cp config.toml config.toml.bak` before an edit is
 * a common habit); ship never writes over a file it did not write (README: files ship never
 * installed are never read, written or deleted). A keep-copy ship wrote holds exactly the old
 * version that update saved in its backup, so an existing `<file>.bak` is ship's only when it is
 * byte-equal to the newest backup's saved `<file>` (the same test a restore uses to recognise it).
 * Anything else — different bytes, or no backup left to compare with — is the operator's: this
 * update then keeps the previous version in its backup only, and says so.
 */
import { join } from "node:path";
import { type BackupInfo, backupFilesDir, listBackups } from "../backup/backup-store.js";
import { lstatOrUndefined, nameFits } from "../tree/fs-ops.js";
import { hashEntry } from "../tree/hash-file.js";
import type { PlanStep, TreeScan } from "./types.js";

export interface KeepCopyContext {
  appDir: string;
  backupRoot: string;
  scan: TreeScan;
}

/** Whether the app's `keepCopy` is the copy of `rel` an earlier update of this app wrote. */
async function writtenByShip(
  ctx: KeepCopyContext,
  backups: () => Promise<readonly BackupInfo[]>,
  rel: string,
  keepCopy: string,
): Promise<boolean> {
  const existing = ctx.scan.files.get(keepCopy);
  if (existing === undefined || existing.type !== "file") return false;
  for (const backup of await backups()) {
    const saved = join(backupFilesDir(backup.path), rel);
    const stat = lstatOrUndefined(saved);
    if (stat === undefined) continue;
    // The newest backup holding `rel` is the update that last wrote its keep-copy.
    if (!stat.isFile() || stat.size !== existing.size) return false;
    return (await hashEntry(saved)) === (await hashEntry(join(ctx.appDir, keepCopy)));
  }
  return false;
}

/**
 * The plan's steps with every keep-copy that would overwrite an operator's file dropped; `dropped`
 * names them (`config.toml.bak`) for the log. So is one whose name is longer than a name may be
 * (`.bak` added to a 252-byte name: ENAMETOOLONG at the apply, after the hooks), named in `tooLong`.
 * Steps whose keep-copy name is free are unchanged.
 */
export async function withoutForeignKeepCopies(
  steps: readonly PlanStep[],
  ctx: KeepCopyContext,
): Promise<{ steps: PlanStep[]; dropped: string[]; tooLong: string[] }> {
  const dropped: string[] = [];
  const tooLong: string[] = [];
  const out: PlanStep[] = [];
  let listed: Promise<BackupInfo[]> | undefined;
  const backups = () => {
    // Every backup of the app directory, whatever source name made it: after [sources.myapp] was
    // renamed to [sources.web], the .bak myapp's update wrote was taken for the operator's own and
    // never refreshed again ("kept the previous version in the backup only"), update after update.
    listed ??= listBackups(ctx.backupRoot, undefined, ctx.appDir);
    return listed;
  };
  for (const step of steps) {
    if (
      (step.kind === "replace" || step.kind === "merge") &&
      step.keepCopy !== undefined &&
      !nameFits(step.keepCopy)
    ) {
      tooLong.push(step.keepCopy);
      const { keepCopy: _tooLong, ...rest } = step;
      out.push(rest);
    } else if (
      (step.kind === "replace" || step.kind === "merge") &&
      step.keepCopy !== undefined &&
      (ctx.scan.special?.has(step.keepCopy) === true ||
        (ctx.scan.files.has(step.keepCopy) && !(await writtenByShip(ctx, backups, step.rel, step.keepCopy))))
    ) {
      dropped.push(step.keepCopy);
      const { keepCopy: _dropped, ...rest } = step;
      out.push(rest);
    } else out.push(step);
  }
  return { steps: out, dropped, tooLong };
}
