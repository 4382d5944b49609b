/**
 * Writes archive entries one at a time into a fresh release directory, refusing anything that
 * could reach outside it or smuggle in privileges. We write entries ourselves instead of using
 * node-tar's Unpack: it chowns as root, keeps setuid bits and creates any symlink it is given.
 */
import { createHash, type Hash } from "node:crypto";
import { constants } from "node:fs";
import { chmod, type FileHandle, link, lstat, mkdir, open, symlink, unlink } from "node:fs/promises";
import { join } from "node:path";
import type { ReadEntry } from "tar";
import { VerificationError } from "../../shared/errors.js";
import { errnoCode, fsErrorText, LocalWriteError } from "../../shared/fs-errors.js";
import { entryParts, joinParts, symlinkTargetParts } from "./entry-path.js";
import type { ResolvedLimits } from "./limits.js";

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

export class TreeWriter {
  files = 0;
  bytes = 0;
  private entries = 0;
  private unpacked = 0;
  /** Symlinks created so far, by relative path; nothing may be written through them. */
  readonly symlinks = new Map<string, string[]>();
  /**
   * sha256 of every regular file (hard links included) by relative path, taken from the bytes as
   * they were written, so nobody has to read the release again to know what it holds.
   */
  readonly hashes = new Map<string, string>();

  constructor(
    private readonly root: string,
    private readonly limits: ResolvedLimits,
    private readonly archiveLabel: string,
    /** Bytes of the archive read so far, for the decompression-ratio check. */
    private readonly packedBytes: () => number,
    private readonly signal: AbortSignal,
    /** Give files the archive's mtimes instead of the time they were written. */
    private readonly keepMtimes = false,
  ) {}

  async write(entry: ReadEntry): Promise<void> {
    const name = entry.path;
    const refuse = (reason: string): never => {
      throw new VerificationError(`${this.archiveLabel}: entry ${JSON.stringify(name)}`, reason);
    };
    if (++this.entries > this.limits.maxFiles) refuse(`more than ${this.limits.maxFiles} entries`);
    this.account(HEADER_BYTES, refuse);
    const named = entryParts(name);
    if (!named.ok) return refuse(named.reason);
    const parts = named.parts;
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
      if (entry.type === "SymbolicLink") return await this.writeSymlink(parts, entry.linkpath ?? "", refuse);
      if (entry.type === "Link") return await this.writeHardLink(parts, entry.linkpath ?? "", refuse);
      return await this.writeFile(entry, parts, mode, refuse);
    } catch (err) {
      throw this.entryError(err, name);
    }
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
    const path = join(this.root, ...parts);
    if (parts.length > 1)
      await mkdir(join(this.root, ...parts.slice(0, -1)), { recursive: true, mode: 0o755 });
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

  private async writeDir(parts: string[], mode: number, refuse: (r: string) => never): Promise<void> {
    const path = join(this.root, ...parts);
    if (!(await this.prepareSlot(parts, true, refuse))) await mkdir(path);
    // Owner keeps rwx so the rest of the release can be written and later cleaned up.
    await chmod(path, (mode & 0o777) | 0o700);
  }

  private async writeSymlink(parts: string[], target: string, refuse: (r: string) => never): Promise<void> {
    const lands = symlinkTargetParts(parts, target);
    if (!lands.ok) refuse(`symlink ${lands.reason}`);
    await this.prepareSlot(parts, false, refuse);
    await symlink(target, join(this.root, ...parts));
    this.symlinks.set(joinParts(parts), parts);
  }

  private async writeHardLink(parts: string[], target: string, refuse: (r: string) => never): Promise<void> {
    const named = entryParts(target);
    if (!named.ok) return refuse(`hard link target ${named.reason}`);
    if (named.parts.length === 0) refuse("hard link to the release root");
    this.refuseThroughSymlink(named.parts, refuse);
    if (this.symlinks.has(joinParts(named.parts))) refuse(`hard link to the symlink ${target}`);
    const source = join(this.root, ...named.parts);
    const st = await lstat(source).catch(() => undefined);
    if (st === undefined || !st.isFile())
      refuse(`hard link to ${target}, which is not a file extracted before it`);
    // A link to its own name (packers write one when a file is added twice): GNU tar's link()
    // fails with EEXIST on the very same inode and tar moves on, so the file stays as it is.
    if (joinParts(named.parts) === joinParts(parts)) return;
    await this.prepareSlot(parts, false, refuse);
    await link(source, join(this.root, ...parts));
    // The target is a regular file written by this run (checked above), so its hash is known.
    const sha256 = this.hashes.get(joinParts(named.parts));
    if (sha256 !== undefined) this.hashes.set(joinParts(parts), sha256);
    this.files++;
  }

  private async writeFile(
    entry: ReadEntry,
    parts: string[],
    mode: number,
    refuse: (r: string) => never,
  ): Promise<void> {
    if (entry.size > this.limits.maxFileBytes) {
      refuse(`is ${entry.size} bytes, over the limit of ${this.limits.maxFileBytes}`);
    }
    if (this.bytes + entry.size > this.limits.maxBytes) {
      refuse(`would take the release over the limit of ${this.limits.maxBytes} bytes`);
    }
    await this.prepareSlot(parts, false, refuse);
    const fh = await open(join(this.root, ...parts), CREATE_NEW, 0o600);
    const hash = createHash("sha256");
    try {
      await this.copyBody(entry, fh, hash, refuse);
      await fh.chmod(mode & 0o777);
      // By default a file is as new as its install: reproducible archives carry mtime 0, which
      // would make mtime-based caches (Python's .pyc checks) trust stale entries.
      if (this.keepMtimes && entry.mtime !== undefined)
        await fh.utimes(entry.atime ?? entry.mtime, entry.mtime);
    } finally {
      // FileHandle.close waits for writes still in flight, so after this nothing touches the file.
      await fh.close();
    }
    this.hashes.set(joinParts(parts), hash.digest("hex"));
    this.files++;
  }

  private copyBody(
    entry: ReadEntry,
    fh: FileHandle,
    hash: Hash,
    refuse: (r: string) => never,
  ): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let pending: Promise<unknown> = Promise.resolve();
      const onAbort = () => reject(this.signal.reason);
      if (this.signal.aborted) return onAbort();
      this.signal.addEventListener("abort", onAbort, { once: true });
      const done = (err?: unknown) => {
        this.signal.removeEventListener("abort", onAbort);
        if (err === undefined) resolve();
        else reject(err);
      };
      entry.on("data", (chunk: Buffer) => {
        entry.pause();
        try {
          this.account(chunk.length, refuse);
          this.bytes += chunk.length;
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
      refuse(
        `decompression bomb: ${this.unpacked} bytes unpacked from ${packed} packed (ratio over ${maxRatio})`,
      );
    }
  }
}

async function writeAll(fh: FileHandle, chunk: Buffer): Promise<void> {
  let offset = 0;
  while (offset < chunk.length) {
    const { bytesWritten } = await fh.write(chunk, offset, chunk.length - offset);
    offset += bytesWritten;
  }
}
