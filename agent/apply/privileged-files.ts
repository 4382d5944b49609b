/**
 * `privileged_files` (`[sources.X.security]` and the manifest's `security`): files such as a script
 * run by root, handled apart from ordinary code. A new version of one keeps the installed file's
 * owner, group and permission bits, is never made setuid or setgid, and every change is logged at
 * WARNING with the old and new sha256 so it can be audited. All of it is settled in staging, before
 * the journal: a file whose owner ship cannot keep stops the update with the app unchanged.
 */
import { chmod, chown, lstat } from "node:fs/promises";
import { join } from "node:path";
import { UpdateNotAppliedError } from "../../shared/errors.js";
import type { Logger } from "../../shared/log.js";
import { compileGlob, type GlobMatcher } from "../../shared/manifest/glob-matcher.js";
import { hashEntry } from "../tree/hash-file.js";
import type { PlanStep, ReleaseEntry, TreeScan } from "./types.js";

const SET_ID_BITS = 0o6000;

/** An exact path or a glob (dotfiles included), matched against the release-relative path. */
export function isPrivileged(patterns: readonly string[], rel: string): boolean {
  if (patterns.length === 0) return false;
  return globsOf(patterns).some((glob) => glob.pattern === rel || glob.match(rel));
}

/**
 * Each configured list compiled once: asked about every release file (20,000 here), `minimatch()`
 * compiled its pattern again on each call, ~0.5 s of CPU per update for one pattern.
 */
const compiled = new WeakMap<readonly string[], GlobMatcher[]>();

function globsOf(patterns: readonly string[]): GlobMatcher[] {
  let globs = compiled.get(patterns);
  if (globs === undefined) {
    globs = patterns.map((pattern) => compileGlob(pattern, { dot: true }));
    compiled.set(patterns, globs);
  }
  return globs;
}

/**
 * The release's entries with each privileged file's mode replaced by the installed file's (or, for
 * a new file, the release's), setuid/setgid cleared. Planning with these modes keeps a privileged
 * file whose bytes did not change, whatever mode the release gives it.
 */
export function privilegedModes(
  release: ReadonlyMap<string, ReleaseEntry>,
  app: TreeScan,
  patterns: readonly string[],
): ReadonlyMap<string, ReleaseEntry> {
  if (patterns.length === 0) return release;
  const adjusted = new Map(release);
  for (const [rel, entry] of release) {
    if (entry.type !== "file" || !isPrivileged(patterns, rel)) continue;
    const installed = app.files.get(rel);
    const base = installed?.type === "file" ? installed.mode : entry.mode;
    adjusted.set(rel, { ...entry, mode: base & 0o7777 & ~SET_ID_BITS });
  }
  return adjusted;
}

export interface StagePrivilegedInput {
  app: string;
  appDir: string;
  stagingDir: string;
  steps: readonly PlanStep[];
  patterns: readonly string[];
  log?: Logger;
}

/** Gives every staged privileged file its mode and the installed file's owner; logs each change. */
export async function stagePrivilegedFiles(input: StagePrivilegedInput): Promise<void> {
  if (input.patterns.length === 0) return;
  for (const step of input.steps) {
    if (step.kind !== "add" && step.kind !== "replace" && step.kind !== "merge") continue;
    if (step.entry.type !== "file" || !isPrivileged(input.patterns, step.rel)) continue;
    const staged = join(input.stagingDir, step.rel);
    const current = join(input.appDir, step.rel);
    const installed = step.kind === "add" ? undefined : await lstat(current);
    const stagedStat = await lstat(staged);
    if (installed !== undefined && (installed.uid !== stagedStat.uid || installed.gid !== stagedStat.gid)) {
      try {
        await chown(staged, installed.uid, installed.gid);
      } catch (error) {
        throw new UpdateNotAppliedError(
          input.app,
          "apply",
          `privileged file ${step.rel} is owned by ${installed.uid}:${installed.gid} and ship (uid ${process.getuid?.()}) cannot give its new version that owner (${(error as NodeJS.ErrnoException).code ?? String(error)}); run ship as root or as that user`,
        );
      }
    }
    // After chown: changing the owner may clear set-id bits, and the mode must be exactly this.
    await chmod(staged, step.entry.mode);
    const owner = installed ?? stagedStat;
    input.log?.warn(`privileged file ${step.rel} ${installed === undefined ? "added" : "changed"}`, {
      file: step.rel,
      sha256: step.kind === "merge" ? await hashEntry(staged) : step.entry.sha256,
      previous_sha256: installed === undefined ? null : await hashEntry(current),
      owner: `${owner.uid}:${owner.gid}`,
      mode: step.entry.mode.toString(8).padStart(4, "0"),
    });
  }
}
