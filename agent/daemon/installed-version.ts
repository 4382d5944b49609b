/**
 * The version on disk of one hub app: the install index, which an update and a restore change in
 * the same journaled step as the files. The state file is keyed by source name, so after
 * [sources.myapp] was renamed (same app_dir) it named nothing until the next timer run: the hello
 * announced the app as not installed, and a hub rollback the newest backup covers was not seen as
 * one. Two sources filling one app_dir share one index: it names what is on disk, whichever of them
 * installed it (the state's word named each source's own last install, replaced by the other's since).
 */
import type { AgentConfig, Source } from "../../shared/config/schema.js";
import { readInstallIndexHeader } from "../apply/install-index.js";
import { appStateDir } from "../pipeline/paths.js";
import { readState, type ShipState } from "../state/state-file.js";

export async function installedVersion(
  config: AgentConfig,
  state: ShipState,
  app: string,
  source: Source,
): Promise<string | null> {
  const recorded = state.sources[app]?.current_version ?? null;
  const index = await readInstallIndexHeader(appStateDir(config, source.app_dir));
  return index === undefined ? recorded : index.version;
}

/** The version a report names as installed before: the state's word when the index cannot be read. */
export async function versionOnDisk(config: AgentConfig, app: string): Promise<string | null> {
  const source = config.sources[app];
  const state = await readState(config.general.state_file).catch(() => undefined);
  if (source === undefined || state === undefined) return state?.sources[app]?.current_version ?? null;
  return installedVersion(config, state, app, source).catch(
    () => state.sources[app]?.current_version ?? null,
  );
}
