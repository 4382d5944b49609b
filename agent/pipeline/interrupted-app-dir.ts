/**
 * A killed or failed run's records (its journal, install index, backup, chained rollback) belong to
 * the directory app_dir led to when it began, and live in that directory's state directory.
 * Recovering after app_dir was re-pointed (a hook's or an operator's `ln -sfn releases/2 current`)
 * read the other directory's records: a kill mid-apply was called "the app's files were not
 * changed" over a half-applied tree, a kill after it restored the old files into the other
 * directory while the updated one stayed new, and a `ship --rollback` killed mid-restore was
 * "nothing to recover", its journal left for ever beside a half-restored tree.
 */
import { readdirSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import type { AgentConfig, Source } from "../../shared/config/schema.js";
import { RestoreFailedError, UpdateNotAppliedError } from "../../shared/errors.js";
import { journalPath, readJournal } from "../apply/journal.js";
import { readRollbackRecord, rollbackRecordPath } from "../backup/rollback-record.js";
import { type PendingUpdate, readState } from "../state/state-file.js";
import { lstatOrUndefined } from "../tree/fs-ops.js";
import { realDir } from "../tree/path-on-disk.js";
import type { UpdateContext } from "./context.js";
import { stateRoot } from "./paths.js";

/**
 * Throws (exit 3: a person must point app_dir back) when app_dir leads elsewhere than where the
 * source's interrupted update began, or than where a killed run's journal or chained rollback of
 * this app_dir was written. Costs a readdir of the state's `apps/` and an lstat or two per entry.
 */
export async function checkInterruptedAppDir(
  config: AgentConfig,
  name: string,
  source: Source,
  appStateDir: string,
  pending: PendingUpdate | undefined,
): Promise<void> {
  const then = pending?.app_dir_on_disk;
  const refuse = (what: string, changed: string) =>
    new RestoreFailedError(
      name,
      what,
      `sources.${name}.app_dir ${source.app_dir} leads to ${realDir(source.app_dir)} now, but ${changed}: make it lead there again, then run ship --recover; nothing was changed`,
    );
  if (then !== undefined && realDir(source.app_dir) !== then)
    throw refuse(`update to ${pending?.version} was interrupted`, `the update changed ${then}`);
  const left = await leftElsewhere(config, source.app_dir, appStateDir);
  if (left !== undefined)
    throw refuse(
      "a run of ship was killed while changing the app",
      `its record ${left} is of the directory app_dir led to then`,
    );
}

/** A journal or rollback record of this app_dir's spelling in another directory's state directory. */
async function leftElsewhere(
  config: AgentConfig,
  appDir: string,
  appStateDir: string,
): Promise<string | undefined> {
  const apps = join(stateRoot(config), "apps");
  let names: string[];
  try {
    names = readdirSync(apps);
  } catch {
    return undefined; // no app recorded yet
  }
  for (const entry of names) {
    if (entry === basename(appStateDir)) continue;
    const dir = join(apps, entry);
    for (const [file, read] of [
      [journalPath(dir), readJournal],
      [rollbackRecordPath(dir), readRollbackRecord],
    ] as const) {
      if (lstatOrUndefined(file) === undefined) continue;
      // Another directory's damaged record is that directory's recovery's to report.
      const record = await read(dir).catch(() => undefined);
      if (record !== undefined && resolve(record.appDir) === resolve(appDir)) return file;
    }
  }
  return undefined;
}

/**
 * The apply writes into app_dir as it leads now, with the install index and backups of where it led
 * when the run began: a pre_update hook's `ln -sfn releases/2 current` had 2.0.0 installed into
 * releases/2 over files ship never put there ("ship installed were changed on this host"), while
 * releases/1's index said 2.0.0. Refused before the first write (exit 1, rollback hooks run).
 */
export async function checkAppDirBeforeApply(ctx: UpdateContext): Promise<void> {
  const pending = (await readState(ctx.config.general.state_file)).sources[ctx.app]?.pending_update;
  const then = pending?.app_dir_on_disk;
  const now = realDir(ctx.source.app_dir);
  if (then === undefined || now === then) return;
  throw new UpdateNotAppliedError(
    ctx.app,
    "apply",
    `sources.${ctx.app}.app_dir ${ctx.source.app_dir} leads to ${now} now, but to ${then} when the update began (a pre_update hook re-pointed it?): this run holds ${then}'s install index and backups; make it lead there again, or let the next run update ${now}`,
  );
}
