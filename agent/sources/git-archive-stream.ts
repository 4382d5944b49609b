/**
 * `git archive` of a commit as a stream the extraction reads as git writes it. Written to a tar file
 * first, the whole uncompressed tree landed on disk before any archive limit was asked: a pack of a
 * few kB (a blob of zeros compresses ~1000:1, and max_download_mb counts the pack) filled the disk,
 * and the operator read git's "fatal: write error: No space left on device". Read as a stream, the
 * extraction's limits stop git at the first file over them, and only the staged files take space.
 */
import { spawn } from "node:child_process";
import { type Readable, Transform } from "node:stream";
import type { ProgressCallback } from "../download/progress.js";

export interface ArchiveStream {
  /** The tar's bytes as git writes them; destroyed with git's own error when it fails. */
  body: Readable;
  /** Resolves once git exited 0; rejects with what git said otherwise. */
  done: Promise<void>;
  /** Stops git if it still runs (the extraction gave up on the tree). */
  stop(): void;
}

export function gitArchiveStream(
  cwd: string,
  env: Record<string, string>,
  commit: string,
  onProgress: ProgressCallback,
): ArchiveStream {
  const child = spawn("git", ["archive", "--format=tar", commit], {
    cwd,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  let read = 0;
  const body = new Transform({
    transform(chunk: Buffer, _encoding, next) {
      read += chunk.length;
      onProgress(read, undefined);
      next(null, chunk);
    },
  });
  child.stdout.pipe(body);
  const done = new Promise<void>((resolve, reject) => {
    child.on("error", (err) => reject(err));
    child.on("close", (code, signal) => {
      if (code === 0) return resolve();
      const said = stderr.trim();
      reject(new Error(said !== "" ? said : `git archive ended by ${signal ?? `exit ${code}`}`));
    });
  });
  // A failed git ends the body with its reason, so the reader does not take a cut tar for the tree.
  done.catch((err: Error) => body.destroy(err));
  return {
    body,
    done,
    stop: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill();
    },
  };
}
