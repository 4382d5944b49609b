/**
 * A local release archive's sha256, remembered between runs with the stat it had
 * (`<source state>/archive-hash.json`), so a timer run whose archive did not change reads one stat
 * instead of the whole archive (an update's check reads no unchanged content).
 *
 * The stamp (file-stamp.ts: device, inode, size, mtime, ctime) is trusted as the stat index of a
 * release directory is: any write moves ctime, and a hash taken within RACY_MS of the file's last
 * change is never kept (git's "racy" rule), since a second write in the same timestamp tick could
 * leave the stamp as it was. The rule trusts the clock of the run that hashed it, so a record written
 * by a run whose clock read later than this run's does now is not trusted (as the stat index's).
 * A missing, stale or corrupt record only costs a read of the archive.
 */
import { rm } from "node:fs/promises";
import { join } from "node:path";
import * as z from "zod";
import { readRecordText } from "../state/record-file.js";
import { type FileStamp, isRacy } from "../tree/file-stamp.js";
import { writeFileAtomic } from "../tree/fs-ops.js";

const Record = z.object({
  path: z.string(),
  stamp: z.string(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  /** The writing run's clock (ms) when it read the archive. Records from before it was kept are read again once. */
  writtenAtMs: z.number(),
});

export const ARCHIVE_HASH_FILE = "archive-hash.json";

export class ArchiveHashCache {
  private readonly file: string;

  /** `stateDir`: the source's own state directory; `archive`: the configured path. */
  constructor(
    stateDir: string,
    private readonly archive: string,
  ) {
    this.file = join(stateDir, ARCHIVE_HASH_FILE);
  }

  /**
   * The remembered sha256 (hex) when the archive's stamp is still the one it was hashed with, by a
   * run whose clock was not ahead of `nowMs` (this run's).
   */
  async lookup(stamp: FileStamp, nowMs: number): Promise<string | undefined> {
    let text: string;
    try {
      // The rule for ship's records: a FIFO in its place made the run wait for a writer for ever.
      text = await readRecordText(this.file);
    } catch {
      return undefined; // none yet, unreadable or no file: the archive is read instead
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      return undefined;
    }
    const parsed = Record.safeParse(json);
    if (!parsed.success || parsed.data.path !== this.archive || parsed.data.stamp !== stamp) return undefined;
    if (parsed.data.writtenAtMs > nowMs) return undefined;
    return parsed.data.sha256;
  }

  /**
   * Remembers `sha256` for the archive with stat `st` (as it was before and after the read that
   * hashed it), unless the file changed within RACY_MS of `readStartedMs` (then the record is
   * dropped: the next run reads the archive again).
   */
  async remember(
    st: { mtimeMs: number; ctimeMs: number },
    stamp: FileStamp,
    sha256: string,
    readStartedMs: number,
  ): Promise<void> {
    if (isRacy(st, readStartedMs)) {
      await rm(this.file, { force: true });
      return;
    }
    // Not fsynced: a record lost to a power cut only costs the next run one read of the archive.
    // The clock the racy rule trusted: a later run whose clock reads earlier does not trust it.
    const record = { path: this.archive, stamp, sha256, writtenAtMs: readStartedMs };
    await writeFileAtomic(this.file, JSON.stringify(record), false);
  }
}
