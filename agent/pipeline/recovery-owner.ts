/**
 * Whose leftovers a killed run left in an app directory that several sources fill. Recovery used
 * the first source in ship.toml: a `ship --rollback` of `myapp` killed mid-restore, finished by
 * `ship --recover`, left myapp's state naming the undone version and wrote "rolled_back" into the
 * other source's.
 */
import type { AgentConfig, Source } from "../../shared/config/schema.js";
import { readJournal } from "../apply/journal.js";
import { sourceOfBackup } from "../backup/backup-owner.js";
import { sameDir } from "../backup/backup-store.js";
import { readRollbackRecord } from "../backup/rollback-record.js";
import { readState, type SourceState } from "../state/state-file.js";
import { failedRollbackCommands } from "./rollback-commands.js";

export interface RecoveryOwner {
  name: string;
  source: Source;
  /** False: no record names a source; `name` is the first that fills the directory. */
  named: boolean;
  /** Another configured source fills the same app_dir. */
  shared: boolean;
}

export async function recoveryOwner(
  config: AgentConfig,
  first: string,
  firstSource: Source,
  appStateDir: string,
): Promise<RecoveryOwner> {
  const sharing = Object.entries(config.sources).filter(([, s]) => sameDir(s.app_dir, firstSource.app_dir));
  if (sharing.length === 1) return { name: first, source: firstSource, named: true, shared: false };
  const ofBackup = (backup: { app: string; appDir: string }) => sourceOfBackup(config.sources, backup)?.name;
  // Unreadable records are the engine's to report (recovery reads them next): here only a hint.
  const journal = await readJournal(appStateDir).catch(() => undefined);
  const record = await readRollbackRecord(appStateDir).catch(() => undefined);
  const state = await readState(config.general.state_file).catch(() => undefined);
  const pending = sharing.filter(([n]) => state?.sources[n]?.pending_update !== undefined);
  const candidates = [
    journal?.kind === "restore" ? journal.source : undefined,
    journal === undefined ? undefined : journal.app,
    journal === undefined ? undefined : ofBackup(journal),
    record === undefined ? undefined : record.app,
    record === undefined ? undefined : ofBackup(record),
    pending.length === 1 ? pending[0]?.[0] : undefined,
  ];
  for (const candidate of candidates) {
    const found = sharing.find(([n]) => n === candidate);
    if (found !== undefined) return { name: found[0], source: found[1], named: true, shared: true };
  }
  return { name: first, source: firstSource, named: false, shared: true };
}

/** The state after a recovery finished a rollback; `problems`: its rollback commands that failed. */
export function finishedRollback(problems: readonly string[] = []): (state: SourceState) => SourceState {
  return (state) => ({
    ...state,
    last_result: "rolled_back",
    last_error: failedRollbackCommands(problems) ?? null,
  });
}
