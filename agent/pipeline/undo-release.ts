/**
 * A rollback asked for by a person (`ship --rollback`) or by the hub does what an automatic one does
 * around each restore: the rollback hooks and custom_rollback_command of the release being undone
 * run after its files are taken out (in a hard-linked copy of them, `$SHIP_RELEASE_DIR`, so scripts
 * it shipped still work), and its on_failure notifications say it was rolled back. The manifest
 * comes from the backup (saved there by the update that installed the release).
 */

import { hostname } from "node:os";
import type { AgentConfig } from "../../shared/config/schema.js";
import { RestoreNotStartedError, restoredVersionLabel } from "../../shared/errors.js";
import { fsErrorText } from "../../shared/fs-errors.js";
import type { Logger } from "../../shared/log.js";
import { Manifest } from "../../shared/manifest/schema.js";
// The modules themselves, not apply/index.js: that would load the planner (minimatch) onto --rollback.
import { readInstallIndexHeader } from "../apply/install-index.js";
import {
  dropUndoneRelease,
  type KeptRelease,
  keepUndoneRelease,
  ownLinksOf,
  showUndoneRelease,
} from "../apply/undone-release.js";
import { sourceOfBackup } from "../backup/backup-owner.js";
import { type BackupInfo, readUndoneManifest } from "../backup/backup-store.js";
import type { RestoreResult } from "../backup/restore.js";
import {
  clearCommandsDue,
  readRollbackRecord,
  releaseBeingUndone,
  writeRollbackRecord,
} from "../backup/rollback-record.js";
import type { RestoreOne } from "../backup/rollback-to.js";
import type { NamedCommand } from "../exec/named-command.js";
import { endInterruptedCommand, runningCommandFile } from "../exec/running-command.js";
import { faultPoint } from "../fault.js";
import { hostId } from "../host-id.js";
import { sendNotifications } from "../notify/send-notifications.js";
import { appStateDir } from "./paths.js";
import { rollbackCommandsOf } from "./rollback-commands.js";
import { DEFAULT_COMMAND_TIMEOUT_SECONDS, runCommands } from "./run-commands.js";

export interface UndoOptions {
  config: AgentConfig;
  log: Logger;
  /** False for `--no-hooks`: restore only (notifications are still sent). */
  hooks: boolean;
  /** Collects each failed rollback command's one-line reason. */
  problems: string[];
  /** Collects the on_failure notifications that did not arrive (a WARNING, not a failure). */
  warnings?: string[];
  notifyRetryDelayMs?: number;
}

/** The `around` of rollbackTo: hooks and notifications of the release each backup undoes. */
export function undoWithHooks(
  options: UndoOptions,
): (backup: BackupInfo, restore: RestoreOne) => Promise<RestoreResult> {
  return async (backup, restore) => {
    const manifest = await manifestOf(backup, options.log);
    const appDir = sourceOfBackup(options.config.sources, backup)?.source.app_dir;
    const commands = manifest === undefined || !options.hooks ? [] : rollbackCommandsOf(manifest);
    const stateDir = appDir === undefined ? undefined : appStateDir(options.config, appDir);
    const releaseDir = stateDir === undefined ? undefined : releaseBeingUndone(stateDir);
    // Like every other command path: a command a killed run left running is ended before anything
    // is touched, and ours are recorded so that the next run can end them if this one is killed.
    const recordFile = stateDir === undefined ? undefined : runningCommandFile(stateDir);
    if (recordFile !== undefined) {
      const ended = await endInterruptedCommand(recordFile, options.log);
      if (ended !== undefined) options.log.warn(ended);
    }
    // A rollback of one backup needs no record for its files (the restore's journal covers them),
    // but killed during its rollback hooks it left nothing: `--recover` ended the hook and the state
    // kept saying "updated" beside the restored version. With commands to run, the record says a
    // rollback by name is under way until it is done (rollbackTo drops it; recovery finishes it).
    // The record also names the commands due, until they start: killed after the restore but before
    // them, recovery found the backup consumed, said "finished" and never ran them.
    if (commands.length > 0 && stateDir !== undefined) {
      const record = (await readRollbackRecord(stateDir)) ?? {
        app: backup.app,
        appDir: backup.appDir,
        backupRoot: options.config.general.backup_dir,
        targetId: backup.id,
        targetPath: backup.path,
        version: backup.version,
        hooks: options.hooks,
      };
      const due = {
        backupId: backup.id,
        commands,
        version: backup.replacedBy,
        previousVersion: backup.version,
      };
      await writeRollbackRecord(stateDir, { ...record, commandsDue: due }).catch((error: unknown) => {
        // As the restore's own check words it: nothing has moved yet.
        throw new RestoreNotStartedError(backup.app, `${stateDir} is not writable: ${fsErrorText(error)}`);
      });
    }
    let result: RestoreResult;
    try {
      let kept: KeptRelease | undefined;
      if (commands.length > 0 && appDir !== undefined && stateDir !== undefined && releaseDir !== undefined) {
        await dropUndoneRelease(releaseDir);
        const index = await readInstallIndexHeader(stateDir);
        // Only the release this backup undoes: its files are what is installed right now.
        if (index?.version === backup.replacedBy)
          kept = await keepUndoneRelease({ appDir, stateDir, backupPath: backup.path, dir: releaseDir });
      }
      result = await restore(kept === undefined ? {} : { ownLinks: [ownLinksOf(kept)] });
      const shown = kept === undefined ? undefined : await showUndoneRelease(kept);
      for (const problem of shown?.problems ?? []) options.log.warn(problem);
      faultPoint("rollback:before-hooks");
      if (commands.length > 0 && stateDir !== undefined) await clearCommandsDue(stateDir);
      if (commands.length > 0 && appDir !== undefined && recordFile !== undefined) {
        await runUndoCommands(commands, {
          backup,
          appDir,
          recordFile,
          ...(shown?.dir === undefined ? {} : { releaseDir: shown.dir }),
          options,
        });
      } else if (manifest !== undefined && !options.hooks) {
        // Each by name: a release with only a custom_rollback_command was skipped without a word.
        const skipped = rollbackCommandsOf(manifest).map((command) => command.name);
        if (skipped.length > 0)
          options.log.warn(`rollback commands not run (--no-hooks): ${skipped.join(", ")}`, {
            app: backup.app,
            undone: backup.replacedBy,
          });
      }
    } finally {
      // Also when the restore was refused ("nothing was changed"): the copy, links to the app's
      // files, stayed in the state directory for good. No later run reads it (each keeps its own).
      // A copy that will not go (an immutable file's hard link) is said, not a failure.
      if (releaseDir !== undefined)
        await dropUndoneRelease(releaseDir).catch((error: unknown) =>
          options.log.warn(
            `could not remove the undone release's copy: ${fsErrorText(error)}; the next rollback replaces it`,
          ),
        );
    }
    if (manifest !== undefined) await notifyUndone(backup, manifest, options);
    return result;
  };
}

async function manifestOf(backup: BackupInfo, log: Logger): Promise<Manifest | undefined> {
  const saved = await readUndoneManifest(backup.path);
  if (saved === undefined) {
    log.warn("this backup predates saved manifests: no rollback hooks or notifications to run", {
      backup: backup.id,
    });
    return undefined;
  }
  const parsed = Manifest.safeParse(saved);
  if (!parsed.success) {
    log.warn("the manifest saved with this backup no longer parses: hooks and notifications skipped", {
      backup: backup.id,
    });
    return undefined;
  }
  return parsed.data;
}

async function runUndoCommands(
  commands: readonly NamedCommand[],
  facts: {
    backup: BackupInfo;
    appDir: string;
    recordFile: string;
    releaseDir?: string;
    options: UndoOptions;
  },
): Promise<void> {
  const { backup, appDir, recordFile, releaseDir, options } = facts;
  const failures = await runCommands(commands, {
    cwd: releaseDir ?? appDir,
    env: {
      app: backup.app,
      version: backup.replacedBy,
      previousVersion: backup.version ?? "",
      appDir,
      ...(releaseDir === undefined ? {} : { releaseDir }),
    },
    log: options.log,
    recordFile,
    defaultTimeoutSeconds: DEFAULT_COMMAND_TIMEOUT_SECONDS,
    stopAtFirstFailure: false,
  });
  options.problems.push(...failures);
}

async function notifyUndone(backup: BackupInfo, manifest: Manifest, options: UndoOptions): Promise<void> {
  // Said only in the log, a rollback told nobody and its operator did not know it.
  const undelivered = await sendNotifications(
    manifest.notifications.on_failure,
    {
      app: backup.app,
      version: backup.replacedBy,
      status: "failure",
      error: `${backup.replacedBy} was rolled back to ${restoredVersionLabel(backup.version, backup.replacedBy)} on request`,
      host: hostname(),
      system_id: hostId(),
      timestamp: new Date().toISOString(),
    },
    {
      log: options.log,
      ...(options.notifyRetryDelayMs === undefined ? {} : { retryDelayMs: options.notifyRetryDelayMs }),
    },
  );
  options.warnings?.push(...undelivered);
}
