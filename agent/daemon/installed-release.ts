import type { Deploy, Report } from "../../shared/protocol/messages.js";
import { readState } from "../state/state-file.js";
import type { DesiredStateStore } from "./desired-state.js";

/**
 * Remembers a hub release that is now installed, and names in the report the hub release the app
 * runs afterwards (after a local rollback: the earlier one), so the hub never loses track of it.
 */
export async function withInstalledRelease(
  desired: DesiredStateStore,
  stateFile: string,
  instruction: Deploy,
  report: Report,
): Promise<Report> {
  const { app, release } = instruction;
  const version = (await readState(stateFile)).sources[app]?.current_version;
  // A failed update that was not rolled back (failed_not_rolled_back) left the release installed too.
  if ((report.outcome === "succeeded" && report.toVersion === release.version) || version === release.version)
    await desired.rememberInstalled(app, release.version, release.id);
  const installed = await desired.installedRelease(app, version ?? null);
  return installed === undefined ? report : { ...report, installedReleaseId: installed };
}
