/**
 * Copies one regular file through our own buffer so its sha256 comes from the very bytes written:
 * the copy reads every byte anyway, and the pipeline then never has to read the release again.
 */
import { createHash } from "node:crypto";
import { closeSync, constants, fchmodSync, openSync, readSync, writeSync } from "node:fs";
import { type FileHandle, open } from "node:fs/promises";
import { VerificationError } from "../../shared/errors.js";
import { namingPath } from "../../shared/fs-errors.js";
import { openRegularFileSync, syncReadBuffer } from "../tree/hash-file.js";

const CHUNK_BYTES = 1 << 20;
// O_NONBLOCK: a FIFO swapped in after the caller's lstat must not hang the open; fstat refuses it.
const READ_SOURCE = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;
const CREATE_NEW = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/** Copy `from` to the new file `to` with `mode`; returns the sha256 and size of what was written. */
export async function copyFileHashed(
  from: string,
  to: string,
  mode: number,
): Promise<{ sha256: string; bytes: number }> {
  const source = await open(from, READ_SOURCE);
  try {
    if (!(await source.stat()).isFile()) {
      throw new VerificationError(from, "stopped being a regular file while it was copied");
    }
    const dest = await open(to, CREATE_NEW, 0o600);
    try {
      const copied = await pump(source, dest, { from, to });
      await dest.chmod(mode).catch((error: unknown) => {
        throw namingPath(error, to, "chmod");
      });
      return copied;
    } finally {
      await dest.close();
    }
  } finally {
    await source.close();
  }
}

/**
 * copyFileHashed with synchronous calls, for small files (SYNC_READ_MAX_BYTES): the same checks
 * (no symlink followed, no FIFO opened, a new file only), a fraction of the round trips' cost.
 */
export function copyFileHashedSync(
  from: string,
  to: string,
  mode: number,
): { sha256: string; bytes: number } {
  const source = openRegularFileSync(from);
  try {
    const dest = openSync(to, CREATE_NEW, 0o600);
    try {
      const buffer = syncReadBuffer();
      const hash = createHash("sha256");
      let bytes = 0;
      for (;;) {
        const n = readSync(source, buffer, 0, buffer.length, null);
        if (n === 0) break;
        hash.update(buffer.subarray(0, n));
        let offset = 0;
        try {
          while (offset < n) offset += writeSync(dest, buffer, offset, n - offset);
        } catch (error) {
          throw namingPath(error, to);
        }
        bytes += n;
      }
      fchmodSync(dest, mode);
      return { sha256: hash.digest("hex"), bytes };
    } finally {
      closeSync(dest);
    }
  } finally {
    closeSync(source);
  }
}

/** Copy buffers, reused: a fresh 1 MiB buffer per small file costs more than copying it. */
const spareBuffers: Buffer[] = [];

/** The paths of the two handles: an errno error of a call on a handle names no file. */
interface Named {
  from: string;
  to: string;
}

async function pump(
  source: FileHandle,
  dest: FileHandle,
  names: Named,
): Promise<{ sha256: string; bytes: number }> {
  const buffer = spareBuffers.pop() ?? Buffer.allocUnsafe(CHUNK_BYTES);
  try {
    return await pumpWith(buffer, source, dest, names);
  } finally {
    if (spareBuffers.length < 8) spareBuffers.push(buffer);
  }
}

async function pumpWith(
  buffer: Buffer,
  source: FileHandle,
  dest: FileHandle,
  { from, to }: Named,
): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash("sha256");
  let bytes = 0;
  for (;;) {
    const { bytesRead } = await source.read(buffer, 0, CHUNK_BYTES, null).catch((error: unknown) => {
      throw namingPath(error, from, "read");
    });
    if (bytesRead === 0) break;
    const chunk = buffer.subarray(0, bytesRead);
    hash.update(chunk);
    let offset = 0;
    while (offset < bytesRead) {
      const { bytesWritten } = await dest.write(chunk, offset, bytesRead - offset).catch((error: unknown) => {
        throw namingPath(error, to);
      });
      offset += bytesWritten;
    }
    bytes += bytesRead;
  }
  return { sha256: hash.digest("hex"), bytes };
}
