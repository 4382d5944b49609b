/**
 * A run's removal of the incomplete backups killed runs of its app left (partial-backups.ts), with
 * what the app's records say a recovery still needs. Runs under the app's lock, after recovery.
 */
import type { AgentConfig, Source } from "../../shared/config/schema.js";
import type { Logger } from "../../shared/log.js";
import { journalPath } from "../apply/journal.js";
import { sweepPartialBackups } from "../backup/partial-backups.js";
import { rollbackRecordPath } from "../backup/rollback-record.js";
import { readState } from "../state/state-file.js";
import { lstatOrUndefined } from "../tree/fs-ops.js";

export async function removePartialBackups(
  config: AgentConfig,
  name: string,
  source: Source,
  appStateDir: string,
  log: Logger,
): Promise<void> {
  // A recovery that could not finish keeps its records: it may still need any backup of the app.
  const recovering = [journalPath(appStateDir), rollbackRecordPath(appStateDir)].some(
    (file) => lstatOrUndefined(file) !== undefined,
  );
  const pending = (await readState(config.general.state_file)).sources[name]?.pending_update;
  const problems: string[] = [];
  const removed = await sweepPartialBackups(
    config.general.backup_dir,
    name,
    source.app_dir,
    {
      recovering,
      paths: pending?.backup_path === undefined ? [] : [pending.backup_path],
      pendingSince: pending?.started,
    },
    problems,
  );
  if (removed.length > 0)
    log.warn(
      "removed incomplete backups left by runs killed while making them (no update had begun: nothing to restore)",
      { backupDir: config.general.backup_dir, backups: removed },
    );
  for (const problem of problems) log.warn(problem);
}
