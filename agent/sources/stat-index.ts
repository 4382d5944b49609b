/**
 * A persistent stat index of a release directory, as git keeps one of its work tree: per file the
 * device, inode, size, mtime and ctime it had when it was hashed, and that sha256. A file whose stat
 * still matches is not read again, so deciding "did the release change" costs a stat per file.
 *
 * The "racy" rule: a file modified within RACY_MS of the moment its hash was taken may change again
 * without its timestamps moving (coarse timestamp granularity), so such entries are never trusted
 * and are hashed again next time. A file edited with its size and mtime put back still changes ctime
 * (no system call sets ctime), so it is hashed again too. Because every trusted entry is at least
 * RACY_MS older than its hashing, any later change moves ctime by more than that: the stat's
 * millisecond timestamps (with their sub-microsecond fraction) are precise enough.
 *
 * The index only saves time: a missing, stale, truncated or corrupt file means hashing again
 * whatever it cannot vouch for.
 *
 * On disk (read on every run, so no JSON objects per entry): a header line, then one
 * `<rel>\0<sha256>\t<stamp>\0` record per file. Names may hold any byte but NUL, so NUL ends each field.
 */
import type { Stats } from "node:fs";
import { readFile } from "node:fs/promises";
import { type FileStamp, isRacy, stampOf } from "../tree/file-stamp.js";
import { writeFileAtomic } from "../tree/fs-ops.js";

export { stampOf };

const MAGIC = "ship-stat-index 2 ";

export class StatIndex {
  /** rel → "<sha256>\t<stamp>" as recorded in this run. */
  private readonly next = new Map<string, string>();
  /** Whether saving would change the file (nothing hashed, nothing gone: the write is skipped). */
  private changed: boolean;

  private constructor(
    private readonly file: string,
    private readonly root: string,
    private readonly entries: ReadonlyMap<string, string>,
    loadedCleanly: boolean,
  ) {
    this.changed = !loadedCleanly;
  }

  /** The index of `root` kept at `file`; an unreadable or malformed one is empty (everything is hashed). */
  static async load(file: string, root: string): Promise<StatIndex> {
    const entries = new Map<string, string>();
    let text = "";
    try {
      text = await readFile(file, "utf8");
    } catch {
      // Missing or unreadable: start empty. The index is a cache, never a source of truth.
    }
    const header = `${MAGIC}${JSON.stringify(root)}\n`;
    if (!text.startsWith(header)) return new StatIndex(file, root, entries, false);
    const fields = text.slice(header.length).split("\0");
    // A well-formed body ends with NUL: an even number of fields plus the empty tail.
    let clean = fields.length % 2 === 1 && fields.at(-1) === "";
    for (let i = 0; i + 1 < fields.length; i += 2) {
      const rel = fields[i] as string;
      const value = fields[i + 1] as string;
      if (startsWithSha256(value) && value.charCodeAt(64) === 9) entries.set(rel, value);
      else clean = false;
    }
    return new StatIndex(file, root, entries, clean);
  }

  /**
   * The sha256 recorded for `rel` when its stamp is unchanged (the entry is kept for the next
   * index: it was settled when recorded and nothing moved since); undefined means "hash it".
   */
  lookup(rel: string, stamp: FileStamp): string | undefined {
    const value = this.entries.get(rel);
    if (value === undefined || value.length !== 65 + stamp.length || !value.endsWith(stamp)) return undefined;
    this.next.set(rel, value);
    return value.slice(0, 64);
  }

  /**
   * Records the hash of `rel` as it was read; `hashedAtMs` is the wall clock (ms) just before the
   * read began, `st` the stat `stamp` was made from. Racily recent files are left out, so the next
   * scan hashes them again.
   */
  record(
    rel: string,
    stamp: FileStamp,
    st: Pick<Stats, "mtimeMs" | "ctimeMs">,
    sha256: string,
    hashedAtMs: number,
  ): void {
    if (isRacy(st, hashedAtMs)) {
      this.changed = true;
      return;
    }
    const value = `${sha256}\t${stamp}`;
    if (this.entries.get(rel) !== value) this.changed = true;
    this.next.set(rel, value);
  }

  /** Replaces the index file with the entries recorded since load (files gone are forgotten). */
  async save(): Promise<void> {
    if (!this.changed && this.next.size === this.entries.size) return;
    const parts = [`${MAGIC}${JSON.stringify(this.root)}\n`];
    for (const [rel, value] of this.next) parts.push(rel, "\0", value, "\0");
    await writeFileAtomic(this.file, parts.join(""), false);
  }
}

/** 64 lowercase hex digits first (a loop: a regex over 20,000 slices costs tens of ms). */
function startsWithSha256(value: string): boolean {
  if (value.length < 64) return false;
  for (let i = 0; i < 64; i++) {
    const c = value.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return false;
  }
  return true;
}

/** Wall-clock time in ms, comparable with file timestamps on this host. */
export function nowMs(): number {
  return Date.now();
}
