/**
 * Which older release a hub's rollback may install. A rollback instruction is the one instruction
 * that may take an app down a version, and signatures do not limit it: every older release was
 * signed too. Taken on the hub's word, a stolen hub could send any old signed release — a known
 * vulnerable one — as a "rollback". The hub only ever names the release a host ran before the
 * rollout updated it, so the agent holds it to that: the older version must be one its own records
 * say it ran, the state file's `previous_version` or a backup of the app it holds.
 */
import type { AgentConfig, Source } from "../../shared/config/schema.js";
import { compareVersions } from "../../shared/versions.js";
import { listBackups } from "../apply/index.js";
import { BackupDirUnlistableError } from "../backup/backup-dirs.js";
import { sourceOfBackup } from "../backup/backup-owner.js";
import type { SourceState } from "../state/state-file.js";

export interface RollbackTarget {
  config: AgentConfig;
  app: string;
  source: Source;
  state: SourceState | undefined;
  /** The version on disk now (install index), null when the app is not installed. */
  installed: string | null;
  /** The version the hub's rollback names. */
  version: string;
}

/** Why the rollback is refused, or undefined when this host may take it. */
export async function rollbackRefusal(target: RollbackTarget): Promise<string | undefined> {
  const { config, app, installed, version } = target;
  // Not a downgrade (nothing installed, or a version as new or newer): no more than any deploy.
  if (installed === null || compareVersions(version, installed) >= 0) return undefined;
  // The operator let every run take older releases (the hub's rollout warns of such hosts).
  if (config.trust?.allow_downgrade === true) return undefined;
  const ran = await versionsRunBefore(target);
  if (ran.versions.some((v) => compareVersions(v, version) === 0)) return undefined;
  const known = ran.versions.length === 0 ? "none recorded" : [...new Set(ran.versions)].join(", ");
  // An unreadable backup_dir is no proof the host never ran it: "none recorded" sent the operator
  // looking for a stolen hub when a permission or a disk was what needed fixing.
  const unread =
    ran.unreadable === undefined
      ? ""
      : `; its backups could not be read, so a version only they record is not known here (${ran.unreadable})`;
  return `refused the hub's rollback of ${app} to ${version}: this host never ran ${version} before ${installed} (versions it ran before, by its state file and backups: ${known})${unread}; a rollback goes back only to a release the host ran, and a downgrade to any other needs [trust] allow_downgrade = true in its ship.toml`;
}

/**
 * The versions this host ran before its current one: the state's previous_version and its backups';
 * `unreadable` says why the backups could not be listed (the directory and what is wrong).
 */
async function versionsRunBefore({
  config,
  app,
  source,
  state,
}: RollbackTarget): Promise<{ versions: string[]; unreadable?: string }> {
  const previous = state?.previous_version ?? null;
  const versions = previous === null ? [] : [previous];
  try {
    // Every name's backups of this app_dir: a source renamed in ship.toml owns those of its old name.
    // Judging each configured source's place: a file there was skipped as "none recorded".
    const backups = await listBackups(
      config.general.backup_dir,
      undefined,
      source.app_dir,
      [],
      Object.keys(config.sources),
    );
    for (const b of backups)
      if (sourceOfBackup(config.sources, b)?.name === app && b.version !== null) versions.push(b.version);
    return { versions };
  } catch (error) {
    if (!(error instanceof BackupDirUnlistableError)) throw error;
    // Said within the refusal's sentence ("its backups could not be read … (backup_dir X: ENOTDIR…)").
    return { versions, unreadable: `backup_dir ${error.backupRoot}: ${error.problem}` };
  }
}
