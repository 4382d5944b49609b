/**
 * The app scan, started before the apply: while the main thread asks the source whether there is an
 * update (a release directory's own walk, or waiting for `git fetch`), stages it and loads its
 * manifest, a worker thread walks the app (scanTreeInWorker), so the 20,000-lstat walk costs the
 * update no wall time on a machine with a core to spare. When the check finds nothing, the walk is
 * stopped. The walk must skip the new release's protected directories, which are not known yet: it
 * skips those of the installed release (InstallIndex.protectedDirs), and the apply uses the result
 * only when that list is the new manifest's too (else it scans then, as it always did).
 *
 * Only what cannot change the app may run between this scan and the apply: the pipeline hands it
 * over only when the release has no pre_update hooks and no conditionals (both run commands), and
 * the apply drops it when its own recovery found something to do.
 */
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import type { Manifest } from "../../shared/manifest/schema.js";
import { scanTreeInWorker } from "../tree/scan-tree.js";
import { readInstalledProtectedDirs } from "./install-index.js";
import { protectedDirectories } from "./rules.js";
import type { TreeScan } from "./types.js";

export interface EarlyAppScan {
  /** The directories the walk did not enter. */
  readonly skipped: readonly string[];
  /** The scan, or undefined when the walk failed (the apply then scans, and reports any error). */
  readonly scan: Promise<TreeScan | undefined>;
  /** Ends the walk when no apply will want it (the check found nothing, the run stopped early). */
  stop(): void;
}

/**
 * Starts the walk; undefined (nothing started) when the install index does not say what to skip,
 * or when no core is free for it (see coreToSpare).
 */
export async function startEarlyAppScan(appDir: string, stateDir: string): Promise<EarlyAppScan | undefined> {
  if (!coreToSpare()) return undefined;
  const skipped = await readInstalledProtectedDirs(stateDir).catch(() => undefined);
  if (skipped === undefined) return undefined;
  try {
    const walk = scanTreeInWorker(appDir, skipped);
    return { skipped, scan: walk.scan.catch(() => undefined), stop: walk.stop };
  } catch {
    return undefined; // no worker could be started: the apply scans
  }
}

/**
 * Whether a walk on another thread would run beside the main thread rather than take turns with
 * it: at least two cores, and (on Linux) no more runnable threads right now than cores, ours
 * included. On a busy machine the worker only adds its start-up and the scan's hand-over (~0.1 s
 * of CPU) to the run. SHIP_EARLY_APP_SCAN=1 or 0 decides instead (tests; an operator's choice).
 */
export function coreToSpare(): boolean {
  const forced = process.env.SHIP_EARLY_APP_SCAN;
  if (forced === "1" || forced === "0") return forced === "1";
  const cores = availableParallelism();
  if (cores < 2) return false;
  try {
    // "0.52 0.58 0.59 2/451 1234": the fourth field counts the threads runnable at this moment.
    const running = Number(readFileSync("/proc/loadavg", "utf8").split(" ")[3]?.split("/")[0]);
    return !(running > cores);
  } catch {
    return true; // not Linux: the core count alone decides
  }
}

/** The early scan when it skipped exactly what a scan under `manifest` skips; else undefined. */
export async function earlyScanFor(
  early: EarlyAppScan | undefined,
  manifest: Manifest,
): Promise<TreeScan | undefined> {
  if (early === undefined) return undefined;
  const wanted = protectedDirectories(manifest);
  if (wanted.length !== early.skipped.length || wanted.some((dir, i) => dir !== early.skipped[i]))
    return undefined;
  return early.scan;
}
