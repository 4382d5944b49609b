/** apply: the engine backs up what changes and installs the release in one journaled operation. */
import { join } from "node:path";
import { type SplitLink, splitLinkText } from "../../apply/hard-links.js";
import { shownPath } from "../../backup/unrestored.js";
import { need, type UpdateContext } from "../context.js";
import { checkAppDirBeforeApply } from "../interrupted-app-dir.js";
import { CONTINUE, type StepOutcome } from "../outcome.js";
import { recordPendingBackup } from "../pending-update.js";

export async function applyRelease(ctx: UpdateContext): Promise<StepOutcome> {
  const manifest = need(ctx.manifest, "manifest");
  const release = need(ctx.release, "release");
  await checkAppDirBeforeApply(ctx);
  ctx.applied = await ctx.ports.engine.apply({
    app: ctx.app,
    appDir: ctx.source.app_dir,
    stateDir: ctx.paths.appStateDir,
    backupDir: ctx.config.general.backup_dir,
    releaseDir: release.dir,
    releaseId: release.id,
    releaseHashes: release.fileHashes,
    ...(release.listing === undefined ? {} : { releaseListing: release.listing }),
    ...(release.materialize === undefined ? {} : { materialize: release.materialize }),
    manifest,
    privilegedFiles: [
      ...new Set([...ctx.source.security.privileged_files, ...(manifest.security?.privileged_files ?? [])]),
    ],
    version: manifest.version,
    previousVersion: ctx.currentVersion,
    log: ctx.log,
  });
  await recordPendingBackup(ctx, ctx.applied.backupPath);
  const overwritten = ctx.applied.overwritten ?? [];
  const applyWarnings: string[] = [];
  if (overwritten.length > 0) applyWarnings.push(overwrittenWarning(overwritten, ctx.applied.backupPath));
  const edited = ctx.applied.edited;
  if (edited !== undefined && edited.replaced.length + edited.removed.length > 0)
    applyWarnings.push(editedWarning(edited, ctx.applied.backupPath));
  const notKept = ctx.applied.ownersNotKept ?? [];
  if (notKept.length > 0) {
    applyWarnings.push(ownersNotKeptWarning(notKept));
    if (notKept.length > 5)
      ctx.log.warn("replaced files whose owner ship could not keep", { files: notKept });
  }
  const lostInBackup = ctx.applied.backupOwnersNotKept ?? [];
  if (lostInBackup.length > 0) {
    applyWarnings.push(backupOwnersNotKeptWarning(lostInBackup, ctx.applied.backupPath));
    if (lostInBackup.length > 5)
      ctx.log.warn("files whose copy in the backup could not keep its owner", { files: lostInBackup });
  }
  const split = ctx.applied.splitLinks ?? [];
  if (split.length > 0) applyWarnings.push(splitLinksWarning(split));
  ctx.warnings.push(...applyWarnings);
  ctx.applyWarnings = applyWarnings;
  ctx.log.info("applied release", { backup: ctx.applied.backupPath, changes: ctx.applied.summary });
  return CONTINUE;
}

/** Named in the run's output, its notifications and the hub's report: a silent replace lost their edits. */
function overwrittenWarning(files: readonly string[], backupPath: string): string {
  const shown = files.slice(0, 5).join(", ");
  const more = files.length > 5 ? ` and ${files.length - 5} more (the log lists them all)` : "";
  return `replaced ${files.length} file(s) ship had not installed: ${shown}${more}; their previous versions are in ${join(backupPath, "files")} (ship --rollback ${backupPath} puts them back with the previous release)`;
}

/**
 * Files ship installed that someone changed on the host since, and that the update replaced or
 * removed: a hand-made fix gone without a word is what an operator finds out about the hard way.
 * Named in the run's output, its notifications and the hub's report, with where the copies are.
 */
function editedWarning(
  edited: { replaced: readonly string[]; removed: readonly string[] },
  backupPath: string,
): string {
  const count = edited.replaced.length + edited.removed.length;
  const done: string[] = [];
  if (edited.replaced.length > 0) done.push(`replaced ${shownFiles(edited.replaced)}`);
  if (edited.removed.length > 0)
    done.push(`removed ${shownFiles(edited.removed)} (the release no longer ships them)`);
  return `${count} file(s) ship installed were changed on this host since, and this update ${done.join(" and ")}: the changes made here are no longer in the app; their copies are in ${join(backupPath, "files")} (ship --rollback ${backupPath} puts them back with the previous release)`;
}

/**
 * ship not root, replacing files another user owns: the new versions are ship's, and an app running
 * as that user may no longer write (or read) them. Said only in the log, it reached no one.
 */
function ownersNotKeptWarning(files: readonly { file: string; owner: string }[]): string {
  const shown = files.slice(0, 5).map((f) => `${shownPath(f.file)} (was ${f.owner})`);
  const more = files.length > 5 ? ` and ${files.length - 5} more (the log lists them all)` : "";
  return `replaced ${files.length} file(s) owned by another user, and ship (uid ${process.getuid?.() ?? "?"}) may not give their new versions that owner, so they are now ship's: ${shown.join(", ")}${more}; run ship as root or as that user to keep the owner`;
}

/**
 * ship not root, saving another user's file: a rename into backup_dir on another filesystem, or a
 * hard link the kernel refuses (fs.protected_hardlinks), became a copy ship may not chown, so a
 * rollback put the file back as ship's. keepOwner dropped the owner without a word.
 */
function backupOwnersNotKeptWarning(
  files: readonly { file: string; owner: string }[],
  backupPath: string,
): string {
  const shown = files.slice(0, 5).map((f) => `${shownPath(f.file)} (was ${f.owner})`);
  const more = files.length > 5 ? ` and ${files.length - 5} more (the log lists them all)` : "";
  return `saved ${files.length} file(s) owned by another user into ${join(backupPath, "files")} as copies (backup_dir on another filesystem, or a hard link to another user's file refused), and ship (uid ${process.getuid?.() ?? "?"}) may not give the copies that owner, so a rollback puts them back as ship's: ${shown.join(", ")}${more}; run ship as root or as that user to keep the owner`;
}

/**
 * A replaced file with another name (a hard link): the new file was renamed over the app's name, so
 * the other names kept the old content. The seed's `cp` wrote through to every name; said, since an
 * operator who linked a config into /etc would otherwise find the old one there without a word.
 */
function splitLinksWarning(split: readonly SplitLink[]): string {
  const shown = split.slice(0, 5).map((link) => splitLinkText(link, shownPath));
  const more = split.length > 5 ? ` and ${split.length - 5} more (the log lists them all)` : "";
  return `replaced ${split.length} file(s) that had more than one name (hard links) by a new file under the app's name, so the other names keep the old content: ${shown.join(", ")}${more}; ln -f them to the app's file if they should have the new content`;
}

function shownFiles(files: readonly string[]): string {
  const more = files.length > 5 ? ` and ${files.length - 5} more` : "";
  return files.slice(0, 5).map(shownPath).join(", ") + more;
}
