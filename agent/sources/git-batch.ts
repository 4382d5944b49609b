/**
 * One `git cat-file --batch` process answering an update's object questions in turn: first what
 * must be known before the wanted blobs can be chosen (the installed commit's manifest), then the
 * blobs themselves, written to the staging directory as they stream in. One process, not one per
 * question: each git process costs a fork, an exec and git's own start (about 10 ms of wall time
 * on a loaded host, the Node side blocked while libuv waits for the exec).
 *
 * git answers each request line, in order, with `<oid> <type> <size>\n<content>\n`, or with
 * `<name> missing\n` for a name that resolves to no object (a path absent from a commit): a
 * structured answer, where `git cat-file blob` only said so in prose.
 */
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { closeSync, fchmodSync, openSync, symlinkSync, writeSync } from "node:fs";
import { dirname, join } from "node:path";
import { VerificationError } from "../../shared/errors.js";
import { namingPath } from "../../shared/fs-errors.js";
import { makeDirsSync } from "../../shared/make-dirs.js";
import { symlinkTargetParts } from "../archive/entry-path.js";
import { type ExtractLimits, overLimit } from "../archive/limits.js";
import { hashSymlinkTarget } from "../tree/hash-file.js";
import { entryOf, modeOf, type TreeBlob } from "./git-tree.js";

/** The limit a written blob is held to, and the release a refusal names (releaseName). */
export type BlobWriteOptions = Pick<ExtractLimits, "maxFileBytes" | "maxFileSetting"> & { release?: string };

/** An object read whole: its type and content. */
export interface CatFileObject {
  type: string;
  data: Buffer;
}

/** How one answer is taken in: its header, then its content in chunks, then its end. */
interface Reader {
  /** The name asked for, as git echoes it in a `missing` answer. */
  name: string;
  missing(): void;
  start(type: string, size: number): void;
  chunk(data: Buffer): void;
  end(): void;
  fail(err: Error): void;
}

export class CatFileSession {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly readers: Reader[] = [];
  private pending: Buffer = Buffer.alloc(0);
  /** Bytes of the current answer's content still to come; -1 while reading a header. */
  private remaining = -1;
  private failed: Error | undefined;
  private ended = false;
  private stderr = "";

  constructor(cwd: string, env: Record<string, string>) {
    this.child = spawn("git", ["cat-file", "--batch"], { cwd, env, stdio: ["pipe", "pipe", "pipe"] });
    this.child.stdout.on("data", (data: Buffer) => this.received(data));
    this.child.stderr.on("data", (d: Buffer) => {
      this.stderr += d.toString();
    });
    // A write after git exited (it failed) is reported by "close"; the pipe's EPIPE says nothing more.
    this.child.stdin.on("error", () => undefined);
    this.child.on("error", (err) => this.fail(err));
    this.child.on("close", (code) => {
      this.fail(new Error(`git cat-file --batch stopped early (exit ${code}): ${this.stderr.trim()}`));
    });
  }

  /** The object `name` names (`<commit>:<path>`, a blob id), or "missing" when it names none. */
  read(name: string): Promise<CatFileObject | "missing"> {
    return new Promise((resolve, reject) => {
      let type = "";
      const parts: Buffer[] = [];
      this.ask({
        name,
        missing: () => resolve("missing"),
        start: (t) => {
          type = t;
        },
        chunk: (data) => parts.push(Buffer.from(data)),
        end: () => resolve({ type, data: Buffer.concat(parts) }),
        fail: reject,
      });
    });
  }

  /**
   * Writes `blobs` under `dir`, hashing each file as it is written, and ends the session (no
   * question may follow). Returns path → sha256 (for symlinks, the symlink identity hash) and sets
   * each blob's size.
   */
  writeBlobs(
    blobs: readonly TreeBlob[],
    dir: string,
    options: BlobWriteOptions = {},
  ): Promise<Map<string, string>> {
    const hashes = new Map<string, string>();
    const done = Promise.all(blobs.map((blob) => this.writeBlob(blob, dir, options, hashes)));
    this.end();
    return done.then(() => hashes);
  }

  /** Stops the process if it still runs (a session given up on; after writeBlobs it has exited). */
  close(): void {
    this.end();
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill();
  }

  private writeBlob(
    blob: TreeBlob,
    dir: string,
    { maxFileBytes, maxFileSetting, release }: BlobWriteOptions,
    hashes: Map<string, string>,
  ): Promise<void> {
    return new Promise((resolve, reject) => {
      const target = join(dir, blob.path);
      const entry = entryOf(release, blob.path);
      const hash = createHash("sha256");
      const linkTarget: Buffer[] = [];
      let fd: number | undefined;
      const closeFile = () => {
        if (fd !== undefined) closeSync(fd);
        fd = undefined;
      };
      this.ask({
        name: blob.blob,
        missing: () => {
          throw new Error(`${entry}: git cat-file: ${blob.blob} missing (expected the blob of ${blob.path})`);
        },
        start: (type, size) => {
          if (type !== "blob")
            throw new Error(`${entry}: git cat-file: ${blob.blob} is a ${type}, not a blob`);
          blob.size = size;
          if (maxFileBytes !== undefined && size > maxFileBytes) {
            throw new VerificationError(entry, overLimit(size, maxFileBytes, maxFileSetting));
          }
          if (blob.kind === "symlink") return;
          makeDirsSync(dirname(target));
          fd = openSync(target, "wx", 0o600);
          // Set explicitly: the process umask must not change the mode the listing promises.
          try {
            fchmodSync(fd, modeOf(blob.kind));
          } catch (error) {
            throw namingPath(error, target, "chmod");
          }
        },
        chunk: (data) => {
          if (blob.kind === "symlink") {
            linkTarget.push(Buffer.from(data));
            return;
          }
          hash.update(data);
          let off = 0;
          // A write on a descriptor names no file: a full disk reached the operator as a bare
          // "no space left on device (ENOSPC)", with neither the file nor the staging directory.
          try {
            while (fd !== undefined && off < data.length) off += writeSync(fd, data, off);
          } catch (error) {
            throw namingPath(error, target);
          }
        },
        end: () => {
          if (blob.kind === "symlink") {
            const text = Buffer.concat(linkTarget).toString("utf8");
            const lands = symlinkTargetParts(blob.path.split("/"), text);
            if (!lands.ok) throw new VerificationError(entry, `symlink ${lands.reason}`);
            makeDirsSync(dirname(target));
            symlinkSync(text, target);
            hashes.set(blob.path, hashSymlinkTarget(text));
          } else {
            closeFile();
            hashes.set(blob.path, hash.digest("hex"));
          }
          resolve();
        },
        fail: (err) => {
          closeFile();
          reject(err);
        },
      });
    });
  }

  private ask(reader: Reader): void {
    if (this.failed !== undefined) reader.fail(this.failed);
    else if (this.ended) reader.fail(new Error("git cat-file --batch: asked after the session ended"));
    else {
      this.readers.push(reader);
      this.child.stdin.write(`${reader.name}\n`);
    }
  }

  private end(): void {
    if (this.ended) return;
    this.ended = true;
    this.child.stdin.end();
  }

  private received(data: Buffer): void {
    if (this.failed !== undefined) return;
    this.pending = this.pending.length === 0 ? data : Buffer.concat([this.pending, data]);
    try {
      this.consume();
    } catch (err) {
      this.fail(err instanceof Error ? err : new Error(String(err)));
    }
  }

  private consume(): void {
    for (;;) {
      const reader = this.readers[0];
      if (reader === undefined) return;
      if (this.remaining < 0) {
        const nl = this.pending.indexOf(10);
        if (nl < 0) return;
        const header = this.pending.subarray(0, nl).toString("utf8");
        this.pending = this.pending.subarray(nl + 1);
        if (header === `${reader.name} missing`) {
          // Shifted once answered: a reader that throws here is still the one fail() tells.
          reader.missing();
          this.readers.shift();
          continue;
        }
        // "<oid> <type> <size>"; anything else ("ambiguous", a name git could not parse) is a fault.
        const [, type, size] = header.split(" ");
        if (type === undefined || size === undefined || !/^\d+$/.test(size))
          throw new Error(`git cat-file: ${header} (asked for ${reader.name})`);
        this.remaining = Number(size);
        reader.start(type, this.remaining);
      }
      const take = Math.min(this.remaining, this.pending.length);
      if (take > 0) reader.chunk(this.pending.subarray(0, take));
      this.pending = this.pending.subarray(take);
      this.remaining -= take;
      if (this.remaining > 0 || this.pending.length === 0) return;
      // The content is complete; a newline follows it.
      this.pending = this.pending.subarray(1);
      this.remaining = -1;
      reader.end();
      this.readers.shift();
    }
  }

  /** The first fault ends the session: every question still open gets it, and git is stopped. */
  private fail(err: Error): void {
    if (this.failed === undefined) {
      this.failed = err;
      if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill();
    }
    for (const reader of this.readers.splice(0)) reader.fail(this.failed);
  }
}

/** Writes `blobs` under `dir` from a session of their own (git-tree.ts's listing, a later need). */
export function writeBlobs(
  cwd: string,
  env: Record<string, string>,
  blobs: readonly TreeBlob[],
  dir: string,
  options: BlobWriteOptions = {},
): Promise<Map<string, string>> {
  return new CatFileSession(cwd, env).writeBlobs(blobs, dir, options);
}
