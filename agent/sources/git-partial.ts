/**
 * A partial clone (`git clone --filter=blob:none`, left by an old run or made to save disk) holds
 * commits and trees but not every file's content: git fetches a missing blob from the remote the
 * moment any command reads it (`git archive`, `cat-file`, `grep`, `show`), one fetch per object,
 * outside ship's fetch and so outside max_download_mb and max_download_seconds. A release's new
 * 3 GB file was installed past max_download_mb = 1. So, in a partial clone, what the release's
 * commit lacks is fetched by ship, as one fetch under the same limits, before anything reads it.
 */
import { readdir } from "node:fs/promises";

type RunGit = (args: string[]) => Promise<string>;

/** Whether the clone is partial: only a promisor remote's packs carry a `.promisor` file. */
export async function isPartialClone(packDir: string | undefined): Promise<boolean> {
  if (packDir === undefined) return false;
  const names = await readdir(packDir).catch(() => [] as string[]);
  return names.some((name) => name.endsWith(".promisor"));
}

/**
 * The ids of `commit`'s objects (its tree, subtrees and blobs) the clone lacks. `--missing=print`
 * lists them without fetching; a missing tree hides what is below it, so callers ask again once
 * it has arrived.
 */
export async function missingObjects(git: RunGit, commit: string): Promise<string[]> {
  const out = await git(["rev-list", "--objects", "--no-walk", "--missing=print", commit]);
  return out
    .split("\n")
    .filter((line) => line.startsWith("?"))
    .map((line) => line.slice(1).trim());
}
