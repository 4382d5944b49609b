/**
 * Which other source of this config installed what is in a shared app_dir. Two sources may fill one
 * app_dir (one at a time, with --sources): a refusal or a rollback by one of them named only a
 * version the operator never asked that source for ("older than the installed 5.0.0"), and they
 * could not tell why. The install index records the source whose update wrote it.
 */
import type { AgentConfig } from "../../shared/config/schema.js";
import { readInstallIndexHeader } from "../apply/install-index.js";
import { sameDir } from "../backup/backup-store.js";

/** `other` when it is a source of this config filling `name`'s app_dir too, else undefined. */
export function otherSharingSource(
  config: AgentConfig,
  name: string,
  other: string | undefined,
): string | undefined {
  if (other === undefined || other === name) return undefined;
  const mine = config.sources[name];
  const theirs = config.sources[other];
  return mine !== undefined && theirs !== undefined && sameDir(mine.app_dir, theirs.app_dir)
    ? other
    : undefined;
}

/** The other source that installed what the install index in `stateDir` records, if any. */
export async function installedByOther(
  config: AgentConfig,
  name: string,
  stateDir: string,
): Promise<string | undefined> {
  const header = await readInstallIndexHeader(stateDir).catch(() => undefined);
  return otherSharingSource(config, name, header?.source);
}

/** " (source beta installed it; it fills /opt/app too)", or "" when `name` did or none is known. */
export function byOtherNote(config: AgentConfig, other: string | undefined): string {
  const source = other === undefined ? undefined : config.sources[other];
  return source === undefined ? "" : ` (source ${other} installed it; it fills ${source.app_dir} too)`;
}

/**
 * ", beta's update to 5.0.0 among them: source beta fills this app_dir too" for the restores of a
 * rollback by `name` that undid another sharing source's updates; "" when none did. A rollback of
 * alpha's backup undoes beta's newer update first, and its line named only alpha.
 */
export function othersUndoneNote(
  config: AgentConfig,
  name: string,
  restored: readonly { app: string; undid: string }[],
): string {
  const undone = restored.filter((r) => otherSharingSource(config, name, r.app) !== undefined);
  if (undone.length === 0) return "";
  const sources = [...new Set(undone.map((r) => r.app))];
  const updates = undone.map((r) => `${r.app}'s update to ${r.undid}`).join(", ");
  const who = sources.length === 1 ? `source ${sources[0]} fills` : `sources ${sources.join(", ")} fill`;
  return `, ${updates} among them: ${who} this app_dir too`;
}
