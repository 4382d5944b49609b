/**
 * `<backup_dir>/<app>/.restored.json`: the backups restores consumed, with when. A second
 * `ship --rollback ID` was told "it was restored" only while the consumed backup still sat in the
 * app's trash; once a run emptied it (any run of the app does), the same id got "holds no backup
 * with id", as if it were mistyped. The answer must not depend on housekeeping, so restores record
 * the id here, beside the trash and not in it, where emptyTrash never reaches.
 *
 * Bounded: the newest MAX_RESTORED_RECORDED entries, so a host rolled back daily for years keeps a
 * file of a few KB. Best effort: the restore is done when this is written, so a record that cannot
 * be read or written never fails a rollback (an older id then gets the plain "no backup" answer).
 */
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import * as z from "zod";
import { readRecordText } from "../state/record-file.js";
import { writeFileAtomic } from "../tree/fs-ops.js";

/** How many consumed backups the record keeps (the newest ones). */
export const MAX_RESTORED_RECORDED = 200;

const RESTORED_FILE = ".restored.json";

const RestoredRecordSchema = z.object({
  restored: z.array(z.object({ id: z.string(), at: z.string() })),
});
type RestoredEntry = z.infer<typeof RestoredRecordSchema>["restored"][number];

async function readEntries(appBackups: string): Promise<RestoredEntry[]> {
  try {
    const text = await readRecordText(join(appBackups, RESTORED_FILE));
    const parsed = RestoredRecordSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data.restored : [];
  } catch {
    // Not there yet, or damaged (a hand edit): an answer about old ids is all it costs.
    return [];
  }
}

/**
 * Records that a restore consumed backup `id` of the app whose backups are in `appBackups`
 * (`<backup_dir>/<app>`). Never throws (see the module comment).
 */
export async function recordRestored(appBackups: string, id: string, now = new Date()): Promise<void> {
  try {
    const kept = (await readEntries(appBackups)).filter((e) => e.id !== id);
    kept.push({ id, at: now.toISOString() });
    const restored = kept.slice(-MAX_RESTORED_RECORDED);
    // Not fsynced: losing the last entry to a power cut only makes its answer the plain one.
    await writeFileAtomic(join(appBackups, RESTORED_FILE), `${JSON.stringify({ restored })}\n`, false);
  } catch {
    // The restore is done; see the module comment.
  }
}

/** When a restore consumed backup `id` (any app's in `backupRoot`), or undefined when none is recorded. */
export async function restoredAt(backupRoot: string, id: string): Promise<string | undefined> {
  const apps = await readdir(backupRoot).catch(() => []);
  for (const app of apps) {
    const entry = (await readEntries(join(backupRoot, app))).find((e) => e.id === id);
    if (entry !== undefined) return entry.at;
  }
  return undefined;
}
