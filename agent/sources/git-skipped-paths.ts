/**
 * Which unchanged paths the install index cannot vouch for. ship leaves the index entry of a file
 * the installed release skipped (a `skip` rule, a protected directory) as it was, so its sha256 may
 * be an earlier release's while the installed commit holds another blob: a release that drops the
 * rule must install the commit's file, not keep the old one because the index still names it.
 */
import { parseManifestText } from "../../shared/manifest/load.js";
import { MANIFEST_FILENAME } from "../../shared/manifest/schema.js";
import { protectedDirectoryOf, ruleFor } from "../apply/rules.js";
import type { CatFileSession } from "./git-batch.js";

/**
 * A test of the paths whose index entry the installed commit's manifest left untouched, asked of
 * the update's `git cat-file --batch` session; undefined when that manifest cannot be read or
 * parsed (the caller then exports the whole tree).
 */
export async function skippedByInstalled(
  session: CatFileSession,
  commit: string,
): Promise<((path: string) => boolean) | undefined> {
  const answer = await session.read(`${commit}:${MANIFEST_FILENAME}`).catch(() => undefined);
  // No manifest at the root (git's structured "missing"): no rules, every entry was set by the install.
  if (answer === "missing") return () => false;
  // A session that failed, or a manifest that is a directory: not readable.
  if (answer === undefined || answer.type !== "blob") return undefined;
  try {
    const { manifest } = parseManifestText(
      answer.data.toString("utf8"),
      `${commit.slice(0, 12)}:${MANIFEST_FILENAME}`,
    );
    // No skip rule and no protected directory (the common manifest): nothing was skipped, and no
    // rule is matched against each of the tree's 20,000 paths.
    const skips = Object.values(manifest.files).some((rule) => rule.action === "skip");
    const protects = Object.values(manifest.directories).some((dir) => dir.preserve);
    if (!skips && !protects) return () => false;
    return (path) =>
      protectedDirectoryOf(manifest, path) !== undefined || ruleFor(manifest, path).rule.action === "skip";
  } catch {
    return undefined;
  }
}
