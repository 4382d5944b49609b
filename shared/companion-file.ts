/**
 * Opening a file that sits beside a release (its `.sig`, its `.sha256`): whoever places releases
 * there places these too, so one that is no regular file must not stop a run. A FIFO opened for
 * reading waited for a writer for ever — the app's lock held, SIGTERM not ending the run, as the
 * blocked open held Node's thread pool. Opened without blocking and fstat-checked before a byte is
 * read; what is not a file is said as what it is.
 */
import { constants, type Stats } from "node:fs";
import { type FileHandle, open } from "node:fs/promises";

/**
 * A file that is a FIFO, socket or device: its message reads after "cannot read PATH: " ("it is a
 * named pipe (fifo), not a file"), as fsErrorText gives it.
 */
export class NotAFileError extends Error {
  constructor(kind: string) {
    super(`it is ${kind}, not a file`);
    this.name = "NotAFileError";
  }
}

export function kindOf(info: Stats): string {
  if (info.isFIFO()) return "a named pipe (fifo)";
  if (info.isSocket()) return "a socket";
  if (info.isCharacterDevice() || info.isBlockDevice()) return "a device";
  return info.isDirectory() ? "a directory" : "not a regular file";
}

/** `path` opened for reading when it is a regular file (links followed); NotAFileError otherwise. */
export async function openCompanionFile(path: string): Promise<FileHandle> {
  const handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const info = await handle.stat();
    if (info.isFile()) return handle;
    throw new NotAFileError(kindOf(info));
  } catch (error) {
    await handle.close();
    throw error;
  }
}
