/**
 * `<stateDir>/rollback.json`: a rollback that spans several backups (`ship --rollback` of an older
 * one undoes every newer update first, one restore per backup). Each restore is journaled on its
 * own, so a process killed between two of them leaves no journal and the app on a version nobody
 * asked for. This record names the rollback's target for the whole chain; recovery (`--recover`, the
 * next timer run, the daemon's start) goes on restoring until the target is back, then drops it.
 * A one-backup rollback needs no record: its restore journal covers it.
 */
import { rm } from "node:fs/promises";
import { join } from "node:path";
import * as z from "zod";
import { KeptCommands } from "../exec/named-command.js";
import { parseRecord, readRecordText } from "../state/record-file.js";
import { writeFileAtomic } from "../tree/fs-ops.js";

const RollbackRecordSchema = z.object({
  app: z.string(),
  appDir: z.string(),
  backupRoot: z.string(),
  /** The backup the rollback brings back (its id and path when the rollback started). */
  targetId: z.string(),
  targetPath: z.string(),
  /** The version it brings back (null: the tree ship found before its first install). */
  version: z.string().nullable(),
  /** The version the target undoes (absent in older records): names the tree a null `version` is. */
  undid: z.string().optional(),
  /** Whether the rollback ran the undone releases' rollback hooks (false for `--no-hooks`). */
  hooks: z.boolean(),
  /**
   * The rollback commands of the release one restore undoes, from before that restore until they
   * start: a run killed in between (the restore done, its backup consumed) left them unrun, and
   * recovery said "finished". Recovery runs them when that backup is gone (its restore was done).
   */
  commandsDue: z
    .object({
      backupId: z.string(),
      /** Each with its manifest name (`rollback hook[1]`, `custom_rollback_command`). */
      commands: KeptCommands,
      version: z.string(),
      previousVersion: z.string().nullable(),
    })
    .optional(),
});
export type RollbackRecord = z.infer<typeof RollbackRecordSchema>;

export function rollbackRecordPath(stateDir: string): string {
  return join(stateDir, "rollback.json");
}

/** Undefined when no chained rollback is under way. Throws on a record that is not one (named). */
export async function readRollbackRecord(stateDir: string): Promise<RollbackRecord | undefined> {
  const path = rollbackRecordPath(stateDir);
  let text: string;
  try {
    text = await readRecordText(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  // Damaged (a write cut short, a hand edit), it was a bare Error: a run said "not a rollback record
  // (… received undefined)" with exit 1, "the app is back on its previous version". Like a damaged
  // journal it needs a person: a rollback across backups was interrupted, at a version in between.
  return parseRecord(
    text,
    path,
    RollbackRecordSchema,
    "the target of a rollback across several backups a crash interrupted, so the app may be on a version in between; delete the file, then run that rollback again (ship --rollback ID, ship --list-backups lists them)",
    true,
  );
}

/**
 * Where the release a rollback undoes is hard-linked for its rollback commands (`$SHIP_RELEASE_DIR`),
 * in the app's state directory: removed once they ran, and by recovery when a kill cut them short.
 */
export function releaseBeingUndone(stateDir: string): string {
  return join(stateDir, "release-being-undone");
}

/** Durable before the first restore: a kill right after it must still find the record. */
export async function writeRollbackRecord(stateDir: string, record: RollbackRecord): Promise<void> {
  await writeFileAtomic(rollbackRecordPath(stateDir), JSON.stringify(record));
}

/** Not synced: a record a power cut brings back only makes recovery find its target already restored. */
export async function removeRollbackRecord(stateDir: string): Promise<void> {
  await rm(rollbackRecordPath(stateDir), { force: true });
}

/** The due commands are starting: from now on a kill is a command cut short, which is ended, not run again. */
export async function clearCommandsDue(stateDir: string): Promise<void> {
  const record = await readRollbackRecord(stateDir);
  if (record?.commandsDue === undefined) return;
  const { commandsDue: _started, ...rest } = record;
  await writeRollbackRecord(stateDir, rest);
}
