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
import { PROGRESS_DELAY_MS, progressReporter } from "../download/progress.js";
import { artifactPathFor, removeArtifact } from "./artifact.js";
import { lfsPointerError, lfsPointersStaged } from "./git-lfs.js";
import type { RunGit } from "./git-run.js";
import { extractOptionsFor, readReleaseVersion } from "./release-info.js";
import type { FetchedRelease, SourceContext } from "./types.js";

export interface ExportInput {
  name: string;
  cfg: GitSourceConfig;
  ctx: SourceContext;
  run: RunGit;
  target: { commit: string; label: string };
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
    const extracted = await extractArchive(artifact, stagingDir, {
      ...extractOptionsFor(name, cfg),
      onProgress: progressReporter({
        label: `${target.label} (${target.commit.slice(0, 12)})`,
        log: ctx.log,
        action: "extracting",
        delayMs: PROGRESS_DELAY_MS,
      }),
    });
    // git tracks no empty directories: every one in the export is a submodule's placeholder,
    // which ship does not install (and would otherwise create as the release's empty directory).
    await removeEmptyDirs(stagingDir);
    const pointers = await lfsPointersStaged(run, target.commit, stagingDir);
    if (pointers.length > 0)
      throw lfsPointerError(`${name}: ${target.label} (${target.commit.slice(0, 12)})`, pointers);
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
