/**
 * A first install, or an update from a commit the clone does not know (or one git attributes could
 * transform): the whole tree of the target through `git archive`, extracted under the archive
 * rules (git-archive-stream.ts), so a tracked symlink pointing outside the release is refused as in
 * any archive.
 */
import { readdir, rmdir } from "node:fs/promises";
import { join } from "node:path";
import type { GitSource as GitSourceConfig } from "../../shared/config/schema.js";
import { VerificationError } from "../../shared/errors.js";
import { timerMs } from "../../shared/schema/durations.js";
import { extractArchive } from "../archive/extract.js";
import { mbSetting } from "../archive/limits.js";
import { PROGRESS_DELAY_MS, progressReporter } from "../download/progress.js";
import { gitArchiveStream } from "./git-archive-stream.js";
import { gitEnvironment } from "./git-env.js";
import { lfsDownload, lfsPointerError, lfsPointerPaths, lfsPointersStaged } from "./git-lfs.js";
import type { RunGit } from "./git-run.js";
import { type GitTarget, releaseName } from "./git-tree.js";
import { extractOptionsFor, readReleaseVersion } from "./release-info.js";
import type { FetchedRelease, SourceContext } from "./types.js";

export interface ExportInput {
  name: string;
  cfg: GitSourceConfig;
  ctx: SourceContext;
  run: RunGit;
  target: GitTarget;
  stagingDir: string;
}

export async function exportTree({
  name,
  cfg,
  ctx,
  run,
  target,
  stagingDir,
}: ExportInput): Promise<FetchedRelease> {
  const release = releaseName(target);
  const onProgress = progressReporter({
    label: release,
    log: ctx.log,
    action: "extracting",
    delayMs: PROGRESS_DELAY_MS,
  });
  const deadlineMs = timerMs(cfg.max_download_seconds);
  const pointerPaths = await lfsPointerPaths(run, target.commit);
  refuseLfsPastLimit(
    name,
    cfg,
    `${name}: ${release}`,
    await lfsDownload(run, cfg.local_path, target.commit, pointerPaths),
  );
  const archive = gitArchiveStream(
    cfg.local_path,
    gitEnvironment(cfg),
    target.commit,
    deadlineMs,
    onProgress,
  );
  // Read by extractArchive unless it gave up first (a refused entry): then git is stopped below.
  archive.done.catch(() => undefined);
  let extracted: Awaited<ReturnType<typeof extractArchive>>;
  try {
    // Named by the commit it is in: "entry …" of a tar ship made itself named nothing the
    // operator could look at.
    extracted = await extractArchive(
      {
        body: archive.body,
        label: release,
        // No second pass reads the tar (an export leaves out no file the app holds: no appHolds),
        // so there is no file to name: the tree is complete once git exited 0.
        complete: async () => {
          await archive.done;
          return release;
        },
      },
      stagingDir,
      extractOptionsFor(name, cfg),
    );
  } catch (err) {
    // The extraction read a body cut by the deadline: what it says of the tar is not the fault.
    if (archive.timedOut())
      throw new Error(
        `${release}: git archive not done after ${deadlineMs / 1000} s, the most [sources.${name}] max_download_seconds allows: a smudge filter (git-lfs fetching LFS files) sends too slowly or hangs; the next run tries again`,
      );
    throw err;
  } finally {
    archive.stop();
  }
  // git tracks no empty directories: every one in the export is a submodule's placeholder,
  // which ship does not install (and would otherwise create as the release's empty directory).
  await removeEmptyDirs(stagingDir);
  const pointers = await lfsPointersStaged(pointerPaths, stagingDir);
  if (pointers.length > 0) throw lfsPointerError(`${name}: ${release}`, pointers);
  ctx.log.info("exported release tree", {
    source: name,
    commit: target.commit,
    ref: target.label,
    version: await readReleaseVersion(stagingDir),
    files: extracted.files,
    bytes: extracted.bytes,
  });
  return { dir: stagingDir, id: target.commit, fileHashes: extracted.hashes };
}

/**
 * git-lfs downloads the LFS files as git archive smudges them, outside the fetch max_download_mb
 * bounds (its pack holds only the pointers): a release's 3 GB model was installed past
 * max_download_mb = 1. Their sizes are known from the pointers, so the export is refused before
 * git-lfs fetches any of them.
 */
function refuseLfsPastLimit(
  name: string,
  cfg: GitSourceConfig,
  release: string,
  download: { bytes: number; paths: readonly string[] },
): void {
  if (download.bytes <= Math.floor(cfg.max_download_mb * 1024 * 1024)) return;
  const setting = mbSetting(`[sources.${name}] max_download_mb`, cfg.max_download_mb);
  const count = download.paths.length;
  const shown = `${download.paths.slice(0, 3).join(", ")}${count > 3 ? ` and ${count - 3} more` : ""}`;
  throw new VerificationError(
    release,
    `its Git LFS files to download (${(download.bytes / 1024 / 1024).toFixed(2)} MB in ${count} file${count === 1 ? "" : "s"}: ${shown}) run past ${setting}: git-lfs fetched none of them and nothing was installed; raise the limit if a release brings that much`,
  );
}

/** Removes every empty directory below `root` (children first; `root` itself stays). */
async function removeEmptyDirs(root: string, rel = ""): Promise<boolean> {
  const entries = await readdir(join(root, rel), { withFileTypes: true });
  let left = entries.length;
  for (const entry of entries) {
    if (!entry.isDirectory()) continue;
    const child = rel === "" ? entry.name : `${rel}/${entry.name}`;
    if (await removeEmptyDirs(root, child)) left--;
  }
  if (rel === "" || left > 0) return false;
  await rmdir(join(root, rel));
  return true;
}
