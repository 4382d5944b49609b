/**
 * An install index that no longer describes its app directory (app-dir-mark.ts, indexMismatch) is set aside by a
 * run that would have said "up to date": deleted, as an operator told "delete it" would, so the run
 * goes on as after that — the state and the source's record follow the index (sync-installed.ts),
 * the release is installed again over the app with the usual backup of whatever is there (its
 * rollback puts that back, with no index), migrations run from the version the state names. Before,
 * every run said "up to date (1.0.0)", exit 0, of an app with none of its files.
 */
import type { Logger } from "../../shared/log.js";
import { writeInstallIndex } from "../apply/install-index.js";

/** Deletes the index (and its bases); the WARNING the run that installs `version` again says. */
export async function setIndexAside(
  appStateDir: string,
  why: string,
  version: string,
  log: Logger,
): Promise<string> {
  await writeInstallIndex(appStateDir, undefined);
  const warning = `${why}; it was set aside and ${version} is installed again over the app (files ship did not install stay, what it replaces goes to the backup)`;
  log.warn(warning);
  return warning;
}
