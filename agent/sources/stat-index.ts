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
import { readFileSync, type Stats } from "node:fs";
import { type FileStamp, isRacy, stampOf } from "../tree/file-stamp.js";
import { writeFileAtomic } from "../tree/fs-ops.js";

export { stampOf };

const MAGIC = "ship-stat-index 2 ";

/**
 * Lookups come in the order of the walk, which is the order the index was saved in: each is
 * checked against the record at a cursor in the file's text, so an unchanged release costs no
 * split of the file and no map of 20,000 names (a third of the scan's JavaScript before). A name
 * found elsewhere (files added, removed, a foreign order) falls back to a map of every record,
 * built once.
 */
export class StatIndex {
  /** What the next index holds, in lookup order: rel, "<sha256>\t<stamp>" ("" when left out), rel, … */
  private readonly kept: string[] = [];
  /** Position in `kept` of the value of each file a lookup could not vouch for (filled by record). */
  private readonly slots = new Map<string, number>();
  /** Whether saving would change the file (nothing hashed, nothing gone: the write is skipped). */
  private changed: boolean;
  /** Where in `text` the record the walk asks for next is expected to start. */
  private cursor: number;
  /** rel → start of its value in `text`; built only for a lookup the cursor cannot answer. */
  private byRel: Map<string, number> | undefined;

  private constructor(
    private readonly file: string,
    private readonly root: string,
    private readonly text: string,
    bodyStart: number,
  ) {
    this.cursor = bodyStart;
    this.changed = bodyStart === 0;
  }

  /** The index of `root` kept at `file`; an unreadable or malformed one vouches for nothing. */
  static async load(file: string, root: string): Promise<StatIndex> {
    let text = "";
    try {
      // One synchronous read and decode: fs/promises decodes a large file chunk by chunk.
      text = readFileSync(file, "utf8");
    } catch {
      // Missing or unreadable: start empty. The index is a cache, never a source of truth.
    }
    const header = `${MAGIC}${JSON.stringify(root)}\n`;
    return text.startsWith(header)
      ? new StatIndex(file, root, text, header.length)
      : new StatIndex(file, root, "", 0);
  }

  /**
   * The sha256 recorded for `rel` when its stamp is unchanged (the entry is kept for the next
   * index: it was settled when recorded and nothing moved since); undefined means "hash it", and
   * the file's hash is then expected through record().
   */
  lookup(rel: string, stamp: FileStamp): string | undefined {
    const text = this.text;
    const at = this.valueStart(rel);
    const end = at < 0 ? -1 : text.indexOf("\0", at);
    if (end >= 0) this.cursor = end + 1;
    if (
      end < 0 ||
      end - at !== 65 + stamp.length ||
      text.charCodeAt(at + 64) !== 9 ||
      !text.startsWith(stamp, at + 65) ||
      !isSha256At(text, at)
    ) {
      this.slots.set(rel, this.kept.length + 1);
      this.kept.push(rel, "");
      return undefined;
    }
    this.kept.push(rel, text.slice(at, end));
    return text.slice(at, at + 64);
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
    // Only a file its lookup could not vouch for is recorded: the index changes either way.
    this.changed = true;
    if (isRacy(st, hashedAtMs)) return;
    const value = `${sha256}\t${stamp}`;
    const slot = this.slots.get(rel);
    if (slot === undefined) this.kept.push(rel, value);
    else this.kept[slot] = value;
  }

  /** Replaces the index file with the entries looked up or recorded since load (files gone are forgotten). */
  async save(): Promise<void> {
    // Every record answered in order, none left over: the file already says all this.
    if (!this.changed && this.cursor === this.text.length) return;
    const parts = [`${MAGIC}${JSON.stringify(this.root)}\n`];
    const kept = this.kept;
    for (let i = 0; i < kept.length; i += 2) {
      if (kept[i + 1] !== "") parts.push(kept[i] as string, "\0", kept[i + 1] as string, "\0");
    }
    await writeFileAtomic(this.file, parts.join(""), false);
  }

  /** Start of the value recorded for `rel` in `text`, or -1 when there is none. */
  private valueStart(rel: string): number {
    const text = this.text;
    const at = this.cursor;
    if (text.startsWith(rel, at) && text.charCodeAt(at + rel.length) === 0) return at + rel.length + 1;
    // Not where the walk's order puts it: the file is not the one we would write now.
    this.changed = true;
    this.byRel ??= this.mapRecords();
    return this.byRel.get(rel) ?? -1;
  }

  /** Every complete record's name → start of its value (a truncated tail is left out). */
  private mapRecords(): Map<string, number> {
    const text = this.text;
    const byRel = new Map<string, number>();
    let at = text.indexOf("\n") + 1;
    while (at > 0 && at < text.length) {
      const nameEnd = text.indexOf("\0", at);
      const valueEnd = nameEnd < 0 ? -1 : text.indexOf("\0", nameEnd + 1);
      if (valueEnd < 0) break;
      byRel.set(text.slice(at, nameEnd), nameEnd + 1);
      at = valueEnd + 1;
    }
    return byRel;
  }
}

/** 64 lowercase hex digits at `at` (a loop: a regex over 20,000 slices costs tens of ms). */
function isSha256At(text: string, at: number): boolean {
  for (let i = at; i < at + 64; i++) {
    const c = text.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return false;
  }
  return true;
}

/** Wall-clock time in ms, comparable with file timestamps on this host. */
export function nowMs(): number {
  return Date.now();
}
