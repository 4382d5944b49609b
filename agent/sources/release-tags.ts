/**
 * Which of the tags matching a git source's `tag` pattern is the release to install: the newest by
 * version order, leaving out pre-releases (`v2.0.0-rc.1`) unless `include_prereleases` is set. An
 * operator following `tag = "v*"` follows releases; a release candidate tagged for testing was
 * installed on every such host as the newest version.
 */
import { compareVersions, isPrerelease } from "../../shared/versions.js";

export interface ChosenTag {
  /** The tag to install; undefined when no tag qualifies. */
  newest: string | undefined;
  /** Pre-release tags newer than `newest` that were passed over, newest first. */
  skipped: string[];
}

export function chooseReleaseTag(tags: readonly string[], includePrereleases: boolean): ChosenTag {
  const ordered = [...tags].sort((a, b) => compareVersions(b, a));
  const newest = ordered.find((tag) => includePrereleases || !isPrerelease(tag));
  const passed = newest === undefined ? ordered : ordered.slice(0, ordered.indexOf(newest));
  return { newest, skipped: passed.filter(isPrerelease) };
}

/** The pre-releases passed over, as a run names them: a few, then a count. */
export function skippedText(skipped: readonly string[]): string {
  const shown = skipped.slice(0, 3).join(", ");
  return skipped.length > 3 ? `${shown} and ${skipped.length - 3} more` : shown;
}
