/**
 * The agent's state file (`general.state_file`, JSON). `last_run` stays a top-level ISO string
 * because the seed's health-check script reads it with `jq -r '.last_run'`. Written atomically
 * (temp file + fsync + rename + directory fsync) so a crash never leaves half a state file.
 */
import { open, readlink, rename, rm } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import * as z from "zod";
import { errnoCode, LocalWriteError } from "../../shared/fs-errors.js";
import { makeDirs } from "../../shared/make-dirs.js";
import { type RunResult, runResults } from "../../shared/protocol/app-states.js";
import {
  isUnwritableDir,
  linkedWhereNothingIsYet,
  parseRecord,
  readRecordText,
  unwritableRecord,
} from "./record-file.js";

export { type RunResult, runResults };

/**
 * Every time in the file is one ship wrote (toISOString), or a hand edit's ISO time with or without
 * an offset. Anything else ("yesterday") was accepted and then read as no time at all: a `last_run`
 * the once-a-day rule could not read let every run through.
 */
const Time = z.iso.datetime({
  offset: true,
  local: true,
  error: "is not an ISO 8601 time such as 2026-12-04T03:44:02.545Z",
});

/**
 * Written before the apply and cleared by finalize: if it is still there at the next start, the run
 * that wrote it was killed after changing the app, and the new version was never verified.
 */
export const PendingUpdate = z.object({
  version: z.string(),
  from: z.string().nullable(),
  started: Time,
  /** Set once the apply returned; otherwise found by version in the backup store. */
  backup_path: z.string().optional(),
  /**
   * Where app_dir led when the update began (its real path; absent in older records). Its journal,
   * install index and backup belong to that directory: a recovery after app_dir was re-pointed (a
   * hook's `ln -sfn releases/2 current`) read another directory's records, said "the app's files
   * were not changed" of a half-applied tree, or restored the old files into the other directory.
   */
  app_dir_on_disk: z.string().optional(),
  /**
   * The manifest's rollback hooks and custom_rollback_command, as records written before they were
   * kept in pending-manifest.json (mode 600) only: a command line may carry a secret, and this file
   * is 640, read by the seed's health check. Read from such a record; never written.
   */
  rollback_commands: z
    .array(z.union([z.string(), z.object({ command: z.string(), timeout: z.number().optional() })]))
    .optional(),
  /**
   * Why the update failed, written before its rollback (restore, rollback hooks) starts: a run
   * killed there left recovery saying only "interrupted", the health check's failure lost.
   */
  failure: z.object({ step: z.string(), message: z.string() }).optional(),
  /** The migrations the run had run (`1.5.0`, `2.0.0[0]`): a recovery's restore does not undo them. */
  migrations_ran: z.array(z.string()).optional(),
});
export type PendingUpdate = z.infer<typeof PendingUpdate>;

export const ManualApproval = z.object({
  version: z.string(),
  approved_at: Time,
  /** The OS user who ran `ship --approve`. */
  approved_by: z.string(),
});
export type ManualApproval = z.infer<typeof ManualApproval>;

export const SourceState = z.looseObject({
  current_version: z.string().nullable().default(null),
  previous_version: z.string().nullable().default(null),
  last_result: z.enum(runResults).nullable().default(null),
  last_error: z.string().nullable().default(null),
  /** When the source last changed the app (ISO). */
  last_update: Time.nullable().default(null),
  /** The source-specific identity (commit, sha256, etag) of what is installed. */
  release_id: z.string().nullable().default(null),
  /** Set when a conditional asked for a person; cleared by the next successful update. */
  manual_steps: z.array(z.string()).optional(),
  /**
   * `ship --approve APP VERSION`: a person did the manual steps for this version, so a
   * require_manual_intervention conditional no longer stops an update to it. Kept as the record.
   */
  manual_approval: ManualApproval.optional(),
  pending_update: PendingUpdate.optional(),
});
export type SourceState = z.infer<typeof SourceState>;

export const ShipState = z.looseObject({
  last_run: Time.nullable().default(null),
  sources: z.record(z.string(), SourceState).default({}),
});
export type ShipState = z.infer<typeof ShipState>;

export function emptySourceState(): SourceState {
  return SourceState.parse({});
}

/** A missing file is a first run; an unreadable one is bad input, never silently reset. */
export async function readState(file: string): Promise<ShipState> {
  let text: string;
  try {
    text = await readRecordText(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return ShipState.parse({});
    if (await linkedWhereNothingIsYet(file)) return ShipState.parse({});
    throw error;
  }
  return parseRecord(text, file, ShipState, STATE_WHAT);
}

/**
 * What an operator reads when the state file is damaged: the other records' messages say what to
 * do (README), this one said only "state file is not valid JSON". Moved aside, the next run writes
 * each source's installed version again from its install index (sync-installed.ts).
 */
const STATE_WHAT =
  "ship's record of each source's installed version and last result; put it right, or move it aside and the next run writes it again from what ship installed (the last results and the record of an update interrupted before its checks are lost)";

/** The state file's text for `state` (what writeState writes). */
function stateText(state: ShipState): string {
  return `${JSON.stringify(state, null, 2)}\n`;
}

export async function writeState(file: string, state: ShipState): Promise<void> {
  await writeFileAtomic(file, stateText(state)).catch((error: unknown) => {
    const cause = error instanceof LocalWriteError ? error.cause : error;
    throw isUnwritableDir(cause) ? unwritableRecord(file, "ship's state file", cause) : error;
  });
}

/**
 * Read, change one source's entry, write back. Changes to one file are serialized in this process
 * (the daemon may update several apps at once, each under its own app lock but sharing this file);
 * across processes the global run lock keeps timer runs apart.
 */
export function updateSourceState(
  file: string,
  source: string,
  change: (current: SourceState) => SourceState,
): Promise<ShipState> {
  return serialized(file, async () => {
    const state = await readState(file);
    const before = state.sources[source];
    const entry = change(before ?? emptySourceState());
    // An entry that would say nothing (the run-start sync of a source that never ran) is not
    // written: a run that then stops (bad input) leaves the state file as it found it.
    if (before === undefined && JSON.stringify(entry) === JSON.stringify(emptySourceState())) return state;
    const next: ShipState = { ...state, sources: { ...state.sources, [source]: entry } };
    // Every write is two fsyncs; a change that changes nothing (the run-start sync of an app whose
    // state already names what is installed) costs none.
    if (stateText(next) !== stateText(state)) await writeState(file, next);
    return next;
  });
}

export function recordLastRun(file: string, when: Date): Promise<void> {
  return serialized(file, async () => {
    const state = await readState(file);
    await writeState(file, { ...state, last_run: when.toISOString() });
  });
}

const queues = new Map<string, Promise<unknown>>();

function serialized<T>(file: string, work: () => Promise<T>): Promise<T> {
  const previous = queues.get(file) ?? Promise.resolve();
  const result = previous.then(work, work);
  const settled = result.catch(() => {});
  queues.set(file, settled);
  // Forget the queue once it is idle so the map does not grow with every file ever written.
  void settled.then(() => {
    if (queues.get(file) === settled) queues.delete(file);
  });
  return result;
}

/**
 * Writes `file` so a crash leaves the old or the new content; `durable` also fsyncs file and directory.
 * A `file` that is a symlink (an operator's `state_file` or `token_file` linked to a shared volume) is
 * written where it leads: renaming over the link itself would replace it with a plain file, and
 * the next write would no longer reach the volume.
 */
export async function writeFileAtomic(
  linkOrFile: string,
  content: string,
  mode = 0o640,
  durable = true,
): Promise<void> {
  const file = await linkTarget(linkOrFile);
  const dir = dirname(file);
  await makeDirs(dir);
  // Random, so writers on other hosts sharing the volume never pick one name; opened with O_EXCL, so
  // an entry already there under it is never written through (nor removed below). Math.random, not
  // node:crypto's randomBytes: importing that loaded 36 built-ins on every `ship --rollback` (issue 11).
  const random = Math.floor(Math.random() * 2 ** 48)
    .toString(16)
    .padStart(12, "0");
  const temp = join(dir, `.${basename(file)}.${random}.tmp`);
  let created = false;
  try {
    const handle = await open(temp, "wx", mode);
    created = true;
    try {
      await handle.writeFile(content);
      if (durable) await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, file);
  } catch (error) {
    if (created) await rm(temp, { force: true });
    // Named, so a full disk reads "cannot write <file>: no space left on device", not a bare errno.
    throw errnoCode(error) === undefined ? error : new LocalWriteError(file, error);
  }
  if (durable) await syncDirectory(dir);
}

/** Where `path` leads when it is a symlink (followed link by link, so a dangling one names its target); else `path`. */
export async function linkTarget(path: string): Promise<string> {
  let at = path;
  for (let hops = 0; hops < 40; hops++) {
    let next: string;
    try {
      next = await readlink(at);
    } catch (error) {
      const code = errnoCode(error);
      if (code === "EINVAL" || code === "ENOENT") return at; // not a link (or nothing there yet)
      throw error;
    }
    at = resolve(dirname(at), next);
  }
  return at; // a loop: the write then fails naming it
}

async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
