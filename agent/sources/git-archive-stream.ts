/**
 * `git archive` of a commit as a stream the extraction reads as git writes it. Written to a tar file
 * first, the whole uncompressed tree landed on disk before any archive limit was asked: a pack of a
 * few kB (a blob of zeros compresses ~1000:1, and max_download_mb counts the pack) filled the disk,
 * and the operator read git's "fatal: write error: No space left on device". Read as a stream, the
 * extraction's limits stop git at the first file over them, and only the staged files take space.
 *
 * git runs the clone's smudge filters as it writes (git-lfs's downloads each LFS file), so the
 * export has the fetch's deadline: at it, git's process group (the filter included) is stopped.
 */
import { spawn } from "node:child_process";
import { type Readable, Transform } from "node:stream";
import type { ProgressCallback } from "../download/progress.js";
import { groupDeadline, killGroup } from "../exec/run-command.js";

/** What the extraction is given at a time: extract.ts's read size of an archive file. */
const CHUNK_BYTES = 256 * 1024;
/** After SIGTERM the group gets this long before SIGKILL, as a git fetch's does. */
const KILL_GRACE_MS = 1000;

export interface ArchiveStream {
  /** The tar's bytes as git writes them; destroyed with git's own error when it fails. */
  body: Readable;
  /** Resolves once git exited 0; rejects with what git said otherwise. */
  done: Promise<void>;
  /** Stops git if it still runs (the extraction gave up on the tree). */
  stop(): void;
  /** The deadline ended git: whatever the reader made of the cut tar is not the fault. */
  timedOut(): boolean;
}

export function gitArchiveStream(
  cwd: string,
  env: Record<string, string>,
  commit: string,
  deadlineMs: number,
  onProgress: ProgressCallback,
): ArchiveStream {
  // Its own process group, so the deadline and stop() reach a filter git started, not git alone.
  const child = spawn("git", ["archive", "--format=tar", commit], {
    cwd,
    env,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const deadline = groupDeadline(child.pid, deadlineMs, KILL_GRACE_MS);
  // The group dies with ship: a run that exits on an error elsewhere leaves no filter behind.
  const onExit = () => killGroup(child.pid, "SIGKILL");
  process.once("exit", onExit);
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  let read = 0;
  let held: Buffer[] = [];
  let heldBytes = 0;
  const body = new Transform({
    // A pipe gives 64 KiB at a time; the tar reader's cost is per chunk, so they are passed on
    // joined, as extract.ts reads a file (a first install of 40 MB took ~12 % more CPU unjoined).
    transform(chunk: Buffer, _encoding, next) {
      read += chunk.length;
      onProgress(read, undefined);
      held.push(chunk);
      heldBytes += chunk.length;
      if (heldBytes < CHUNK_BYTES) return next();
      const joined = Buffer.concat(held, heldBytes);
      held = [];
      heldBytes = 0;
      next(null, joined);
    },
    flush(done) {
      done(null, heldBytes > 0 ? Buffer.concat(held, heldBytes) : undefined);
    },
  });
  child.stdout.pipe(body);
  const done = new Promise<void>((resolve, reject) => {
    const end = () => {
      deadline.end();
      process.removeListener("exit", onExit);
    };
    child.on("error", (err) => {
      end();
      reject(err);
    });
    child.on("close", (code, signal) => {
      end();
      if (code === 0 && !deadline.timedOut()) return resolve();
      const said = stderr.trim();
      const why = said !== "" ? said : `git archive ended by ${signal ?? `exit ${code}`}`;
      reject(new Error(why));
    });
  });
  // A failed git ends the body with its reason, so the reader does not take a cut tar for the tree.
  done.catch((err: Error) => body.destroy(err));
  return {
    body,
    done,
    timedOut: () => deadline.timedOut(),
    stop: () => {
      if (child.exitCode === null && child.signalCode === null) killGroup(child.pid, "SIGKILL");
    },
  };
}
