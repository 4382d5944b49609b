/**
 * A git source whose clone is the app itself (`local_path == app_dir`, the seed's first example):
 * an update moves the clone's HEAD to the installed commit (GitSource.commit), but a restore puts an
 * older commit's files back underneath it. HEAD would still name the undone commit, so `git status`
 * shows every restored file as modified and a person's `git pull` starts from the wrong place. This
 * moves HEAD and the index — never the work tree, which the restore already wrote — to the commit the
 * install index now records, as `git reset --mixed` does.
 */
import { resolve } from "node:path";
import type { Source } from "../../shared/config/schema.js";
import type { Logger } from "../../shared/log.js";

/** A full commit id (SHA-1 or SHA-256): anything else from the install index is never passed to git. */
export function isCommitId(text: string): boolean {
  return /^[0-9a-f]{40,64}$/.test(text);
}

/** Whether the source's clone is the app directory itself (the seed's `local_path == app_dir`). */
export function cloneIsApp(source: { local_path: string; app_dir: string }): boolean {
  return resolve(source.local_path) === resolve(source.app_dir);
}

/**
 * No-op unless `source` is git with its clone at `app_dir` and `commit` is a full commit id (the
 * restored tree is the one before ship's first install: its commit is unknown, HEAD is left), or
 * HEAD already names it. Every run asks, so a HEAD an update could not move (a person's git held
 * `index.lock`) or a restore left behind is put right by the next run. A failure is logged, not
 * raised: the files are what they are either way.
 */
export async function alignCloneHead(
  source: Source,
  commit: string | undefined,
  log?: Logger,
): Promise<void> {
  if (source.type !== "git" || !cloneIsApp(source)) return;
  if (commit === undefined || !isCommitId(commit)) return;
  const head = await gitIn(source.local_path, ["rev-parse", "-q", "--verify", "HEAD"]);
  if (head.ok && head.out.trim() === commit) return;
  const reset = await gitIn(source.local_path, ["reset", "--mixed", "-q", commit]);
  if (!reset.ok)
    log?.warn("could not move the clone's HEAD to the installed commit", {
      clone: source.local_path,
      commit,
      error: reset.out,
    });
  else log?.info("moved the clone's HEAD to the installed commit", { clone: source.local_path, commit });
}

function gitIn(dir: string, args: string[]): Promise<{ ok: boolean; out: string }> {
  // Loaded when git runs: a rollback imports this module, and only a clone-is-app source needs git.
  const { execFile } = process.getBuiltinModule("node:child_process");
  return new Promise((done) => {
    execFile(
      "git",
      ["-C", dir, ...args],
      { env: { ...process.env, GIT_TERMINAL_PROMPT: "0" } },
      (error, stdout, stderr) =>
        done(error === null ? { ok: true, out: stdout } : { ok: false, out: stderr.trim() || error.message }),
    );
  });
}
