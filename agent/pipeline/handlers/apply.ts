/** apply: the engine backs up what changes and installs the release in one journaled operation. */
import { join } from "node:path";
import { need, type UpdateContext } from "../context.js";
import { CONTINUE, type StepOutcome } from "../outcome.js";
import { recordPendingBackup } from "../pending-update.js";

export async function applyRelease(ctx: UpdateContext): Promise<StepOutcome> {
  const manifest = need(ctx.manifest, "manifest");
  const release = need(ctx.release, "release");
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
  if (overwritten.length > 0) ctx.warnings.push(overwrittenWarning(overwritten, ctx.applied.backupPath));
  ctx.log.info("applied release", { backup: ctx.applied.backupPath, changes: ctx.applied.summary });
  return CONTINUE;
}

/** Named in the run's output, its notifications and the hub's report: a silent replace lost their edits. */
function overwrittenWarning(files: readonly string[], backupPath: string): string {
  const shown = files.slice(0, 5).join(", ");
  const more = files.length > 5 ? ` and ${files.length - 5} more (the log lists them all)` : "";
  return `replaced ${files.length} file(s) ship had not installed: ${shown}${more}; their previous versions are in ${join(backupPath, "files")} (ship --rollback ${backupPath} puts them back with the previous release)`;
}
