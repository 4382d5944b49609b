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
import { gitProgressFilter } from "./git-progress.js";

export interface GitFetchOptions {
  cwd: string;
  env: Record<string, string>;
  /** Milliseconds the whole fetch may take. */
  deadlineMs: number;
  /** Objects received of the pack's total, as git counts them (`fetch --progress`). */
  onProgress?: ProgressCallback;
}

/** Why a fetch ended unsuccessfully: git's stderr, or that the time ran out. */
export class GitFetchFailure extends Error {
  constructor(
    message: string,
    readonly timedOut: boolean,
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

export function runGitFetch(args: readonly string[], options: GitFetchOptions): Promise<void> {
  const { spawn } = process.getBuiltinModule("node:child_process");
  const child = spawn("git", args, {
    cwd: options.cwd,
    env: options.env,
    detached: true,
    stdio: ["ignore", "ignore", "pipe"],
  });
  const stderr = boundedCollector(MAX_STDERR);
  const progress = gitProgressFilter(stderr.push, options.onProgress);
  child.stderr.on("data", progress.push);
  // The group dies with ship: a run that exits on an error elsewhere leaves no fetch behind.
  const onExit = () => killGroup(child.pid, "SIGKILL");
  process.once("exit", onExit);
  return new Promise((resolve, reject) => {
    const deadline = groupDeadline(child.pid, options.deadlineMs, KILL_GRACE_MS);
    let done = false;
    const finish = (code: number | null, error?: Error): void => {
      if (done) return;
      done = true;
      deadline.end();
      progress.end();
      const timedOut = deadline.timedOut();
      process.removeListener("exit", onExit);
      if (code === 0 && !timedOut && error === undefined) resolve();
      else
        reject(
          new GitFetchFailure(
            error?.message ?? (stderr.text().trim() || `git exited with ${code}`),
            timedOut,
          ),
        );
    };
    child.on("error", (error) => finish(null, error));
    child.on("close", (code) => finish(code));
    // "close" waits for the pipes; a child that outlives git holding stderr must not keep us.
    child.on("exit", (code) => setTimeout(() => finish(code), PIPE_DRAIN_MS).unref());
  });
}
