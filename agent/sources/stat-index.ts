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
 * The rule trusts the clock of the run that recorded an entry. An index written by a run whose
 * clock was ahead of this one's (a clock stepped back since, a run with a wrong clock) may vouch
 * for files changed in the tick of their recorded stamp, so it vouches for nothing: the header
 * keeps the writing run's clock, and one later than this run's clock means hashing everything again.
 *
 * The index only saves time: a missing, stale, truncated or corrupt file means hashing again
 * whatever it cannot vouch for.
 *
 * On disk (read on every run, so no JSON objects per entry): a header line (magic, the writing
 * run's clock in ms, the root), then one `<rel>\0<sha256>\t<stamp>\0` record per file. Names may hold any byte but NUL, so NUL ends each field.
 * The stamp (format 4) is all integers: device, inode, size, then mtime and ctime each as seconds
 * and nanoseconds, which Node's formula (sec * 1e3 + nsec / 1e6) turns into the stat's very
 * mtimeMs and ctimeMs. Format 3 wrote those doubles as text, and a lookup formatted the stat's two
 * doubles per file to compare them (~3 % of an update's CPU); an integer field is read digit by
 * digit. An index of an earlier format vouches for nothing: the first run after an upgrade hashes
 * the release once.
 */
import type { Stats } from "node:fs";
import { readRecordBytesSync } from "../state/record-file.js";
import { writeFileAtomic } from "../tree/fs-ops.js";
import { isRacy } from "../tree/racy-rule.js";

const MAGIC = "ship-stat-index 4 ";

/** The stat fields a record's stamp is made of (indexStampOf), as a walk's lstat gives them. */
export type StampFields = Pick<Stats, "dev" | "ino" | "size" | "mtimeMs" | "ctimeMs">;

/**
 * Lookups come in the order of the walk, which is the order the index was saved in: each is
 * checked against the record at a cursor in the file's text, so an unchanged release costs no
 * split of the file and no map of 20,000 names (a third of the scan's JavaScript before). A name
 * found elsewhere (files added, removed, a foreign order) falls back to a map of every record,
 * built once. The stamp is compared field by field with the stat's numbers, never built as a string
 * per file (formatting a stat's numbers costs more than reading the record's), and records that
 * still vouch are copied into the next index verbatim, in runs, not one string per file.
 */
export class StatIndex {
  /** The next index's body in walk order: verbatim runs of `text`, new records, "" where a record was left out. */
  private readonly parts: string[] = [];
  /** Position in `parts` of each file a lookup could not vouch for (filled by record). */
  private readonly slots = new Map<string, number>();
  /** The run of records of `text` kept verbatim and not yet in `parts`: [runStart, runEnd). */
  private runStart = 0;
  private runEnd = 0;
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

  /**
   * The index of `root` kept at `file`; an unreadable or malformed one vouches for nothing, and so
   * does one written by a run whose clock read later than `nowMs` (this run's clock) does now.
   */
  static async load(file: string, root: string, nowMs: number): Promise<StatIndex> {
    let text = "";
    try {
      // One synchronous read and decode: fs/promises decodes a large file chunk by chunk. The rule
      // for ship's records: a FIFO in its place blocked the whole process for ever.
      text = readRecordBytesSync(file).toString("utf8");
    } catch {
      // Missing, unreadable or no file: start empty. The index is a cache, never a source of truth.
    }
    const bodyStart = headerEnd(text, root, nowMs);
    return bodyStart > 0 ? new StatIndex(file, root, text, bodyStart) : new StatIndex(file, root, "", 0);
  }

  /**
   * The sha256 recorded for `rel` when its stamp (indexStampOf of `st`) is unchanged (the entry is kept
   * for the next index: it was settled when recorded and nothing moved since); undefined means
   * "hash it", and the file's hash is then expected through record().
   */
  lookup(rel: string, st: StampFields): string | undefined {
    const text = this.text;
    const at = this.valueStart(rel);
    const end = at < 0 ? -1 : text.indexOf("\0", at);
    if (end >= 0) this.cursor = end + 1;
    if (
      end < 0 ||
      text.charCodeAt(at + 64) !== 9 ||
      !stampMatches(text, at + 65, end, st) ||
      !isSha256At(text, at)
    ) {
      this.endRun();
      this.slots.set(rel, this.parts.length);
      this.parts.push("");
      return undefined;
    }
    // The record as it is in the file: `rel\0value\0`, right after the run when the order holds.
    const recordStart = at - rel.length - 1;
    if (recordStart !== this.runEnd || this.runEnd === this.runStart) {
      this.endRun();
      this.runStart = recordStart;
    }
    this.runEnd = end + 1;
    return text.slice(at, at + 64);
  }

  /**
   * Records the hash of `rel` as it was read; `hashedAtMs` is the wall clock (ms) just before the
   * read began, `st` the stat it was read with. Racily recent files are left out, so the next scan
   * hashes them again.
   */
  record(rel: string, st: StampFields, sha256: string, hashedAtMs: number): void {
    // Only a file its lookup could not vouch for is recorded: the index changes either way.
    this.changed = true;
    if (isRacy(st, hashedAtMs)) return;
    const record = `${rel}\0${sha256}\t${indexStampOf(st)}\0`;
    const slot = this.slots.get(rel);
    if (slot === undefined) {
      this.endRun();
      this.parts.push(record);
    } else this.parts[slot] = record;
  }

  /**
   * Replaces the index file with the entries looked up or recorded since load (files gone are
   * forgotten); `nowMs` is the run's clock, no earlier than any moment a record was hashed at.
   */
  async save(nowMs: number): Promise<void> {
    // Every record answered in order, none left over: the file already says all this.
    if (!this.changed && this.cursor === this.text.length) return;
    this.endRun();
    const header = `${MAGIC}${Math.ceil(nowMs)} ${JSON.stringify(this.root)}\n`;
    await writeFileAtomic(this.file, `${header}${this.parts.join("")}`, false);
  }

  /** Moves the verbatim run, if any, into `parts`. */
  private endRun(): void {
    if (this.runEnd > this.runStart) this.parts.push(this.text.slice(this.runStart, this.runEnd));
    this.runStart = this.runEnd;
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

/**
 * Where the records of `text` start when its header is this format's, for `root`, written by a run
 * whose clock was not ahead of `nowMs`; 0 when the index vouches for nothing.
 */
function headerEnd(text: string, root: string, nowMs: number): number {
  if (!text.startsWith(MAGIC)) return 0;
  const space = text.indexOf(" ", MAGIC.length);
  const writtenAt = space < 0 ? Number.NaN : Number(text.slice(MAGIC.length, space));
  const rest = `${JSON.stringify(root)}\n`;
  if (!Number.isSafeInteger(writtenAt) || writtenAt > nowMs || !text.startsWith(rest, space + 1)) return 0;
  return space + 1 + rest.length;
}

/**
 * The stamp a record keeps: "dev\tino\tsize\tmtimeSec\tmtimeNsec\tctimeSec\tctimeNsec", integers
 * whose timestamps give back st's own doubles (timeSpecOf). A timestamp no pair gives back (not a
 * stat's) is written as "x", which matches nothing: that file is hashed again next time.
 */
export function indexStampOf(st: StampFields): string {
  return `${st.dev}\t${st.ino}\t${st.size}\t${timeSpecOf(st.mtimeMs)}\t${timeSpecOf(st.ctimeMs)}`;
}

/**
 * Seconds and nanoseconds that Node's formula turns into `ms` exactly, "sec\tnsec". lstat's
 * doubles come from the kernel's pair by that formula, but a double keeps ~0.24 µs of today's
 * timestamps: the nanoseconds are found by trying those nearest the estimate until one gives `ms`
 * back (any such pair stands for the same double, which is all a lookup compares). Only files
 * just hashed are written, so this runs for what changed, not per lookup.
 */
function timeSpecOf(ms: number): string {
  if (!Number.isFinite(ms)) return "x";
  const sec = Math.floor(ms / 1e3);
  const estimate = Math.round((ms - sec * 1e3) * 1e6);
  for (let step = 0; step <= 2048; step++) {
    for (const nsec of step === 0 ? [estimate] : [estimate - step, estimate + step]) {
      if (nsec >= 0 && nsec < 1e9 && msOf(sec, nsec) === ms) return `${sec}\t${nsec}`;
    }
  }
  return "x";
}

/** Node's msFromTimeSpec, operation for operation: the same double as Stats.mtimeMs. */
function msOf(sec: number, nsec: number): number {
  return sec * 1e3 + nsec / 1e6;
}

/**
 * Whether text[from, end) is the stamp indexStampOf(st) makes: seven tab-separated integers, read
 * digit by digit; the two timestamps' pairs must give back the stat's very doubles.
 */
function stampMatches(text: string, from: number, end: number, st: StampFields): boolean {
  let at = from;
  const fields = FIELDS;
  for (let field = 0; field < 7; field++) {
    const stop = field === 6 ? end : text.indexOf("\t", at);
    if (stop < 0 || stop > end) return false;
    const n = integerAt(text, at, stop);
    // A field past 15 digits (an inode above 2^53's digits) is compared as the number's own text.
    if (
      Number.isNaN(n) &&
      (field > 2 || !numberTextIs(text, at, stop, field === 0 ? st.dev : field === 1 ? st.ino : st.size))
    )
      return false;
    fields[field] = n;
    at = stop + 1;
  }
  return (
    (Number.isNaN(fields[0] as number) || fields[0] === st.dev) &&
    (Number.isNaN(fields[1] as number) || fields[1] === st.ino) &&
    (Number.isNaN(fields[2] as number) || fields[2] === st.size) &&
    msOf(fields[3] as number, fields[4] as number) === st.mtimeMs &&
    msOf(fields[5] as number, fields[6] as number) === st.ctimeMs
  );
}

/** The seven fields of the stamp being compared (one array for every lookup, not one per file). */
const FIELDS = new Float64Array(7);

/**
 * The integer text[from, to) spells: an optional "-" (a time before 1970), then 1-15 digits, no
 * leading zero unless it is "0" (only the spelling indexStampOf writes vouches); NaN otherwise.
 * Up to 15 digits the sum is exact (below 2^53).
 */
function integerAt(text: string, from: number, to: number): number {
  const negative = text.charCodeAt(from) === 45;
  const first = negative ? from + 1 : from;
  const digits = to - first;
  if (digits < 1 || digits > 15 || (digits > 1 && text.charCodeAt(first) === 48)) return Number.NaN;
  let n = 0;
  for (let i = first; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return Number.NaN;
    n = n * 10 + (c - 48);
  }
  return negative ? (n === 0 ? Number.NaN : -n) : n;
}

/** Whether text[from, to) is the text `${value}` gives (a long integer field: dev, inode, size). */
function numberTextIs(text: string, from: number, to: number, value: number): boolean {
  if (!Number.isFinite(value)) return false;
  const shown = `${value}`;
  return shown.length === to - from && text.startsWith(shown, from);
}

/**
 * Matches 64 lowercase hex digits where lastIndex is put (sticky): no slice per record, as a regex
 * over 20,000 slices needed, and the regex engine's native code instead of a 64-step JavaScript
 * loop per file, which a CLI run (cold: interpreted, not yet optimized) paid for every file
 * (~8 % of a cold scan's CPU on the bench's 5,000 files).
 */
const SHA256_HERE = /[0-9a-f]{64}/y;

/** 64 lowercase hex digits at `at`. */
function isSha256At(text: string, at: number): boolean {
  SHA256_HERE.lastIndex = at;
  return SHA256_HERE.test(text);
}

/** Wall-clock time in ms, comparable with file timestamps on this host. */
export function nowMs(): number {
  return Date.now();
}
