/**
 * Which of the tags matching a git source's `tag` pattern is the release to install: the newest by
 * the version after each tag's name (`release-1.10.0` is 1.10.0 of `release-`, see
 * shared/version-name.ts), leaving out pre-releases (`v2.0.0-rc.1`) unless `include_prereleases` is
 * set. An operator following `tag = "v*"` follows releases; a release candidate tagged for testing
 * was installed on every such host as the newest version. Tags of several names in one pattern
 * (`v1.9.0`, `release-1.10.0`) are ordered by their versions alone: the name is how the tag was
 * spelt, not where the release stands.
 *
 * A tag naming no version (`stable`, `release-latest`) has no place among versions: read as text
 * it sorted above every release. It is ignored when the pattern matches version tags; one alone is
 * followed (a `production` tag the team moves), several alone cannot be ordered.
 */

import { splitVersionName } from "../../shared/version-name.js";
import { compareVersions, isPrerelease } from "../../shared/versions.js";

export interface ChosenTag {
  /** The tag to install; undefined when no tag qualifies. */
  newest: string | undefined;
  /** Pre-release tags newer than `newest` that were passed over, newest first. */
  skipped: string[];
  /** Tags naming no version, left out because others name one. */
  ignored: string[];
  /** Tags naming no version when no tag names one and there are several: nothing orders them. */
  unordered: string[];
}

/** The version after a tag's name (`release-1.10.0`: 1.10.0); empty when the tag has no digit. */
export function tagVersion(tag: string): string {
  return splitVersionName(tag).version;
}

/**
 * Newest first: by version, then, for equal versions (`v1.0` and `release-1.0.0`, or builds
 * `+build5` and `+build10`, which semver does not order), by the tags run by run, numbers as numbers.
 */
function newestFirst(a: string, b: string): number {
  return compareVersions(tagVersion(b), tagVersion(a)) || byRuns(b, a);
}

/** Digit runs by value (`build10` after `build5`), text runs as text, then the text as a whole. */
function byRuns(a: string, b: string): number {
  const ra = a.match(/\d+|\D+/g) ?? [];
  const rb = b.match(/\d+|\D+/g) ?? [];
  for (let i = 0; i < Math.min(ra.length, rb.length); i++) {
    const x = ra[i]!;
    const y = rb[i]!;
    const numbers = /^\d/.test(x) && /^\d/.test(y);
    const c = numbers ? (BigInt(x) < BigInt(y) ? -1 : BigInt(x) > BigInt(y) ? 1 : 0) : byText(x, y);
    if (c !== 0) return c;
  }
  return ra.length - rb.length || byText(a, b);
}

const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export function chooseReleaseTag(tags: readonly string[], includePrereleases: boolean): ChosenTag {
  const versioned = tags.filter((tag) => tagVersion(tag) !== "");
  const unversioned = tags.filter((tag) => tagVersion(tag) === "").sort(byText);
  if (versioned.length === 0) {
    return unversioned.length === 1
      ? { newest: unversioned[0], skipped: [], ignored: [], unordered: [] }
      : { newest: undefined, skipped: [], ignored: [], unordered: unversioned };
  }
  const ordered = versioned.sort(newestFirst);
  const newest = ordered.find((tag) => includePrereleases || !isPrerelease(tag));
  const passed = newest === undefined ? ordered : ordered.slice(0, ordered.indexOf(newest));
  return { newest, skipped: passed.filter(isPrerelease), ignored: unversioned, unordered: [] };
}

/**
 * The version a tag states, which its manifest must name and which a moved tag is judged by: the
 * tag itself as a version (`2.3.0`, `v2.3.0`, `v7`), or a dotted version after a name
 * (`release-2.3.0`, `app/2.3`). A lone number after a name (`release-7`, `r42`, `build-1234`) is
 * a build or serial number, not the app's version; undefined then, and for a tag with no digit.
 */
export function statedVersion(tag: string): string | undefined {
  const { name, version } = splitVersionName(tag);
  if (version === "") return undefined;
  return /^[vV]?$/.test(name) || /^\d+[._]\d/.test(version) ? version : undefined;
}

/**
 * Whether a tag names `version` (a manifest's or the installed one): as a whole (`release-2.3.0` as a
 * manifest's version), or by the versions both state (`release-2.3.0` and `2.3.0`, `v2.3.0` and
 * `app-2.3.0`): how the name is spelt is not what a release is.
 */
export function tagNamesVersion(tag: string, version: string): boolean {
  const stated = statedVersion(tag);
  if (compareVersions(tag, version) === 0) return true;
  return stated !== undefined && compareVersions(stated, statedVersion(version) ?? version) === 0;
}

/** A few tags, as a run names them: the first three, then a count. */
export function skippedText(skipped: readonly string[]): string {
  const shown = skipped.slice(0, 3).join(", ");
  return skipped.length > 3 ? `${shown} and ${skipped.length - 3} more` : shown;
}

/**
 * How check() names a tag-mode choice (`pattern` is the `tag` key) that passed over newer
 * pre-releases or tags naming no version; empty when it passed over none.
 */
export function tagChoiceText(
  pattern: string | undefined,
  { skipped = [], ignored = [] }: { skipped?: readonly string[]; ignored?: readonly string[] },
): string {
  const prereleases =
    skipped.length === 0
      ? ""
      : `; newest release tag matching "${pattern}", skipped pre-release${skipped.length === 1 ? "" : "s"} ${skippedText(skipped)} (include_prereleases = true takes them)`;
  return ignored.length === 0
    ? prereleases
    : `${prereleases}; ignored tags naming no version: ${skippedText(ignored)}`;
}
