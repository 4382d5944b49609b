/**
 * A persistent stat index of a release directory, as git keeps one of its work tree: per file the
 * device, inode, size, mtime and ctime (ns) it had when it was hashed, and that sha256. A file whose
 * stat still matches is not read again, so deciding "did the release change" costs a stat per file.
 *
 * The "racy" rule: a file modified within RACY_NS of the moment its hash was taken may change again
 * without its timestamps moving (coarse timestamp granularity), so such entries are never trusted
 * and are hashed again next time. A file edited with its size and mtime put back still changes ctime
 * (no system call sets ctime), so it is hashed again too.
 *
 * The index only saves time: a missing, stale or corrupt file means hashing everything again.
 */
import { readFile } from "node:fs/promises";
import { writeFileAtomic } from "../tree/fs-ops.js";

/** Covers the coarsest common timestamp granularity (FAT: 2 s); everything finer is inside it. */
const RACY_NS = 2_000_000_000n;

/** Stat fields as decimal strings (ns values exceed 2^53). */
export interface FileStamp {
  dev: string;
  ino: string;
  size: string;
  mtimeNs: string;
  ctimeNs: string;
}

interface Entry extends FileStamp {
  sha256: string;
}

interface IndexFile {
  format: 1;
  /** The directory the entries describe: another directory's stats vouch for nothing. */
  root: string;
  entries: Record<string, Entry>;
}

export function stampOf(st: {
  dev: bigint;
  ino: bigint;
  size: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
}): FileStamp {
  return {
    dev: st.dev.toString(),
    ino: st.ino.toString(),
    size: st.size.toString(),
    mtimeNs: st.mtimeNs.toString(),
    ctimeNs: st.ctimeNs.toString(),
  };
}

function sameStamp(a: FileStamp, b: FileStamp): boolean {
  return (
    a.dev === b.dev &&
    a.ino === b.ino &&
    a.size === b.size &&
    a.mtimeNs === b.mtimeNs &&
    a.ctimeNs === b.ctimeNs
  );
}

function isEntry(value: unknown): value is Entry {
  if (typeof value !== "object" || value === null) return false;
  const e = value as Record<string, unknown>;
  return ["dev", "ino", "size", "mtimeNs", "ctimeNs", "sha256"].every((k) => typeof e[k] === "string");
}

export class StatIndex {
  private readonly next = new Map<string, Entry>();

  private constructor(
    private readonly file: string,
    private readonly root: string,
    private readonly entries: ReadonlyMap<string, Entry>,
  ) {}

  /** The index of `root` kept at `file`; an unreadable or malformed one is empty (everything is hashed). */
  static async load(file: string, root: string): Promise<StatIndex> {
    const entries = new Map<string, Entry>();
    try {
      const parsed = JSON.parse(await readFile(file, "utf8")) as Partial<IndexFile>;
      if (
        parsed.format === 1 &&
        parsed.root === root &&
        typeof parsed.entries === "object" &&
        parsed.entries !== null
      ) {
        for (const [rel, entry] of Object.entries(parsed.entries))
          if (isEntry(entry)) entries.set(rel, entry);
      }
    } catch {
      // Missing or corrupt: start empty. The index is a cache, never a source of truth.
    }
    return new StatIndex(file, root, entries);
  }

  /** The sha256 recorded for `rel` when its stamp is unchanged; undefined means "hash it". */
  lookup(rel: string, stamp: FileStamp): string | undefined {
    const entry = this.entries.get(rel);
    return entry !== undefined && sameStamp(entry, stamp) ? entry.sha256 : undefined;
  }

  /**
   * Records the hash of `rel` as it was read; `hashedAtNs` is the wall clock (ns) just before the
   * read began. Racily recent files are left out, so the next scan hashes them again.
   */
  record(rel: string, stamp: FileStamp, sha256: string, hashedAtNs: bigint): void {
    const newest =
      BigInt(stamp.mtimeNs) > BigInt(stamp.ctimeNs) ? BigInt(stamp.mtimeNs) : BigInt(stamp.ctimeNs);
    if (newest >= hashedAtNs - RACY_NS) return;
    this.next.set(rel, { ...stamp, sha256 });
  }

  /** Replaces the index file with the entries recorded since load (files gone are forgotten). */
  async save(): Promise<void> {
    const body: IndexFile = { format: 1, root: this.root, entries: Object.fromEntries(this.next) };
    await writeFileAtomic(this.file, JSON.stringify(body), false);
  }
}

/** Wall-clock time in ns, comparable with file timestamps on this host. */
export function nowNs(): bigint {
  return BigInt(Date.now()) * 1_000_000n;
}
