/**
 * A first install, or an update from a commit the clone does not know (or one git attributes could
 * transform): the whole tree of the target through `git archive`, extracted under the archive
 * rules, through a tar file so a tracked symlink pointing outside the release is refused as in any
 * archive.
 */
import { readdir, rmdir } from "node:fs/promises";
import { join } from "node:path";
import type { GitSource as GitSourceConfig } from "../../shared/config/schema.js";
import { extractArchive } from "../archive/extract.js";
import { countedReadStream } from "../download/counted-read.js";
import { PROGRESS_DELAY_MS, progressReporter } from "../download/progress.js";
import { artifactPathFor, removeArtifact } from "./artifact.js";
import { lfsPointerError, lfsPointersStaged } from "./git-lfs.js";
import type { RunGit } from "./git-run.js";
import { type GitTarget, releaseName } from "./git-tree.js";
import { extractOptionsFor, readReleaseVersion } from "./release-info.js";
import type { FetchedRelease, SourceContext } from "./types.js";

/** As extract.ts reads an archive given by path: per-chunk overhead dominates at 16 KiB. */
const READ_CHUNK_BYTES = 256 * 1024;

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
  const artifact = await artifactPathFor(ctx, name);
  let fileHashes: Map<string, string>;
  try {
    await run(["archive", "--format=tar", "-o", artifact, target.commit]);
    const release = releaseName(target);
    const onProgress = progressReporter({
      label: release,
      log: ctx.log,
      action: "extracting",
      delayMs: PROGRESS_DELAY_MS,
    });
    // Given as a stream so a refused entry is named by the commit it is in: the tar file is ship's
    // own, and "app.artifact: entry …" named a file the operator never made and cannot look at.
    const extracted = await extractArchive(
      {
        body: countedReadStream(artifact, onProgress, READ_CHUNK_BYTES),
        label: release,
        complete: async () => artifact,
      },
      stagingDir,
      extractOptionsFor(name, cfg),
    );
    // git tracks no empty directories: every one in the export is a submodule's placeholder,
    // which ship does not install (and would otherwise create as the release's empty directory).
    await removeEmptyDirs(stagingDir);
    const pointers = await lfsPointersStaged(run, target.commit, stagingDir);
    if (pointers.length > 0) throw lfsPointerError(`${name}: ${release}`, pointers);
    fileHashes = extracted.hashes;
    ctx.log.info("exported release tree", {
      source: name,
      commit: target.commit,
      ref: target.label,
      version: await readReleaseVersion(stagingDir),
      files: extracted.files,
      bytes: extracted.bytes,
    });
  } finally {
    await removeArtifact(artifact);
  }
  return { dir: stagingDir, id: target.commit, fileHashes };
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
