/**
 * The install index is what is on disk: it changes in the same journaled step as the files, and a
 * restore puts the previous one back. The state file (read by `--check-only`, the hub's hello, the
 * seed's health checks) and a source's change-detection record (ETag, fingerprint, size+mtime) are
 * only notes about it. After any rollback — by hand, the hub's, a restore finished by recovery —
 * this brings both notes back in line: the state names the version on disk, and the source forgets
 * the release it recorded, which is no longer installed, so its next check offers it again.
 */
import * as z from "zod";
import type { AgentConfig, Source } from "../../shared/config/schema.js";
import { errorMessage } from "../../shared/errors.js";
import type { Logger } from "../../shared/log.js";
import { readInstallIndex, readInstallIndexHeader } from "../apply/install-index.js";
import { sameDir } from "../backup/backup-store.js";
import { metadataPath, SourceMetadataStore } from "../sources/metadata.js";
import { readState, type SourceState, updateSourceState } from "../state/state-file.js";
import { appStateDir, updatePaths } from "./paths.js";

export interface InstalledSync {
  /** The version on disk (null: nothing ship installed). */
  version: string | null;
  /** True when the state named another version and was corrected. */
  changed: boolean;
}

export async function syncInstalledState(
  config: AgentConfig,
  name: string,
  source: Source,
  now: Date = new Date(),
  change: (state: SourceState) => SourceState = (s) => s,
  log?: Logger,
): Promise<InstalledSync> {
  const synced = await followIndex(config, name, source, now, change, log);
  await syncSharingSources(config, name, source, now, log);
  return synced;
}

/**
 * The other sources filling `source`'s app_dir follow its install index too: an update or a
 * rollback by one of them replaced or took out what the others installed. Kept, beta's state named
 * its 5.0.0 over alpha's files (and the hub's hello announced it), and beta's record of its release
 * (an http ETag) answered "up to date (5.0.0)" while alpha's 2.0.0 was on disk. Only sources that
 * ran here (a state entry): one never run has nothing to correct.
 */
export async function syncSharingSources(
  config: AgentConfig,
  name: string,
  source: Source,
  now: Date = new Date(),
  log?: Logger,
): Promise<void> {
  const sharing = Object.entries(config.sources).filter(
    ([other, s]) => other !== name && sameDir(s.app_dir, source.app_dir),
  );
  // One app per app_dir (the usual case): no second read of the state file.
  if (sharing.length === 0) return;
  const { sources } = await readState(config.general.state_file);
  for (const [other, otherSource] of sharing)
    if (sources[other] !== undefined) await followIndex(config, other, otherSource, now, (s) => s, log);
}

/**
 * The state names the version on disk and its release, whichever source filling the app_dir
 * installed it: the index's release id says whether it is the one this source recorded.
 */
async function followIndex(
  config: AgentConfig,
  name: string,
  source: Source,
  now: Date,
  change: (state: SourceState) => SourceState,
  log: Logger | undefined,
): Promise<InstalledSync> {
  const stateDir = appStateDir(config, source.app_dir);
  const index = await readInstallIndexHeader(stateDir);
  const version = index?.version ?? null;
  const state = (await readState(config.general.state_file)).sources[name];
  const recorded = state?.current_version ?? null;
  // One version, two releases (a 2.0.0 rebuilt and installed again, then rolled back; or another
  // source's 2.0.0 in an app_dir two fill): the version alone said "in line", so the state kept
  // naming a release that is not on disk and the source kept its record of it (an http ETag then
  // answered "up to date" for a release that is not on disk).
  const sameRelease = index?.releaseId === undefined || state?.release_id === index.releaseId;
  // A git clone that is the app is left on its HEAD where another source fills the directory too.
  const shared = Object.entries(config.sources).some(
    ([n, s]) => n !== name && sameDir(s.app_dir, source.app_dir),
  );
  if (recorded === version && sameRelease) {
    await updateSourceState(config.general.state_file, name, change);
    if (!shared) await alignHead(source, stateDir, index?.releaseId, log);
    return { version: recorded, changed: false };
  }
  await updateSourceState(config.general.state_file, name, (s) =>
    change({
      ...s,
      previous_version: s.current_version,
      current_version: version,
      release_id: index?.releaseId ?? null,
      last_update: now.toISOString(),
    }),
  );
  await forgetSourceRecord(config, name, source);
  if (!shared) await alignHead(source, stateDir, index?.releaseId, log);
  return { version, changed: true };
}

/** A git clone that is the app: HEAD names the installed commit (git-clone-head.ts). */
async function alignHead(
  source: Source,
  stateDir: string,
  commit: string | undefined,
  log: Logger | undefined,
): Promise<void> {
  if (source.type !== "git") return;
  // Only git sources load it: --rollback's bundle stays small for the others.
  const { alignCloneHead } = await import("../sources/git-clone-head.js");
  // The whole index only when HEAD moved: what the work tree differs from it by ship's choice.
  const files = async () => (await readInstallIndex(stateDir))?.files;
  await alignCloneHead(source, commit, files, log);
}

async function forgetSourceRecord(config: AgentConfig, name: string, source: Source): Promise<void> {
  const configured = "metadata_file" in source ? source.metadata_file : undefined;
  const file = metadataPath(updatePaths(config, name, source).sourceStateDir, name, configured);
  await new SourceMetadataStore(file, name, z.unknown()).forget();
}

/**
 * The state after a rollback that undid `undone` (each restored backup's undone version): an
 * interrupted update among them (pending-update.ts) is resolved — its files are gone and its
 * rollback commands ran with the rollback. Left in place, the next run said "restored 2.0.0" (it
 * restored nothing: the app was on 1.0.0), ran those commands a second time and recorded
 * failed_restored over the rollback.
 */
export function withoutUndonePending(state: SourceState, undone: readonly string[]): SourceState {
  const { pending_update: pending, ...rest } = state;
  return pending !== undefined && undone.includes(pending.version) ? rest : state;
}

/**
 * `sync` (a syncInstalledState recording a failure) with a state that cannot be written said as a
 * WARNING, never a second failure over the one being recorded: resolves to `fallback` then. One
 * rule for `ship --rollback`, the hub's rollback, a failed recovery and an ended instruction.
 */
export function unlessStateUnwritable<T>(
  sync: Promise<T>,
  log: Pick<Logger, "warn">,
  fallback: T,
  app?: string,
): Promise<T> {
  return sync.catch((error: unknown) => {
    if (app === undefined) log.warn(`state not recorded: ${errorMessage(error)}`);
    else log.warn(`${app}: state not recorded: ${errorMessage(error)}`, { app });
    return fallback;
  });
}
