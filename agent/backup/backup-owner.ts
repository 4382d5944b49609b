/**
 * Which of a config's sources a backup belongs to: the source of the name it was made under, when
 * that source still installs into the backup's app directory; else the one source that does. A
 * source renamed in ship.toml (same app_dir) owns the backups made under its old name: they were
 * left out of `--list-backups` and `--rollback` refused them as "another config's".
 */
import type { Source } from "../../shared/config/schema.js";
import { backupRestores } from "./backup-store.js";

export function sourceOfBackup(
  sources: Readonly<Record<string, Source>>,
  backup: { app: string; appDir: string },
): { name: string; source: Source } | undefined {
  const named = sources[backup.app];
  if (named !== undefined && backupRestores(backup, named.app_dir))
    return { name: backup.app, source: named };
  // Several sources may fill one app_dir: then the old name cannot say which, and none is guessed.
  const same = Object.entries(sources).filter(([, s]) => backupRestores(backup, s.app_dir));
  const [only] = same;
  return same.length === 1 && only !== undefined ? { name: only[0], source: only[1] } : undefined;
}
