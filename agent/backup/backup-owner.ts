/**
 * Which of a config's sources a backup belongs to: the source of the name it was made under, when
 * that source still installs into the backup's app directory; else the one source that does. A
 * source renamed in ship.toml (same app_dir) owns the backups made under its old name: they were
 * left out of `--list-backups` and `--rollback` refused them as "another config's".
 */

import { resolve } from "node:path";
import type { Source } from "../../shared/config/schema.js";
import { realDir } from "../tree/path-on-disk.js";
import { type BackupInfo, backupMadeUnder, backupRestores } from "./backup-store.js";

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

/**
 * A source whose app_dir, spelt as it is now, is where the backup was made, though it leads elsewhere
 * now: a symlink on its way (the app_dir itself, or a parent: /srv/current/app) was re-pointed, or
 * the directory moved (to another disk, say) and a symlink took its name. Such a backup was said to
 * be "another config's" or made before "app_dir was changed", and neither had happened.
 */
export function sourceLedElsewhere(
  sources: Readonly<Record<string, Source>>,
  backup: BackupInfo,
): { name: string; source: Source; leadsNow: string } | undefined {
  const spelt = backupMadeUnder(backup) ?? backup.appDir;
  for (const [name, source] of Object.entries(sources)) {
    if (resolve(source.app_dir) !== resolve(spelt)) continue;
    const leadsNow = realDir(source.app_dir);
    if (leadsNow !== backup.appDir) return { name, source, leadsNow };
  }
  return undefined;
}
