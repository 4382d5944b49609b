/**
 * The journal (<stateDir>/journal.json) makes an apply or restore crash-safe: it is written and
 * fsynced before the first file operation, lists every operation, and says how far the run got.
 * Recovery reads it on the next start (recover.ts).
 */
import { rm } from "node:fs/promises";
import { join } from "node:path";
import * as z from "zod";
import { parseRecord, readRecordText, unwritableRecord } from "../state/record-file.js";
import { writeFileAtomic } from "../tree/fs-ops.js";
import type { FileOp } from "./file-ops.js";

/**
 * The journal's schemas, built when a journal is first read, not as this module loads: every
 * update, `--rollback` and `--list-backups` imports this module (for the journal's path, and to
 * write one), and a journal is read only after a crash. Built at load, their 88 zod schema objects
 * were a fifth of those a listing builds (issue 11: start-up).
 */
function buildSchemas() {
  const source = z.enum(["staging", "backup"]);
  const FileOpSchema = z.discriminatedUnion("op", [
    z.object({ op: z.literal("remove"), rel: z.string() }),
    z.object({
      op: z.literal("rmdir"),
      rel: z.string(),
      mode: z.number(),
      uid: z.number().optional(),
      gid: z.number().optional(),
    }),
    z.object({ op: z.literal("mkdir"), rel: z.string(), mode: z.number() }),
    z.object({ op: z.literal("replace"), rel: z.string(), from: source, src: z.string() }),
    z.object({ op: z.literal("add"), rel: z.string(), from: source, src: z.string() }),
    z.object({ op: z.literal("chmod"), rel: z.string(), mode: z.number(), was: z.number() }),
  ]);

  /** How the install index changes once the update is committed; absolute values, so re-applying is harmless. */
  const IndexDeltaSchema = z.object({
    version: z.string(),
    releaseId: z.string().optional(),
    set: z.record(
      z.string(),
      z.object({
        sha256: z.string(),
        mode: z.number(),
        merged: z.boolean().optional(),
        installedSha256: z.string().optional(),
      }),
    ),
    drop: z.array(z.string()),
    addDirs: z.array(z.string()),
    dropDirs: z.array(z.string()),
    /** The new index's dirModes (absent in journals written before it existed). */
    dirModes: z.record(z.string(), z.number()).optional(),
    /** The new index's linked configs (absent in journals written before it existed). */
    linked: z.record(z.string(), z.string()).optional(),
    /** The new index's unusedSections (absent in journals written before it existed). */
    unusedSections: z.record(z.string(), z.array(z.string())).optional(),
  });

  const UpdateJournalSchema = z.object({
    kind: z.literal("update"),
    /** applying: roll back on recovery; committed: every file is in place, finish the bookkeeping. */
    phase: z.enum(["applying", "committed"]),
    app: z.string(),
    appDir: z.string(),
    stagingDir: z.string(),
    stateDir: z.string(),
    backupRoot: z.string(),
    backupPath: z.string(),
    fromVersion: z.string().nullable(),
    toVersion: z.string(),
    ops: z.array(FileOpSchema),
    index: IndexDeltaSchema,
  });

  /** A restore only ever rolls forward: its operations are re-derived from the backup's meta.json. */
  const RestoreJournalSchema = z.object({
    kind: z.literal("restore"),
    app: z.string(),
    appDir: z.string(),
    stateDir: z.string(),
    backupPath: z.string(),
    /** The version the restore brings back, for the recovery message once the backup is consumed. */
    version: z.string().nullable(),
    /** The version it undoes (absent in older journals): names the tree a null `version` brings back. */
    undid: z.string().optional(),
    /**
     * Where the consumed backup goes: the trash of the source restoring it, whose runs empty it. A
     * backup made under a source's old name went into that name's trash, which nothing empties.
     * Absent (journals written before it): beside the backup.
     */
    trash: z.string().optional(),
    /**
     * The configured source that ran the restore. Two sources may fill one app_dir, and the backup's
     * name cannot tell them apart after a rename: recovery follows this one's state. Absent in
     * journals written before it (recovery then goes by the backup's name).
     */
    source: z.string().optional(),
  });

  const JournalSchema = z.discriminatedUnion("kind", [UpdateJournalSchema, RestoreJournalSchema]);
  return { FileOpSchema, IndexDeltaSchema, UpdateJournalSchema, RestoreJournalSchema, JournalSchema };
}

type Schemas = ReturnType<typeof buildSchemas>;
let built: Schemas | undefined;
const schemas = (): Schemas => {
  built ??= buildSchemas();
  return built;
};

export type IndexDelta = z.infer<Schemas["IndexDeltaSchema"]>;
export type UpdateJournal = z.infer<Schemas["UpdateJournalSchema"]>;
export type RestoreJournal = z.infer<Schemas["RestoreJournalSchema"]>;
export type Journal = z.infer<Schemas["JournalSchema"]>;

// The schema and the FileOp type describe the same records; this line fails to compile if they drift.
const _sameOps: z.infer<Schemas["FileOpSchema"]> extends FileOp
  ? FileOp extends z.infer<Schemas["FileOpSchema"]>
    ? true
    : never
  : never = true;
void _sameOps;

export function journalPath(stateDir: string): string {
  return join(stateDir, "journal.json");
}

export async function readJournal(stateDir: string): Promise<Journal | undefined> {
  let text: string;
  try {
    text = await readRecordText(journalPath(stateDir));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    // The state directory replaced by a file (by a pre_update hook, say): read as "cannot open
    // …/journal.json (ENOTDIR)", an apply that died half-way, so the run said "UPDATE FAILED AND
    // RESTORE FAILED — the app needs a person" of an app it had not touched. No journal can be there:
    // what is wrong is the directory, named, exit 2 (exit 1 after the release's pre_update hooks).
    if ((error as NodeJS.ErrnoException).code === "ENOTDIR")
      throw unwritableRecord(journalPath(stateDir), JOURNAL_OF, error);
    throw error;
  }
  return parseRecord(text, journalPath(stateDir), schemas().JournalSchema, JOURNAL_WHAT, true);
}

/** Why no restore may start while a journal is left (a killed run's): `--rollback` and `--list-backups` say it alike. */
export const WAITS_FOR_RECOVERY =
  "a run was killed while changing the app and waits for recovery (its journal.json): run ship --recover first, then roll back";

/** What the journal is, in an error about its directory. */
export const JOURNAL_OF = "ship's journal of the update or restore in progress";

/** What an operator reads when the journal is damaged: ship cannot finish or undo what it records. */
const JOURNAL_WHAT =
  "the journal of an update or restore a crash interrupted, so ship cannot tell how far it got and the app may be partly updated; compare the app with its release and backups (ship --list-backups), put it right, then delete the file";

export async function writeJournal(stateDir: string, journal: Journal): Promise<void> {
  await writeFileAtomic(journalPath(stateDir), JSON.stringify(journal));
}

/** Not synced: should a power cut bring the journal back, recovery just repeats idempotent work. */
export async function removeJournal(stateDir: string): Promise<void> {
  await rm(journalPath(stateDir), { force: true });
}
