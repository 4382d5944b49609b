/**
 * A replaced file is a new inode renamed over the old one, so it had the owner of whoever wrote it
 * into staging: as root, an operator's `chown app:app config.yml` became root's at the next update
 * and an app running as `app` could no longer read its config (a rollback, which renames the old
 * inode back, gave it back). So a new version keeps the owner and group of the file it replaces, as
 * a merged config does (merged-file-owner.ts). Its mode stays the release's: a release that makes a
 * script executable or opens a file up must be obeyed, and the install index records the mode ship
 * wrote, so a narrowed one would read as the operator's at the next update. A mode the operator must
 * keep is what privileged_files is for.
 */
import { chmodSync, chownSync } from "node:fs";
import { join } from "node:path";
import type { Logger } from "../../shared/log.js";
import { lstatOrUndefined } from "../tree/fs-ops.js";
import { loopSlices } from "../tree/loop-slices.js";
import { isPrivileged } from "./privileged-files.js";
import type { PlanStep } from "./types.js";

export interface StageReplacedInput {
  appDir: string;
  stagingDir: string;
  steps: readonly PlanStep[];
  /** privileged_files keep owner, group and mode by their own rule (privileged-files.ts). */
  privileged: readonly string[];
  log?: Logger;
}

/** A replaced file whose owner ship could not give its new version (ship not root, the file another user's). */
export interface OwnerNotKept {
  file: string;
  /** The replaced file's `uid:gid`. */
  owner: string;
}

/**
 * Gives each staged replacement the replaced file's owner and group (as root, or as that user).
 * Returns the files whose owner ship could not keep: a WARN in the log alone reached neither the
 * run's output, its notifications nor the hub, and the app running as that user found out first.
 * Synchronous calls: two lstats per replaced file (and a chown and chmod as root), where a
 * thread-pool round trip each cost ~3x the call (200 replaced files: 400-800 round trips).
 */
export async function stageReplacedOwnership(input: StageReplacedInput): Promise<OwnerNotKept[]> {
  const notKept: OwnerNotKept[] = [];
  const slice = loopSlices();
  for (const step of input.steps) {
    // Asked per replaced file only: the steps of the files an update keeps (nearly all) cost a
    // property read each, and a time check each would cost more than they do.
    if (step.kind !== "replace" || step.entry.type !== "file") continue;
    const pause = slice();
    if (pause !== undefined) await pause;
    if (isPrivileged(input.privileged, step.rel)) continue;
    const theirs = lstatOrUndefined(join(input.appDir, step.rel));
    if (theirs === undefined || !theirs.isFile()) continue;
    const staged = join(input.stagingDir, step.rel);
    const ours = lstatOrUndefined(staged);
    if (ours === undefined) continue;
    if (theirs.uid === ours.uid && theirs.gid === ours.gid) continue;
    try {
      chownSync(staged, theirs.uid, theirs.gid);
    } catch (error) {
      const owner = `${theirs.uid}:${theirs.gid}`;
      input.log?.debug(`cannot give the new version of ${step.rel} its owner ${owner}`, {
        file: step.rel,
        code: (error as NodeJS.ErrnoException).code ?? String(error),
      });
      notKept.push({ file: step.rel, owner });
      continue;
    }
    // chown clears set-id bits: the mode must be exactly the release's.
    chmodSync(staged, step.entry.mode);
  }
  return notKept;
}
