/**
 * A git source whose clone is the app itself (`local_path == app_dir`, the seed's first example):
 * an update moves the clone's HEAD to the installed commit (GitSource.commit), but a restore puts an
 * older commit's files back underneath it. HEAD would still name the undone commit, so `git status`
 * shows every restored file as modified and a person's `git pull` starts from the wrong place. This
 * moves HEAD and the index — never the work tree, which the restore already wrote — to the commit the
 * install index now records, as `git reset --mixed` does.
 *
 * HEAD moved, the work tree still differs from it where ship chose to differ: files of preserved
 * directories and `skip` rules (never installed: a file the release added there read as deleted),
 * merged configs (the release's file with the user's values in it), and the manifest, which is
 * release metadata ship does not install (it still said 1.0.0 with 2.0.0 installed). The manifest is
 * checked out from HEAD; the others get git's skip-worktree bit, so `git status` shows only what
 * someone changed. Each move judges every bit again, so a file ship installs as-is shows edits again.
 */
import { join, resolve } from "node:path";
import type { Source } from "../../shared/config/schema.js";
import type { Logger } from "../../shared/log.js";
import { MANIFEST_FILENAME } from "../../shared/manifest/schema.js";
import type { IndexFiles } from "../apply/index-files.js";
import type { IndexedFile } from "../apply/types.js";
import { hashFile } from "../tree/hash-file.js";

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
  installedFiles: () => Promise<InstalledFiles | undefined>,
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
  else {
    log?.info("moved the clone's HEAD to the installed commit", { clone: source.local_path, commit });
    const files = await installedFiles();
    if (files !== undefined) await settleCloneWorktree(source.local_path, files, log);
  }
}

/** The install index's files: what ship wrote at each path it installed. */
export type InstalledFiles = Pick<IndexFiles, "get">;

/**
 * Call right after HEAD and the index moved to the installed commit (`reset --mixed`). A file that
 * differs from HEAD is ship's choice when ship did not install it (no index entry: a preserved
 * directory's new file, a skip rule, an export-ignore) or when it still holds what ship last wrote
 * there (a preserved file installed by an earlier release, a merged config); any other difference
 * is a person's and stays visible. A failure is logged, not raised: the files are installed either
 * way, only `git status` reads worse.
 */
export async function settleCloneWorktree(
  dir: string,
  files: InstalledFiles,
  log?: Pick<Logger, "warn">,
): Promise<void> {
  const problems: string[] = [];
  const git = async (args: string[], input?: string) => {
    const ran = await gitIn(dir, args, input);
    if (!ran.ok) problems.push(ran.out);
    return ran;
  };
  const marks = (flag: string, paths: readonly string[]) =>
    paths.length === 0 ? undefined : git(["update-index", "-z", flag, "--stdin"], `${paths.join("\0")}\0`);
  // Bits set for the release HEAD named before are judged again: `-t` tags skip-worktree as "S".
  const listed = await git(["ls-files", "-t", "-z"]);
  const hidden = listed.ok
    ? listed.out
        .split("\0")
        .filter((entry) => entry.startsWith("S "))
        .map((entry) => entry.slice(2))
    : [];
  await marks("--no-skip-worktree", hidden);
  // Only the paths that differ from HEAD (git compares stat first, as `git status` does).
  const diff = await git(["diff", "--no-renames", "--name-status", "-z"]);
  const differing = diff.ok ? diff.out.split("\0").filter((part) => part !== "") : [];
  const hide: string[] = [];
  let manifestDiffers = false;
  for (let i = 0; i + 1 < differing.length; i += 2) {
    const status = differing[i] ?? "";
    const path = differing[i + 1] ?? "";
    if (path === MANIFEST_FILENAME) manifestDiffers = true;
    else if (await shipsChoice(join(dir, path), status, files.get(path))) hide.push(path);
  }
  await marks("--skip-worktree", hide);
  // The installed release's manifest, not the one checked out before (it said 1.0.0 under 2.0.0).
  if (manifestDiffers) await git(["checkout", "-q", "HEAD", "--", MANIFEST_FILENAME]);
  if (problems.length > 0)
    log?.warn("could not mark in the clone what ship did not install; git status shows it as changed", {
      clone: dir,
      error: problems.join("; "),
    });
}

async function shipsChoice(
  file: string,
  status: string,
  installed: IndexedFile | undefined,
): Promise<boolean> {
  if (installed === undefined) return true;
  // A file ship installed that is gone or became another type: a person's doing.
  if (status !== "M") return false;
  const wrote = installed.merged === true ? installed.installedSha256 : installed.sha256;
  if (wrote === undefined) return installed.merged === true;
  const now = await hashFile(file).catch(() => undefined);
  return now === wrote;
}

function gitIn(dir: string, args: string[], input?: string): Promise<{ ok: boolean; out: string }> {
  // Loaded when git runs: a rollback imports this module, and only a clone-is-app source needs git.
  const { execFile } = process.getBuiltinModule("node:child_process");
  return new Promise((done) => {
    const child = execFile(
      "git",
      ["-C", dir, ...args],
      { env: { ...process.env, GIT_TERMINAL_PROMPT: "0" }, maxBuffer: 256 * 1024 * 1024 },
      (error, stdout, stderr) =>
        done(error === null ? { ok: true, out: stdout } : { ok: false, out: stderr.trim() || error.message }),
    );
    // A git that exits early closes stdin: its exit status says what went wrong, not EPIPE.
    child.stdin?.on("error", () => undefined);
    child.stdin?.end(input ?? "");
  });
}
