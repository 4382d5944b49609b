/**
 * What an update leaves in ship's own directories while it runs: the staged release and the
 * source's downloads (a partial artifact after a cut or a full disk). Nothing there is needed once
 * the run is over (a download resumes within a run, not across runs), so both go after every run,
 * whatever its outcome, and when the daemon gives up on an instruction a killed run left.
 */
import { readdir } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { downloadsDir } from "../sources/artifact.js";
import { removeTree } from "../tree/remove-tree.js";
import type { UpdatePaths } from "./context.js";

export async function removeLeftovers(paths: UpdatePaths): Promise<void> {
  await removeTree(paths.stagingDir);
  // A second pass over a release archive writes beside the staging directory (archive/extract.ts).
  const siblings = await readdir(dirname(paths.stagingDir)).catch(() => []);
  const prefix = `${basename(paths.stagingDir)}.more-`;
  for (const name of siblings.filter((n) => n.startsWith(prefix)))
    await removeTree(join(dirname(paths.stagingDir), name));
  await removeTree(downloadsDir(paths.sourceStateDir));
}
