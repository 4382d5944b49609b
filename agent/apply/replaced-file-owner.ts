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
import { chmod, chown, lstat } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "../../shared/log.js";
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

/** Gives each staged replacement the replaced file's owner and group (as root, or as that user). */
export async function stageReplacedOwnership(input: StageReplacedInput): Promise<void> {
  for (const step of input.steps) {
    if (step.kind !== "replace" || step.entry.type !== "file") continue;
    if (isPrivileged(input.privileged, step.rel)) continue;
    const theirs = await lstat(join(input.appDir, step.rel)).catch(() => undefined);
    if (theirs === undefined || !theirs.isFile()) continue;
    const staged = join(input.stagingDir, step.rel);
    const ours = await lstat(staged).catch(() => undefined);
    if (ours === undefined) continue;
    if (theirs.uid === ours.uid && theirs.gid === ours.gid) continue;
    try {
      await chown(staged, theirs.uid, theirs.gid);
    } catch (error) {
      input.log?.warn(
        `replaced ${step.rel}, owned by ${theirs.uid}:${theirs.gid}: ship (uid ${process.getuid?.() ?? "?"}) cannot give the new version that owner (${(error as NodeJS.ErrnoException).code ?? String(error)}), so it is now ship's; run ship as root or as that user to keep it`,
        { file: step.rel },
      );
      continue;
    }
    // chown clears set-id bits: the mode must be exactly the release's.
    await chmod(staged, step.entry.mode);
  }
}
