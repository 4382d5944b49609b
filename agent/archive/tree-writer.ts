/**
 * Writes archive entries in order into a fresh release directory, refusing anything that could
 * reach outside it or smuggle in privileges. We write entries ourselves instead of using node-tar's
 * Unpack: it chowns as root, keeps setuid bits and creates any symlink it is given.
 *
 * Cost per file is kept to what it must be: small files are read into memory, hashed, and then
 * either left out (the app already holds them, see held-files.ts) or written by a bounded number of
 * concurrent writes while parsing goes on; directories are made once; a path is only looked at
 * when this run already created something there.
 */
import { createHash, type Hash } from "node:crypto";
import { constants } from "node:fs";
import { chmod, type FileHandle, link, lstat, lutimes, mkdir, open, symlink, unlink } from "node:fs/promises";
import { join } from "node:path";
import type { ReadEntry } from "tar";
import { VerificationError } from "../../shared/errors.js";
import { errnoCode, fsErrorText, LocalWriteError } from "../../shared/fs-errors.js";
import { makeDirs } from "../../shared/make-dirs.js";
import { sizeText } from "../../shared/size-text.js";
import {
  type ExactMtime,
  inMicroseconds,
  setMtimesExactly,
  utimeSecondsOfMs,
  utimeSecondsOfNs,
} from "../tree/exact-mtime.js";
import { entryParts, joinParts, shownName, symlinkTargetParts } from "./entry-path.js";
import type { HeldFiles } from "./held-files.js";
import { overLimit, type ResolvedLimits } from "./limits.js";
import { ManifestPlace } from "./manifest-place.js";

/** The tar header costs a block even for an empty entry; bombs of empty entries count too. */
const HEADER_BYTES = 512;
const CREATE_NEW = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
/** Errors of the disk we write to, not of the archive. */
const ENVIRONMENT_ERRORS = new Set([
  "ENOSPC",
  "EDQUOT",
  "EROFS",
  "EACCES",
  "EPERM",
  "EIO",
  "EMFILE",
  "ENFILE",
]);

/** Files up to this size are held in memory until their hash is known; larger ones stream to disk. */
const HOLD_BYTES = 1 << 20;
/** Bounds on small-file writes in flight while parsing goes on. */
const MAX_WRITES_IN_FLIGHT = 8;
const MAX_BYTES_IN_FLIGHT = 16 << 20;

export interface TreeWriterOptions {
  /** Give files the archive's mtimes instead of the time they were written. */
  keepMtimes?: boolean;
  /** Leave out regular files the app already holds (recorded in it instead). */
  held?: HeldFiles;
  /** Write only these archive paths (a second pass); every other entry is read past. */
  only?: ReadonlySet<string>;
}

export class TreeWriter {
  /** Regular files of the archive (hard links included), written or left out. */
  files = 0;
  /** Bytes of file content, written or left out. */
  bytes = 0;
  /** Regular files left out because the app already holds them. */
  leftOut = 0;
  private entries = 0;
  private unpacked = 0;
  /** Symlinks created so far, by relative path; nothing may be written through them. */
  readonly symlinks = new Map<string, string[]>();
  /**
   * sha256 of every regular file (hard links included) by relative path, taken from the bytes as
   * they were written, so nobody has to read the release again to know what it holds.
   */
  readonly hashes = new Map<string, string>();
  /** Where the manifest is, by the rule `ship release sign` reads it by too (first pass only). */
  readonly manifestPlace = new ManifestPlace();
  /** Every path this run created (implicit parent directories included): nothing else exists here. */
  private readonly made = new Set<string>();
  /** Small-file writes in flight, by path; their first failure is kept for `settle`. */
  private readonly inFlight = new Map<string, Promise<void>>();
  private bytesInFlight = 0;
  private failure: { error: unknown } | undefined;
  private readonly keepMtimes: boolean;
  /** Entries whose pax time is finer than utimes sets: put right by finishTimes (touch). */
  private readonly finerTimes: ExactMtime[] = [];

  constructor(
    private readonly root: string,
    private readonly limits: ResolvedLimits,
    private readonly archiveLabel: string,
    /** Bytes of the archive read so far, for the decompression-ratio check. */
    private readonly packedBytes: () => number,
    private readonly signal: AbortSignal,
    private readonly options: TreeWriterOptions = {},
  ) {
    this.keepMtimes = options.keepMtimes === true;
  }

  /** Waits for every write in flight; throws the first one that failed. */
  async settle(): Promise<void> {
    await Promise.all(this.inFlight.values());
    if (this.failure !== undefined) throw this.failure.error;
  }

  /**
   * Gives the entries whose archive time is finer than a microsecond that time (one `sh` running
   * touch for a few hundred of them): utimes stops at the microsecond. Called once every write has
   * landed, before anything is renamed.
   */
  async finishTimes(): Promise<void> {
    if (this.finerTimes.length > 0) await setMtimesExactly(this.finerTimes);
  }

  /** Every write has finished, failed or not: safe to delete what this run made. */
  async drained(): Promise<void> {
    await Promise.all(this.inFlight.values());
  }

  /** `mtimeNs`: the entry's time as its pax header states it (pax-mtime.ts), finer than its Date. */
  async write(entry: ReadEntry, mtimeNs?: bigint): Promise<void> {
    const name = entry.path;
    const refuse = (reason: string): never => {
      throw new VerificationError(`${this.archiveLabel}: entry ${JSON.stringify(shownName(name))}`, reason);
    };
    if (++this.entries > this.limits.maxFiles) refuse(`more than ${this.limits.maxFiles} entries`);
    this.account(HEADER_BYTES, refuse);
    const named = entryParts(name);
    if (!named.ok) return refuse(named.reason);
    const parts = named.parts;
    if (this.failure !== undefined) throw this.failure.error;
    if (this.options.only !== undefined && !this.options.only.has(joinParts(parts))) {
      return this.readPast(entry, refuse);
    }
    if (this.options.only === undefined) this.manifestPlace.seeParts(parts, entry.type, entry.linkpath);
    const isFile = entry.type === "File" || entry.type === "OldFile" || entry.type === "ContiguousFile";
    if (!isFile) entry.resume();
    if (entry.type === "CharacterDevice" || entry.type === "BlockDevice") refuse("is a device file");
    if (entry.type === "FIFO") refuse("is a FIFO");
    if (!isFile && !["Directory", "SymbolicLink", "Link"].includes(entry.type)) {
      refuse(`has the unsupported type ${entry.type}`);
    }
    const mode = entry.mode ?? 0o644;
    // Refused rather than stripped: a release asking for setuid is either hostile or needs a person.
    if ((mode & 0o6000) !== 0) refuse(`has the setuid/setgid bit (mode ${mode.toString(8)})`);
    if (parts.length === 0) {
      if (entry.type === "Directory") return;
      refuse("names the release root");
    }
    this.refuseThroughSymlink(parts, refuse);

    try {
      if (entry.type === "Directory") return await this.writeDir(parts, mode, refuse);
      // Links are judged against what is on disk: every write before them must have landed.
      if (entry.type === "SymbolicLink" || entry.type === "Link") await this.settle();
      const times = this.entryTimes(entry, parts, mtimeNs);
      if (entry.type === "SymbolicLink")
        return await this.writeSymlink(parts, entry.linkpath ?? "", refuse, times);
      if (entry.type === "Link") return await this.writeHardLink(parts, entry.linkpath ?? "", refuse);
      return await this.writeFile(entry, parts, mode, refuse, times);
    } catch (err) {
      throw this.entryError(err, name);
    }
  }

  /** An entry a second pass does not want: its bytes still count toward the bomb check. */
  private readPast(entry: ReadEntry, refuse: (reason: string) => never): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      entry.on("data", (chunk: Buffer) => {
        try {
          this.account(chunk.length, refuse);
        } catch (err) {
          reject(err);
        }
      });
      entry.on("end", () => resolve());
      entry.resume();
    });
  }

  /**
   * A bare errno never leaves extraction. A full or read-only disk is this machine's problem
   * (exit 1, retried later); any other filesystem refusal comes from how the entries fit together
   * (a file where a later entry needs a directory, say), so the archive is refused naming the entry.
   */
  private entryError(err: unknown, name: string): unknown {
    const code = errnoCode(err);
    if (code === undefined) return err;
    const entry = `${this.archiveLabel}: entry ${JSON.stringify(name)}`;
    if (ENVIRONMENT_ERRORS.has(code)) return new LocalWriteError(`${entry} into ${this.root}`, err);
    return new VerificationError(entry, `cannot be extracted: ${fsErrorText(err)}`);
  }

  private refuseThroughSymlink(parts: string[], refuse: (reason: string) => never): void {
    for (let i = 1; i < parts.length; i++) {
      const prefix = joinParts(parts.slice(0, i));
      if (this.symlinks.has(prefix)) refuse(`goes through the symlink ${prefix}`);
    }
  }

  /** Make room for a new entry; true when a directory is already there (and may stay). */
  private async prepareSlot(
    parts: string[],
    wantDir: boolean,
    refuse: (r: string) => never,
  ): Promise<boolean> {
    const rel = joinParts(parts);
    this.options.held?.forget(rel);
    await this.inFlight.get(rel);
    // A file still being written where this entry needs a directory must land first, so the
    // refusal is the same ENOTDIR every time, not ENOENT when the write has not started yet.
    for (let i = 1; i < parts.length; i++) await this.inFlight.get(joinParts(parts.slice(0, i)));
    await this.makeParent(parts);
    // The directory started empty: a path this run never created holds nothing.
    if (!this.made.has(rel)) return false;
    const path = join(this.root, ...parts);
    const existing = await lstat(path).catch(() => undefined);
    if (existing === undefined) return false;
    if (existing.isDirectory()) {
      if (!wantDir) refuse("would replace a directory");
      return true;
    }
    // A later entry with the same name wins, as with tar(1); unlink so we never write through it.
    await unlink(path);
    this.symlinks.delete(joinParts(parts));
    this.hashes.delete(joinParts(parts));
    return false;
  }

  /** Creates the entry's parent directories once per run (mode 0o755 under the process umask). */
  private async makeParent(parts: readonly string[]): Promise<void> {
    if (parts.length < 2) return;
    const parent = joinParts(parts.slice(0, -1));
    if (this.made.has(parent)) return;
    this.refuseUnderLeftOut(parts);
    await makeDirs(join(this.root, ...parts.slice(0, -1)), 0o755);
    for (let i = 1; i < parts.length; i++) this.made.add(joinParts(parts.slice(0, i)));
  }

  /**
   * A file left out of staging (or a hard link owed to a second pass) is not on disk, so nothing
   * stops mkdir from making a directory of its name for a later entry under it. A full extraction
   * has the file there and fails with ENOTDIR: the same archive must get the same refusal whatever
   * the app holds (it was an apply failure, exit 1, retried on every run, instead of exit 2).
   */
  private refuseUnderLeftOut(parts: readonly string[]): void {
    const held = this.options.held;
    if (held === undefined || (held.leftOut.size === 0 && held.owed.size === 0)) return;
    for (let i = 1; i < parts.length; i++) {
      const prefix = joinParts(parts.slice(0, i));
      if (held.leftOut.has(prefix) || held.owed.has(prefix)) {
        throw Object.assign(new Error(`ENOTDIR: not a directory, '${prefix}'`), { code: "ENOTDIR" });
      }
    }
  }

  private async writeDir(parts: string[], mode: number, refuse: (r: string) => never): Promise<void> {
    const path = join(this.root, ...parts);
    if (!(await this.prepareSlot(parts, true, refuse))) await mkdir(path);
    this.made.add(joinParts(parts));
    // Owner keeps rwx so the rest of the release can be written and later cleaned up.
    await chmod(path, (mode & 0o777) | 0o700);
  }

  /**
   * What utimes is given for an entry under keep_mtimes (undefined without): its pax time when the
   * header states one (a time finer than a microsecond is also noted for finishTimes), else the ms
   * node-tar read.
   */
  private entryTimes(entry: ReadEntry, parts: string[], mtimeNs: bigint | undefined): EntryTimes | undefined {
    if (!this.keepMtimes || entry.mtime === undefined) return undefined;
    if (mtimeNs !== undefined && !inMicroseconds(mtimeNs))
      this.finerTimes.push({ path: join(this.root, ...parts), mtimeNs });
    const mtime = mtimeNs === undefined ? utimeSecondsOfMs(entry.mtime.getTime()) : utimeSecondsOfNs(mtimeNs);
    return { mtime, atime: entry.atime === undefined ? mtime : utimeSecondsOfMs(entry.atime.getTime()) };
  }

  private async writeSymlink(
    parts: string[],
    target: string,
    refuse: (r: string) => never,
    times: EntryTimes | undefined,
  ): Promise<void> {
    const lands = symlinkTargetParts(parts, target);
    if (!lands.ok) refuse(`symlink ${lands.reason}`);
    await this.prepareSlot(parts, false, refuse);
    await symlink(target, join(this.root, ...parts));
    // The link's own time (keep_mtimes): the release's, as a file's is.
    if (times !== undefined) await lutimes(join(this.root, ...parts), times.atime, times.mtime);
    this.made.add(joinParts(parts));
    this.symlinks.set(joinParts(parts), parts);
  }

  private async writeHardLink(parts: string[], target: string, refuse: (r: string) => never): Promise<void> {
    const named = entryParts(target);
    if (!named.ok) return refuse(`hard link target ${named.reason}`);
    if (named.parts.length === 0) refuse("hard link to the release root");
    this.refuseThroughSymlink(named.parts, refuse);
    if (this.symlinks.has(joinParts(named.parts))) refuse(`hard link to the symlink ${target}`);
    const targetRel = joinParts(named.parts);
    const held = this.options.held;
    const leftOut = held?.leftOut.get(targetRel);
    const source = join(this.root, ...named.parts);
    const st = leftOut === undefined ? await lstat(source).catch(() => undefined) : undefined;
    if (leftOut === undefined && (st === undefined || !st.isFile()))
      refuse(`hard link to ${target}, which is not a file extracted before it`);
    // A link to its own name (packers write one when a file is added twice): GNU tar's link()
    // fails with EEXIST on the very same inode and tar moves on, so the file stays as it is.
    if (targetRel === joinParts(parts)) return;
    await this.prepareSlot(parts, false, refuse);
    this.files++;
    const rel = joinParts(parts);
    if (held !== undefined) held.links.set(rel, targetRel);
    if (held !== undefined && leftOut !== undefined) {
      // The target stayed out of staging, so the link cannot be made now: it stays out too when
      // the app holds its bytes at its own path, else a second pass over the archive writes it.
      const heldAt = held.heldAt(parts, leftOut.sha256);
      if (heldAt !== undefined) {
        this.recordLeftOut(rel, heldAt, leftOut.sha256, leftOut.size, leftOut.mode);
      } else {
        held.owed.set(rel, leftOut.sha256);
      }
      return;
    }
    await link(source, join(this.root, ...parts));
    this.made.add(rel);
    // The target is a regular file written by this run (checked above), so its hash is known.
    const sha256 = this.hashes.get(targetRel);
    if (sha256 !== undefined) this.hashes.set(rel, sha256);
  }

  private async writeFile(
    entry: ReadEntry,
    parts: string[],
    mode: number,
    refuse: (r: string) => never,
    times: EntryTimes | undefined,
  ): Promise<void> {
    const { maxFileBytes, maxFileSetting, maxBytes } = this.limits;
    if (entry.size > maxFileBytes) refuse(overLimit(entry.size, maxFileBytes, maxFileSetting));
    if (this.bytes + entry.size > maxBytes) {
      refuse(`would take the release's files over the limit of ${sizeText(maxBytes)} in all`);
    }
    const rel = joinParts(parts);
    const held = this.options.held;
    this.files++;
    if (entry.size <= HOLD_BYTES) {
      const hash = createHash("sha256");
      const body = await this.readBody(entry, hash, refuse);
      const sha256 = hash.digest("hex");
      const heldAt = held?.heldAt(parts, sha256);
      if (heldAt !== undefined) {
        await this.prepareSlot(parts, false, refuse);
        this.recordLeftOut(rel, heldAt, sha256, body.length, mode);
        return;
      }
      await this.prepareSlot(parts, false, refuse);
      this.hashes.set(rel, sha256);
      this.made.add(rel);
      await this.startWrite(rel, body, mode, entry.path, times);
      return;
    }
    await this.prepareSlot(parts, false, refuse);
    const path = join(this.root, ...parts);
    const fh = await open(path, CREATE_NEW, 0o600);
    this.made.add(rel);
    const hash = createHash("sha256");
    let size = 0;
    try {
      size = await this.copyBody(entry, fh, hash, refuse);
      await fh.chmod(mode & 0o777);
      // By default a file is as new as its install: reproducible archives carry mtime 0, which
      // would make mtime-based caches (Python's .pyc checks) trust stale entries.
      if (times !== undefined) await fh.utimes(times.atime, times.mtime);
    } finally {
      // FileHandle.close waits for writes still in flight, so after this nothing touches the file.
      await fh.close();
    }
    const sha256 = hash.digest("hex");
    const heldAt = held?.heldAt(parts, sha256);
    if (heldAt !== undefined) {
      // Written before its hash was known, and the app holds it: dropped again.
      await unlink(path);
      this.made.delete(rel);
      this.recordLeftOut(rel, heldAt, sha256, size, mode);
      return;
    }
    this.hashes.set(rel, sha256);
  }

  private recordLeftOut(path: string, rel: string, sha256: string, size: number, mode: number): void {
    this.options.held?.leftOut.set(path, { rel, sha256, size, mode: mode & 0o777 });
    this.leftOut++;
  }

  /**
   * Writes a small file without holding up the parser: at most MAX_WRITES_IN_FLIGHT writes (and
   * MAX_BYTES_IN_FLIGHT bytes) run at once; a failure surfaces at the next entry or at `settle`.
   */
  private async startWrite(
    rel: string,
    body: Buffer,
    mode: number,
    name: string,
    times: EntryTimes | undefined,
  ): Promise<void> {
    while (this.inFlight.size >= MAX_WRITES_IN_FLIGHT || this.bytesInFlight >= MAX_BYTES_IN_FLIGHT) {
      await Promise.race(this.inFlight.values());
    }
    if (this.failure !== undefined) throw this.failure.error;
    this.bytesInFlight += body.length;
    const job = writeNewFile(join(this.root, rel), body, mode & 0o777, times)
      .catch((err: unknown) => {
        this.failure ??= { error: this.entryError(err, name) };
      })
      .finally(() => {
        this.bytesInFlight -= body.length;
        this.inFlight.delete(rel);
      });
    this.inFlight.set(rel, job);
  }

  /** The whole body of a small entry, hashed and counted as it arrives. */
  private readBody(entry: ReadEntry, hash: Hash, refuse: (r: string) => never): Promise<Buffer> {
    return new Promise<Buffer>((resolve, reject) => {
      const chunks: Buffer[] = [];
      let length = 0;
      const onAbort = () => reject(this.signal.reason);
      if (this.signal.aborted) return onAbort();
      this.signal.addEventListener("abort", onAbort, { once: true });
      let failed = false;
      entry.on("data", (chunk: Buffer) => {
        if (failed) return;
        try {
          this.account(chunk.length, refuse);
        } catch (err) {
          failed = true;
          this.signal.removeEventListener("abort", onAbort);
          return reject(err);
        }
        this.bytes += chunk.length;
        length += chunk.length;
        hash.update(chunk);
        chunks.push(chunk);
      });
      entry.on("end", () => {
        this.signal.removeEventListener("abort", onAbort);
        if (!failed)
          resolve(chunks.length === 1 && chunks[0] !== undefined ? chunks[0] : Buffer.concat(chunks, length));
      });
    });
  }

  private copyBody(
    entry: ReadEntry,
    fh: FileHandle,
    hash: Hash,
    refuse: (r: string) => never,
  ): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      let pending: Promise<unknown> = Promise.resolve();
      let size = 0;
      const onAbort = () => reject(this.signal.reason);
      if (this.signal.aborted) return onAbort();
      this.signal.addEventListener("abort", onAbort, { once: true });
      const done = (err?: unknown) => {
        this.signal.removeEventListener("abort", onAbort);
        if (err === undefined) resolve(size);
        else reject(err);
      };
      entry.on("data", (chunk: Buffer) => {
        entry.pause();
        try {
          this.account(chunk.length, refuse);
          this.bytes += chunk.length;
          size += chunk.length;
          hash.update(chunk);
        } catch (err) {
          return done(err);
        }
        pending = writeAll(fh, chunk).then(() => entry.resume(), done);
      });
      entry.on("end", () => {
        pending.then(() => done(), done);
      });
    });
  }

  /** Count unpacked bytes and stop a decompression bomb as soon as the ratio gives it away. */
  private account(n: number, refuse: (r: string) => never): void {
    this.unpacked += n;
    const { maxRatio, ratioFloorBytes } = this.limits;
    const packed = Math.max(1, this.packedBytes());
    if (this.unpacked > ratioFloorBytes && this.unpacked > maxRatio * packed) {
      // A real release can compress this well too (zeros, a sparse image, a big log): it read as
      // an attack with no way out. A plain .tar is not compressed, so no ratio applies to it.
      refuse(
        `decompression bomb: ${this.unpacked} bytes unpacked from ${packed} packed (ratio over ${maxRatio}); if this is a real release whose files compress that well (zeros, a sparse image), pack it as a plain .tar (tar -cf), which is not compressed`,
      );
    }
  }
}

/**
 * An entry's atime and mtime as utimes takes them (exact-mtime.ts: a Date passed on came out a µs
 * short).
 */
interface EntryTimes {
  atime: number | Date;
  mtime: number | Date;
}

/** Creates `path` (never through a symlink, never over anything) holding `body` with `mode`. */
async function writeNewFile(
  path: string,
  body: Buffer,
  mode: number,
  times: EntryTimes | undefined,
): Promise<void> {
  const fh = await open(path, CREATE_NEW, 0o600);
  try {
    if (body.length > 0) await writeAll(fh, body);
    await fh.chmod(mode);
    if (times !== undefined) await fh.utimes(times.atime, times.mtime);
  } finally {
    await fh.close();
  }
}

async function writeAll(fh: FileHandle, chunk: Buffer): Promise<void> {
  let offset = 0;
  while (offset < chunk.length) {
    const { bytesWritten } = await fh.write(chunk, offset, chunk.length - offset);
    offset += bytesWritten;
  }
}
