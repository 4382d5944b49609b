// First: zod's JIT off before any schema is built (one-shot-schemas.ts): this command parses each
// document once. Here, not in the bin's entry, so `ship --help` from the same bundle never loads zod.
import "../one-shot-schemas.js";
// Its own module, apart from --rollback: listing needs neither the restore engine, the lock nor crypto.

import { basename, dirname, join } from "node:path";
import type { AgentConfig } from "../../../shared/config/schema.js";
import { BadInputError } from "../../../shared/errors.js";
import { readInstallIndexHeader } from "../../apply/install-index.js";
import { journalPath, WAITS_FOR_RECOVERY } from "../../apply/journal.js";
import { checkSourceBackupDirs } from "../../backup/backup-dirs.js";
import { sourceLedElsewhere, sourceOfBackup } from "../../backup/backup-owner.js";
import {
  type BackupInfo,
  backupInfoWith,
  backupMadeUnder,
  backupMetaOf,
  backupStamp,
  type DamagedBackup,
  inUpdateOrder,
  listBackupsWithDamaged,
  newestFirstBackup,
  type SetAsideDir,
  setAsideDirs,
  setAsideOf,
} from "../../backup/backup-store.js";
import { type PartialBackup, partialBackups } from "../../backup/partial-backups.js";
import { checkSavedCopies } from "../../backup/restore-preflight.js";
import { chainRefusal } from "../../backup/rollback-chain.js";
import { notInstalledHere, updateLeftNoFile } from "../../backup/update-left-files.js";
import { describeHolder, type LockHolder, liveAppLockHolder } from "../../lock/run-lock.js";
import { refuseNoSources } from "../../pipeline/no-sources.js";
import { APP_STATE_WHAT, appStateDir, lockDir } from "../../pipeline/paths.js";
import { recordDirProblem } from "../../state/record-file.js";
import { lstatOrUndefined } from "../../tree/fs-ops.js";
import type { GlobalOptions } from "../cli.js";
import { loadCliConfig } from "../load-config.js";
import type { Output } from "../output.js";

function size(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 ** 2) return `${(bytes / 1024).toFixed(1)} KiB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
  return `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
}

/** `ship --list-backups`: newest first, with the version each one brings back. */
export async function listBackupsCommand(options: GlobalOptions, out: Output): Promise<number> {
  const { config, path } = await loadCliConfig(options.config, out);
  refuseNoSources(config, path, "it lists only its sources' backups, so there are none to list");
  const unknown = (options.sources ?? []).filter((name) => config.sources[name] === undefined);
  if (unknown.length > 0) {
    const known = Object.keys(config.sources).join(", ") || "(none)";
    throw BadInputError.single("--sources", unknown.join(" "), `no such source; configured: ${known}`);
  }
  // Everything is read before anything is printed: a directory that cannot be listed is exit 2 with
  // nothing on stdout (with --json, the error answer), never a table that looks whole. Every
  // source's, as the listing reads all of backup_dir; those --sources names first, so the one line
  // names the directory asked about when several cannot be listed.
  await checkSourceBackupDirs(
    config.general.backup_dir,
    new Set([...(options.sources ?? []), ...Object.keys(config.sources)]),
  );
  // Damaged ones of the named sources only: another source's are another --list-backups' business.
  // Every app directory with --sources too: a renamed source's older backups are under its old name.
  const { backups: listed, damaged } = await listBackupsWithDamaged(
    config.general.backup_dir,
    Object.keys(config.sources),
  );
  const all = await withoutDamagedCopies(config, listed, damaged);
  const shown = damaged.filter((d) => options.sources === undefined || options.sources.includes(d.app));
  // Only this config's apps: another config sharing backup_dir may use the same source names.
  // Each with the source that restores it now: a renamed source's older backups were listed under
  // the old name, which no --sources or [sources.*] names any more (--rollback restores them as the new).
  const ours = all.flatMap((b) => {
    const owner = sourceOfBackup(config.sources, b)?.name;
    return owner === undefined ? [] : [backupInfoWith(b, { source: owner })];
  });
  // The run of each listed app that holds its lock now: its backup in the making and its journal
  // are on disk as a killed run leaves them, and were called that.
  const running = runningOfListed(config, options.sources);
  // Judged over every backup of each app directory, shown for the named sources only: another
  // source filling the same app_dir made links of the chain a rollback to them restores first.
  const backups = (
    await inUpdateOrderPerApp(
      config,
      running,
      ours,
      damaged.flatMap((d) => (d.backup === undefined ? [] : [d.backup])),
    )
  ).filter((b) => options.sources === undefined || options.sources.includes(b.source));
  const setAside = await setAsideOfListed(config, options.sources, backups);
  const incomplete = await incompleteOfListed(config, options.sources, running);
  // The incomplete ones too, as rows that say so: the text named them and --json left them out, so
  // a script that counted backup_dir's directories against the list found more with nothing saying why.
  out.result([
    ...backups.map(({ refusal, ...b }) => ({
      ...b,
      complete: true,
      restorable: refusal === undefined,
      ...(refusal === undefined ? {} : { notRestorable: refusal }),
    })),
    ...incomplete.map(({ stamp: _stamp, kind: _kind, ...b }) => b),
    ...setAside.map(setAsideRow),
  ]);
  if (ours.length < all.length) noteUnlisted(config, all, out);
  const of = options.sources === undefined ? "" : ` of ${options.sources.join(", ")}`;
  const appName = (b: (typeof backups)[number]) =>
    b.source === b.app ? b.app : `${b.source} (made as ${b.app})`;
  const appWidth = Math.max(16, ...backups.map((b) => appName(b).length));
  // After the note on backups it does not list (another config's, a re-pointed app_dir's), a bare
  // "no backups" read as if those were not there either (review23).
  const listable = ours.length < all.length ? "no backups to list" : "no backups";
  if (backups.length === 0) out.line(`${listable}${of} in ${config.general.backup_dir}`);
  else
    out.line(
      `${"ID".padEnd(32)} ${"APP".padEnd(appWidth)} ${"RESTORES".padEnd(12)} ${"CREATED".padEnd(24)} SIZE`,
    );
  for (const b of backups) {
    out.line(
      `${b.id.padEnd(32)} ${appName(b).padEnd(appWidth)} ${(b.version ?? noVersion(b, backups)).padEnd(12)} ${b.created.padEnd(24)} ${size(b.size)} (${b.files} files)${b.refusal === undefined ? "" : "  NOT RESTORABLE (below)"}`,
    );
  }
  // In the rollback's own words: the row alone read as a backup `--rollback` would take.
  for (const b of backups) if (b.refusal !== undefined) out.line(`not restorable: ${b.id}: ${b.refusal}`);
  for (const aside of setAside) out.line(`set aside ${aside.made}: ${aside.path} ${SET_ASIDE_WHAT}`);
  for (const line of incompleteLines(config, incomplete)) out.line(line);
  // Exit 2 like any damaged record ship meets: a script counting backups must not read this as fine.
  for (const d of shown) out.problem(`not listed: ${d.message}`);
  return shown.length > 0 ? 2 : 0;
}

/**
 * The backups whose saved copies are as their update saved them; the others are moved to `damaged`,
 * in the rollback's words (checkSavedCopies, by saved.json: one lstat per copy, no inventory read,
 * nothing of the app). A copy made a symlink or a directory, truncated, edited or deleted was listed
 * as restorable and the rollback then refused it. A copy missing while a restore of the app waits
 * for recovery (its journal) is no damage: that restore moved it back.
 */
async function withoutDamagedCopies(
  config: AgentConfig,
  backups: readonly BackupInfo[],
  damaged: DamagedBackup[],
): Promise<BackupInfo[]> {
  const whole: BackupInfo[] = [];
  for (const b of backups) {
    // Another config's (sharing backup_dir) is its listing's business, as its damaged records are.
    if (sourceOfBackup(config.sources, b) === undefined) {
      whole.push(b);
      continue;
    }
    const stateDirs = [backupMetaOf(b).stateDir, appStateDir(config, b.appDir)];
    const restoring = stateDirs.some((dir) => lstatOrUndefined(journalPath(dir)) !== undefined);
    try {
      await checkSavedCopies(b.path, undefined, !restoring);
      whole.push(b);
    } catch (error) {
      if (!(error instanceof BadInputError)) throw error;
      damaged.push({ app: basename(dirname(b.path)), message: error.message, backup: b });
    }
  }
  return whole;
}

/**
 * The RESTORES column of a backup whose update found no version installed. "(pre-ship)" was shown
 * for every one, also for an update that found the install index deleted, whose backup brings back
 * a tree ship had installed (the older backups of the app say so, as do old files it saved): ship's
 * own rollback of it says "no version recorded before it", and so does the listing now.
 */
function noVersion(backup: BackupInfo, all: readonly BackupInfo[]): string {
  const shipWasThere = all.some(
    (b) => b !== backup && b.appDir === backup.appDir && b.created < backup.created,
  );
  const unrecorded = shipWasThere || backup.files > 0 || backup.unrecorded === true;
  return unrecorded ? "(unrecorded)" : "(pre-ship)";
}

/**
 * Each app's backups in the order its updates followed each other (as `--rollback` chains them),
 * in the rows the date order gave that app: after the clock was set back, a backup made while it
 * ran ahead was listed first, and `ship --rollback` of that "newest" row went back several versions
 * instead of undoing the last update. With a right clock the two orders are one.
 * Each with why `--rollback` to it would be refused (`refusal`), by the rollback's chain rule
 * (rollback-chain.ts) over the app's backups, the `unlisted` ones (a damaged record beside a whole
 * meta.json) among them: older backups of that chain were listed as restorable, and the rollback
 * to them refused, as it must first restore the damaged one.
 */
async function inUpdateOrderPerApp<T extends BackupInfo & { source: string }>(
  config: AgentConfig,
  running: ReadonlyMap<string, LockHolder>,
  byDate: readonly T[],
  unlisted: readonly BackupInfo[],
): Promise<(T & { refusal?: string })[]> {
  const out: (T & { refusal?: string })[] = [...byDate];
  for (const [stateDir, names] of sourcesPerAppDir(config, byDate)) {
    const installed = await readInstallIndexHeader(stateDir).catch(() => undefined);
    // A run killed while changing the app (an update, or a rollback half-way): `--rollback` refuses
    // every backup of it until recovery, and the listing called them restorable, the one the killed
    // restore was taking back among them.
    const waiting = lstatOrUndefined(journalPath(stateDir)) !== undefined;
    // Unless the journal is a live run's: an update or rollback under way, not one to recover.
    const holder = [...names].map((n) => running.get(n)).find((h) => h !== undefined);
    // Its state directory made a file (a hook, a hand rm -r + touch): `--rollback` refuses every
    // backup of the app by this rule before anything else, and the listing called them restorable.
    const stateDirRefusal = recordDirProblem(stateDir, APP_STATE_WHAT)?.message;
    const slots = byDate.flatMap((b, i) => (names.has(b.source) ? [i] : []));
    const damaged = unlisted.filter((b) => names.has(sourceOfBackup(config.sources, b)?.name ?? ""));
    const chain = inUpdateOrder(
      [...slots.map((i) => byDate[i] as T), ...damaged].sort(newestFirstBackup),
      installed?.version,
      installed?.releaseId,
    );
    const ordered = chain.filter((b) => !damaged.includes(b)) as T[];
    // The rollback's second rule, asked once per app: with no install index, a newest backup whose
    // update left none of its files in the app has nothing there to undo (update-left-files.ts).
    const first = chain[0];
    const left =
      installed !== undefined || first === undefined || damaged.includes(first)
        ? undefined
        : await updateLeftNoFile(first, first.appDir).catch(() => undefined);
    slots.forEach((slot, k) => {
      const b = ordered[k] as T;
      const upTo = chain.slice(0, chain.indexOf(b) + 1);
      const blocked = upTo.find((d) => damaged.includes(d));
      // The chain's words as the rollback says them, of backup_dir ("… has no backup that undoes …").
      const gap =
        chainRefusal(upTo, installed?.version, installed?.releaseId, installed?.source) ??
        (first !== undefined && left !== undefined
          ? notInstalledHere(first, b, first.appDir, stateDir, left)
          : undefined);
      const refusal =
        stateDirRefusal ??
        (waiting
          ? holder === undefined
            ? WAITS_FOR_RECOVERY
            : `${runBy(holder)} is changing the app now (its journal.json): a rollback is refused until it ends`
          : blocked !== undefined
            ? `a rollback to it must first restore ${blocked.id}, which cannot be restored (not listed: named on stderr)`
            : gap === undefined
              ? undefined
              : `${config.general.backup_dir} ${gap}`);
      out[slot] = refusal === undefined ? b : { ...b, refusal };
    });
  }
  return out;
}

/**
 * The sources of the listed backups by the app directory they fill (its state directory): a rollback
 * chains every backup of the directory, whichever of several sources filling it made each. Per
 * source, alpha's backup behind beta's newer update into the same app_dir was NOT RESTORABLE ("no
 * backup that undoes the installed 5.0.0") while `--rollback` restored it through beta's.
 */
function sourcesPerAppDir(
  config: AgentConfig,
  backups: readonly { source: string }[],
): Map<string, Set<string>> {
  const dirs = new Map<string, Set<string>>();
  for (const name of new Set(backups.map((b) => b.source))) {
    const source = config.sources[name];
    if (source === undefined) continue;
    const stateDir = appStateDir(config, source.app_dir);
    dirs.set(stateDir, (dirs.get(stateDir) ?? new Set()).add(name));
  }
  return dirs;
}

/**
 * One line per cause of the backups left out, naming them: they are never pruned (keep_backups counts
 * the backups that restore the app directory as it is now), so an operator who keeps the app where it
 * is must find and remove them by hand. Those made under a source's app_dir as spelt now, which led
 * elsewhere then (a symlink on its way re-pointed, the app moved behind a symlink), were counted as
 * "no source of this config installs into" their directory, which read as another config's doing.
 */
function noteUnlisted(config: AgentConfig, all: readonly BackupInfo[], out: Output): void {
  const elsewhere = new Map<
    string,
    { name: string; moved: boolean; leadsNow: string; dirs: Set<string>; ids: string[]; in: Set<string> }
  >();
  const others: BackupInfo[] = [];
  for (const b of all) {
    if (sourceOfBackup(config.sources, b) !== undefined) continue;
    const led = sourceLedElsewhere(config.sources, b);
    if (led === undefined) {
      others.push(b);
      continue;
    }
    // Made with app_dir's own spelling as the directory: that directory moved and a symlink took its
    // name, so "make app_dir lead there again" named app_dir itself.
    const moved = backupMadeUnder(b) === undefined;
    const key = `${led.name}\0${moved}`;
    const seen = elsewhere.get(key) ?? {
      name: led.name,
      moved,
      leadsNow: led.leadsNow,
      dirs: new Set<string>(),
      ids: [],
      in: new Set<string>(),
    };
    seen.dirs.add(b.appDir);
    seen.ids.push(b.id);
    seen.in.add(dirname(b.path));
    elsewhere.set(key, seen);
  }
  for (const { name, moved, leadsNow, dirs, ids, in: inDirs } of elsewhere.values()) {
    const restored = [...dirs].join(", ");
    const which = `${ids.length} backup(s) of ${name} (${ids.join(", ")} in ${[...inDirs].join(", ")})`;
    out.problem(
      moved
        ? `${which} restore the directory that was at ${restored} when they were made; a symlink there leads to ${leadsNow} now (the app moved, to another disk say): not listed; to restore them, move that directory back to ${restored} in place of the symlink; if the app stays at ${leadsNow}, they cannot restore it and keep_backups does not prune them: remove them by hand once you no longer need them`
        : `${which} restore ${restored}, where sources.${name}.app_dir led when they were made; it leads to ${leadsNow} now (a symlink on its way was re-pointed, or the app moved): not listed; make it lead there again to list and restore them (keep_backups does not prune them meanwhile)`,
    );
  }
  if (others.length > 0)
    out.problem(
      `${others.length} backup(s) in ${config.general.backup_dir} restore ${[...new Set(others.map((b) => b.appDir))].join(", ")}, which no source of this config installs into (another config sharing backup_dir made them, or app_dir was changed since): not listed`,
    );
}

const SET_ASIDE_WHAT =
  "holds previous versions a restore left alone (not a backup: copy back by hand what you need); keep_backups removes it like a backup made then";

/**
 * A `<backup>.unrestored` directory as `--json` gives it: the text named it under the table and
 * --json said nothing, so a script found no trace of the previous versions a restore set aside.
 */
function setAsideRow(aside: SetAsideDir & { source: string }) {
  return {
    id: basename(aside.path),
    app: basename(dirname(aside.path)),
    // Every other row names its source: a script selecting a source's rows missed these.
    source: aside.source,
    path: aside.path,
    created: aside.made,
    ...(aside.owner === undefined ? {} : { appDir: aside.owner.appDir }),
    complete: false,
    setAside: true,
    restorable: false,
    notRestorable: SET_ASIDE_WHAT,
  };
}

/**
 * The `<backup>.unrestored` directories of the listed apps: the previous versions of paths a restore
 * left alone (unrestored.ts). Not backups, so not in the table, but the one-line result of that
 * restore was the only place that named them, and an operator looking for them later found nothing.
 */
async function setAsideOfListed(
  config: AgentConfig,
  sources: readonly string[] | undefined,
  backups: readonly (BackupInfo & { source: string })[],
): Promise<(SetAsideDir & { source: string })[]> {
  const names = sources ?? Object.keys(config.sources);
  // Each directory looked in, with the source whose backups it holds.
  const homes = new Map([
    ...names.map((name): [string, string] => [join(config.general.backup_dir, name), name]),
    ...backups.map((b): [string, string] => [dirname(b.path), b.source]),
  ]);
  const dirs = Object.values(config.sources).map((s) => s.app_dir);
  const found: (SetAsideDir & { source: string })[] = [];
  for (const [home, source] of homes) {
    for (const aside of await setAsideDirs(home)) {
      // Another config's (sharing backup_dir and the source name) is its business, as its backups are.
      if (aside.owner !== undefined && !dirs.some((dir) => setAsideOf(aside.owner, dir))) continue;
      found.push({ ...aside, source });
    }
  }
  return found;
}

/** The live run holding each listed source's app lock (liveAppLockHolder), by source name. */
function runningOfListed(
  config: AgentConfig,
  sources: readonly string[] | undefined,
): Map<string, LockHolder> {
  const running = new Map<string, LockHolder>();
  for (const name of sources ?? Object.keys(config.sources)) {
    const source = config.sources[name];
    const holder = source === undefined ? undefined : liveAppLockHolder(lockDir(config), source.app_dir);
    if (holder !== undefined) running.set(name, holder);
  }
  return running;
}

function runBy(holder: LockHolder): string {
  return `a run of ship (${describeHolder(holder)})`;
}

/** Why an incomplete backup is there, one kind per line of the text output. */
type IncompleteKind = "killed" | "in progress" | "unattributed";

/** An incomplete backup as `--json` gives it, beside the complete ones. */
interface IncompleteBackup {
  id: string;
  app: string;
  source: string;
  path: string;
  /** The UTC second of its id: when its run began making it. */
  created: string;
  complete: false;
  inProgress: boolean;
  restorable: false;
  notRestorable: string;
  kind: IncompleteKind;
  stamp: string;
  /** The run making it, when `inProgress`. */
  madeBy?: LockHolder;
}

/**
 * The listed sources' incomplete backups (partial-backups.ts): never restorable (nothing to
 * restore), but they hold disk, and an operator counting directories in backup_dir found more than
 * `--list-backups` showed, with nothing saying why. One made since the run that holds the app's lock
 * began is that run's, in the making: it was called "left by runs killed while making them".
 */
async function incompleteOfListed(
  config: AgentConfig,
  sources: readonly string[] | undefined,
  running: ReadonlyMap<string, LockHolder>,
): Promise<IncompleteBackup[]> {
  const found: IncompleteBackup[] = [];
  for (const name of sources ?? Object.keys(config.sources)) {
    const source = config.sources[name];
    if (source === undefined) continue;
    const holder = running.get(name);
    const since = holder === undefined ? undefined : backupStamp(new Date(holder.started));
    const { ours, unattributed } = await partialBackups(config.general.backup_dir, name, source.app_dir);
    const row = (b: PartialBackup, kind: IncompleteKind): IncompleteBackup => ({
      id: b.id,
      app: name,
      source: name,
      path: b.path,
      created: b.stamp.replace(/^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/, "$1-$2-$3T$4:$5:$6Z"),
      complete: false,
      inProgress: kind === "in progress",
      restorable: false,
      notRestorable: incompleteReason(kind, holder),
      kind,
      stamp: b.stamp,
      ...(kind === "in progress" && holder !== undefined ? { madeBy: holder } : {}),
    });
    // Same second counts: ids carry whole seconds, the lock's start milliseconds.
    for (const b of ours)
      found.push(row(b, since !== undefined && b.stamp >= since ? "in progress" : "killed"));
    for (const b of unattributed) found.push(row(b, "unattributed"));
  }
  return found;
}

function incompleteReason(kind: IncompleteKind, holder: LockHolder | undefined): string {
  if (kind === "in progress" && holder !== undefined)
    return `being made now by ${runBy(holder)}: listed once that run completes it`;
  if (kind === "unattributed")
    return "no meta.json, beside another app directory's backups: ship cannot tell which config's run made it and leaves it; remove it by hand once no run is making one";
  return "left by a run killed while making it: nothing to restore; the app's next run removes it";
}

/** The text output's lines for the incomplete backups: one per source and kind, naming them. */
function incompleteLines(config: AgentConfig, incomplete: readonly IncompleteBackup[]): string[] {
  const lines: string[] = [];
  for (const name of new Set(incomplete.map((b) => b.source))) {
    const of = (kind: IncompleteKind) => incomplete.filter((b) => b.source === name && b.kind === kind);
    const ids = (list: readonly IncompleteBackup[]) => list.map((b) => b.id).join(", ");
    const killed = of("killed");
    if (killed.length > 0)
      lines.push(
        `incomplete: ${killed.length} backup(s) of ${name} left by runs killed while making them (${ids(killed)}): nothing to restore; the app's next run removes them`,
      );
    const making = of("in progress");
    const holder = making[0]?.madeBy;
    if (holder !== undefined)
      lines.push(
        `incomplete: ${making.length} backup(s) of ${name} being made now by ${runBy(holder)} (${ids(making)}): listed once that run completes them`,
      );
    const unattributed = of("unattributed");
    if (unattributed.length > 0)
      lines.push(
        `incomplete: ${unattributed.length} backup(s) in ${join(config.general.backup_dir, name)} without meta.json (${ids(unattributed)}), beside another app directory's backups: ship cannot tell which config's run made them and leaves them; remove them by hand once no run is making one`,
      );
  }
  return lines;
}
