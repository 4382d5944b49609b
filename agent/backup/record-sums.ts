/**
 * The sha256 of a backup's own records (inventory.json, manifest.json, installed.json) as their
 * update wrote them, with the modification time each had then. The size rule (saved-records.ts)
 * missed a record garbled at its own size: `--list-backups` listed the backup as restorable, and the
 * rollback refused it at the parse, or, where the garble still parsed (another path of the same
 * length in `changed`), restored by it. A record whose times and inode are still the ones recorded
 * costs one lstat, as before; only one touched since is read and hashed. The mtime alone let an edit
 * set back with `touch -r` through: the ctime, which no user can set back, is recorded too (sums
 * written before it was keep the mtime rule).
 */
import type { BigIntStats } from "node:fs";
import * as z from "zod";
import { damagedRecord } from "../state/record-file.js";
import { lstatBigOrUndefined } from "../tree/fs-ops.js";
import { hashRegularFileSync, hashText } from "../tree/hash-file.js";

export const RecordSumSchema = z.object({
  /** One, or two while cleanup rewrites the inventory (either is whole). */
  sha256: z.array(z.string()),
  /** Its time once written; absent while cleanup rewrites it (then it is hashed). */
  mtimeNs: z.string().optional(),
  /** Its change time and inode once written; absent in sums written before they were recorded. */
  ctimeNs: z.string().optional(),
  ino: z.string().optional(),
});
export type RecordSum = z.infer<typeof RecordSumSchema>;

/** The sum of `text`, just written to `path`. */
export function sumOfWritten(path: string, text: string): RecordSum {
  const stat = lstatBigOrUndefined(path);
  return {
    sha256: [hashText(text)],
    ...(stat === undefined
      ? {}
      : { mtimeNs: String(stat.mtimeNs), ctimeNs: String(stat.ctimeNs), ino: String(stat.ino) }),
  };
}

/** `sum` also accepting `text` (written next): no time, as the file changes. */
export function sumAlsoOf(sum: RecordSum | undefined, text: string): RecordSum | undefined {
  return sum === undefined ? undefined : { sha256: [...sum.sha256, hashText(text)] };
}

/** Throws when the record at `path` (its size already checked) is not one of the contents recorded. */
export function checkRecordSum(path: string, sum: RecordSum | undefined, what: string): void {
  if (sum === undefined) return;
  const stat = lstatBigOrUndefined(path);
  if (stat === undefined || !stat.isFile() || untouched(stat, sum)) return;
  if (sum.sha256.includes(hashRegularFileSync(path))) return;
  throw damagedRecord(
    path,
    what,
    `its content is not what the update saved (same size, ${stat.size} bytes, but another sha256; edited by hand since)`,
  );
}

function untouched(stat: BigIntStats, sum: RecordSum): boolean {
  return (
    String(stat.mtimeNs) === sum.mtimeNs &&
    (sum.ctimeNs === undefined || String(stat.ctimeNs) === sum.ctimeNs) &&
    (sum.ino === undefined || String(stat.ino) === sum.ino)
  );
}
