/** `ship release bump major|minor|patch`: the next version after the newest `v*` tag. */
import { resolve } from "node:path";
import type { SimpleGit } from "simple-git";
import { BadInputError } from "../../shared/errors.js";
import { compareVersions, parseVersion } from "../../shared/versions.js";

export const bumpParts = ["major", "minor", "patch"] as const;
export type BumpPart = (typeof bumpParts)[number];

/** npm-semver style: bumping a pre-release that already has the right shape releases it. */
export function bumpVersion(current: string, part: BumpPart): string {
  const parsed = parseVersion(current);
  if (parsed.kind !== "semver")
    throw BadInputError.single(current, "", "is not a semver version; cannot bump it");
  const [major = 0, minor = 0, patch = 0] = parsed.core;
  const pre = parsed.prerelease.length > 0;
  if (part === "major") return pre && minor === 0 && patch === 0 ? `${major}.0.0` : `${major + 1}.0.0`;
  if (part === "minor") return pre && patch === 0 ? `${major}.${minor}.0` : `${major}.${minor + 1}.0`;
  return pre ? `${major}.${minor}.${patch}` : `${major}.${minor}.${patch + 1}`;
}

/**
 * The newest semver-shaped `v*` tag in the repository at `dir`, without the `v`, or undefined.
 * Build metadata counts as its version (`v2.0.0+build.7` is 2.0.0, as everywhere in ship): leaving
 * such tags out would offer a version at or below one already released.
 */
export async function newestVersionTag(
  dir: string,
  opts: { outsideRepo?: "refuse" | "none" } = {},
): Promise<string | undefined> {
  // Loaded here: simple-git is costly to import, and `ship --help` registers this module's choices.
  const { simpleGit } = await import("simple-git");
  const git = simpleGit(dir);
  if (!(await git.checkIsRepo())) {
    if (opts.outsideRepo === "none") return undefined;
    throw BadInputError.single(dir, "", "is not a git work tree; no tags to bump from");
  }
  const tags = (await git.tags(["--list", "v*"])).all;
  const versions = tags.map((t) => t.slice(1)).filter((v) => parseVersion(v).kind === "semver");
  const newest = versions.sort(compareVersions).at(-1);
  // A CI checkout (actions/checkout without fetch-depth: 0) is one commit and no tags: "none yet"
  // there was 0.0.1, exit 0, and the pipeline released 0.0.1 over an app at 1.4.0.
  if (newest === undefined) await refuseShallowWithoutTags(git, dir);
  return newest;
}

/**
 * Refuses a shallow clone (a CI checkout without fetch-depth: 0), called when it has no v* tag:
 * there the releases made so far are unknown, and `bump` and `git` would decide as if none were.
 */
export async function refuseShallowWithoutTags(git: SimpleGit, dir: string): Promise<void> {
  if ((await git.raw(["rev-parse", "--is-shallow-repository"])).trim() !== "true") return;
  throw BadInputError.single(
    resolve(dir),
    "",
    "is a shallow clone without v* tags (CI checkouts fetch one commit and no tags by default), so the newest release is not known here: fetch them (git fetch --tags --unshallow; actions/checkout with fetch-depth: 0) and run again",
  );
}

/** The next version for `part`; with no tags yet the first release is 0.1.0 / 1.0.0 / 0.0.1. */
export async function nextVersion(dir: string, part: BumpPart): Promise<{ from?: string; next: string }> {
  const from = await newestVersionTag(dir);
  return { from, next: bumpVersion(from ?? "0.0.0", part) };
}
