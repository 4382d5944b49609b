/**
 * `git fetch` with a total time limit. git's own limits (ssh keepalives, http.lowSpeedTime) only
 * catch a remote that goes silent; one that keeps sending a little at a time held the run and its
 * lock for as long as the pack took. Killing `git` alone does not end it: its fetch-pack,
 * index-pack and ssh children live on with the pipes open. So git runs in a process group of its
 * own, and the whole group is killed when the limit is reached.
 */
import { DownloadError } from "../download/errors.js";
import type { ProgressCallback } from "../download/progress.js";
import { boundedCollector, groupDeadline, killGroup } from "../exec/run-command.js";
import { faultPoint } from "../fault.js";
import { type PackSizeLimit, watchPackSize } from "./git-pack-size.js";
import { gitProgressFilter } from "./git-progress.js";

export interface GitFetchOptions {
  cwd: string;
  env: Record<string, string>;
  /** Milliseconds the whole fetch may take. */
  deadlineMs: number;
  /** Objects received of the pack's total, as git counts them (`fetch --progress`). */
  onProgress?: ProgressCallback;
  /** Most bytes the fetch may receive (max_download_mb), where the clone keeps its packs, how its refs are put back. */
  size?: PackSizeLimit;
  /** Written to git's standard input (`fetch --stdin`: object ids too many for a command line). */
  stdin?: string;
  /** Called once git has been started (work meant to overlap the fetch, not to delay its start). */
  onStarted?: () => void;
}

/** Why a fetch ended unsuccessfully: git's stderr, that the time ran out, or that the size did. */
export class GitFetchFailure extends Error {
  constructor(
    message: string,
    readonly timedOut: boolean,
    /** Bytes received when the fetch was ended for passing its size limit. */
    readonly overBytes?: number,
    /** Past the limit, why what the fetch received could not be removed (it was, when undefined). */
    readonly notRemoved?: string,
  ) {
    super(message);
    this.name = "GitFetchFailure";
  }
}

/** The fetch ran out of max_download_seconds: never read as "the remote lacks it". */
export class GitFetchDeadline extends DownloadError {}

const MAX_STDERR = 64 * 1024;
/** After SIGTERM the group gets this long before SIGKILL (ssh and git exit at once on SIGTERM). */
const KILL_GRACE_MS = 1000;
const PIPE_DRAIN_MS = 200;

/**
 * Runs `git fetch ARGS` in options.cwd under the deadline and, given options.size, the size limit.
 * Resolves when git exited 0 within both, with the bytes of the packs it kept (0 when it received
 * nothing, or when no size limit is given); rejects with GitFetchFailure otherwise (git's stderr,
 * or timedOut, or overBytes: then the refs are as before and nothing the fetch received is kept).
 */
export async function runGitFetch(args: readonly string[], options: GitFetchOptions): Promise<number> {
  const { spawn } = process.getBuiltinModule("node:child_process");
  let pid: number | undefined;
  // Known before git starts: what was in the pack directory before is not the fetch's.
  const size =
    options.size &&
    (await watchPackSize(options.cwd, options.size, () => {
      killGroup(pid, "SIGTERM");
      setTimeout(() => killGroup(pid, "SIGKILL"), KILL_GRACE_MS).unref();
    }));
  // Always a pack, never loose objects: the size watch reads the pack being written (git-pack-size.ts).
  // Nothing inside the fetch may write beyond its own pack, which a refusal removes: no auto gc or
  // maintenance (a repack would fold the clone's old packs into it), no commit-graph (the clone's
  // fetch.writeCommitGraph: it would name commits of the removed pack, and `git fsck` fails). ship
  // does both once the fetch is kept (git.ts).
  const child = spawn(
    "git",
    [
      "-c",
      "transfer.unpackLimit=1",
      "-c",
      "gc.auto=0",
      "-c",
      "maintenance.auto=false",
      "-c",
      "fetch.writeCommitGraph=false",
      ...args,
    ],
    {
      cwd: options.cwd,
      env: options.env,
      detached: true,
      stdio: ["pipe", "ignore", "pipe"],
    },
  );
  // Closed at once without stdin. git may exit before it reads all of it (a refused fetch): EPIPE
  // then is not the fetch's outcome, its exit is.
  child.stdin.on("error", () => undefined);
  child.stdin.end(options.stdin);
  const stderr = boundedCollector(MAX_STDERR);
  const progress = gitProgressFilter(stderr.push, options.onProgress);
  child.stderr.on("data", progress.push);
  // The group dies with ship: a run that exits on an error elsewhere leaves no fetch behind.
  const onExit = () => killGroup(child.pid, "SIGKILL");
  process.once("exit", onExit);
  pid = child.pid;
  size?.started(pid);
  faultPoint("git-fetch:started");
  options.onStarted?.();
  return new Promise<number>((resolve, reject) => {
    const deadline = groupDeadline(child.pid, options.deadlineMs, KILL_GRACE_MS);
    let done = false;
    const finish = async (code: number | null, error?: Error): Promise<void> => {
      if (done) return;
      done = true;
      deadline.end();
      progress.end();
      faultPoint("git-fetch:exited"); // git has moved the refs and kept the pack: not yet measured
      const timedOut = deadline.timedOut();
      const completed = code === 0 && !timedOut && error === undefined;
      let kept = 0;
      const notRemoved = await size?.end(completed).then(
        (bytes) => {
          kept = bytes;
          return undefined;
        },
        (err: unknown) => (err instanceof Error ? err.message : String(err)),
      );
      const overBytes = size?.over();
      process.removeListener("exit", onExit);
      if (completed && overBytes === undefined) resolve(kept);
      else
        reject(
          new GitFetchFailure(
            error?.message ?? (stderr.text().trim() || `git exited with ${code}`),
            timedOut,
            overBytes,
            overBytes === undefined ? undefined : notRemoved,
          ),
        );
    };
    child.on("error", (error) => void finish(null, error));
    child.on("close", (code) => void finish(code));
    // "close" waits for the pipes; a child that outlives git holding stderr must not keep us.
    child.on("exit", (code) => setTimeout(() => void finish(code), PIPE_DRAIN_MS).unref());
  });
}
