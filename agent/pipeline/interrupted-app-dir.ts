/**
 * A killed or failed update's records (its journal, install index, backup) belong to the directory
 * app_dir led to when it began. Recovering after app_dir was re-pointed (a hook's or an operator's
 * `ln -sfn releases/2 current`) read the other directory's records: a kill mid-apply was called
 * "the app's files were not changed" over a half-applied tree, and a kill after it restored the
 * old files into the other directory while the updated one stayed new.
 */
import type { Source } from "../../shared/config/schema.js";
import { RestoreFailedError } from "../../shared/errors.js";
import type { PendingUpdate } from "../state/state-file.js";
import { realDir } from "../tree/path-on-disk.js";

/** Throws (exit 3: a person must point app_dir back) when app_dir leads elsewhere than the update began. */
export function checkInterruptedAppDir(
  name: string,
  source: Source,
  pending: PendingUpdate | undefined,
): void {
  const then = pending?.app_dir_on_disk;
  if (then === undefined) return;
  const now = realDir(source.app_dir);
  if (now === then) return;
  throw new RestoreFailedError(
    name,
    `update to ${pending?.version} was interrupted`,
    `sources.${name}.app_dir ${source.app_dir} leads to ${now} now, but the update changed ${then}: make it lead there again, then run ship --recover; nothing was changed`,
  );
}
