import { userInfo } from "node:os";
import type { AgentConfig } from "../../../shared/config/schema.js";
import { BadInputError, ExitCode, LockedError } from "../../../shared/errors.js";
import { commandLineVersionProblem, compareVersions, isVersionLike } from "../../../shared/versions.js";
import { acquireLock } from "../../lock/run-lock.js";
import { globalLockFile } from "../../pipeline/paths.js";
import { checkRecordPaths } from "../../pipeline/record-paths.js";
import { noteShipDirs } from "../../pipeline/untouched-dirs.js";
import { type ManualApproval, readState, updateSourceState } from "../../state/state-file.js";
import type { GlobalOptions } from "../cli.js";
import { loadCliConfig } from "../load-config.js";
import { cliLogger } from "../logger.js";
import type { Output } from "../output.js";

/**
 * `ship --approve APP VERSION`: a person says the manual steps a `require_manual_intervention`
 * conditional listed for VERSION are done. Recorded in the state file (under the run lock, so it
 * cannot race a run's own state write) and audited in the log; the next run of APP installs VERSION.
 */
export async function approveCommand(options: GlobalOptions, out: Output): Promise<number> {
  const args = options.approve ?? [];
  const [app, version] = args;
  if (args.length !== 2 || app === undefined || version === undefined || version === "") {
    throw BadInputError.single(
      "--approve",
      "",
      "expects two values: the source's name and the version, e.g. --approve myapp 2.0.0",
    );
  }
  const versionProblem = commandLineVersionProblem(version);
  if (versionProblem !== undefined)
    throw BadInputError.single("--approve", JSON.stringify(version.slice(0, 100)), versionProblem);
  const { config, path } = await loadCliConfig(options.config, out);
  if (config.sources[app] === undefined) {
    const known = Object.keys(config.sources).join(", ") || "(none)";
    throw BadInputError.single("--approve", app, `no such source; configured: ${known}`);
  }
  await checkRecordPaths(config, path, { lock: "run", state: true });
  // Before the logger, which creates the log file: an approval refused for bad input (a damaged
  // state file, the installed version) leaves ship's directories as it found them, as a run does.
  const untouched = await noteShipDirs(config);
  return untouched.guard(() => approve(options, out, config, app, version));
}

async function approve(
  options: GlobalOptions,
  out: Output,
  config: AgentConfig,
  app: string,
  version: string,
): Promise<number> {
  const log = cliLogger(options, config);
  let lock: Awaited<ReturnType<typeof acquireLock>>;
  try {
    lock = await acquireLock(globalLockFile(config), log);
  } catch (error) {
    if (!(error instanceof LockedError)) throw error;
    out.problem(`ship: ${error.message}`);
    return ExitCode.locked;
  }
  const approval: ManualApproval = {
    version,
    approved_at: new Date().toISOString(),
    approved_by: currentUser(),
  };
  try {
    // [trust] allow_downgrade makes every run take an older release: its manual steps need no flag.
    const downgrade = options.allowDowngrade === true || config.trust?.allow_downgrade === true;
    await refuseInstalledVersion(config.general.state_file, app, version, downgrade);
    await updateSourceState(config.general.state_file, app, (s) => ({ ...s, manual_approval: approval }));
  } finally {
    await lock.release();
  }
  log.warn(`manual intervention for ${app} ${version} approved by ${approval.approved_by}`, {
    app,
    audit: "manual_approval",
    ...approval,
  });
  out.result({ app, ...approval });
  out.line(
    `${app}: manual steps for ${version} approved by ${approval.approved_by}; the next ship run that is offered ${version} proceeds past them (an approval is for that version only, and replaces an earlier one)`,
  );
  return ExitCode.ok;
}

/**
 * Approving the version that is installed already approves nothing: no run is offered it again.
 * An older one is offered only as a downgrade (`--allow-downgrade`, the hub's rollback), so it is
 * approved only with `--allow-downgrade`. Both were recorded (exit 0, "approved"), replacing an
 * approval the pending release still needed, and the next plain run did not install the older one.
 */
async function refuseInstalledVersion(
  stateFile: string,
  app: string,
  version: string,
  downgrade: boolean,
): Promise<void> {
  const state = (await readState(stateFile)).sources[app];
  const installed = state?.current_version ?? null;
  if (installed === null || !isVersionLike(installed)) return;
  const order = compareVersions(version, installed);
  if (order > 0 || (order < 0 && downgrade)) return;
  const kept = state?.manual_approval;
  const nothing = `nothing recorded${kept === undefined ? "" : ` (the approval of ${kept.version} is kept)`}`;
  throw BadInputError.single(
    "--approve",
    version,
    order === 0
      ? `${app} runs ${installed} already, so nothing waits for this approval; ${nothing}`
      : `${app} runs ${installed}, which is newer: a run is offered ${version} only as a downgrade (ship --allow-downgrade, [trust] allow_downgrade, or the hub's rollback); to approve that downgrade's manual steps add --allow-downgrade; ${nothing}`,
  );
}

function currentUser(): string {
  try {
    return userInfo().username;
  } catch {
    // A uid without a passwd entry (containers): the number still identifies who it was.
    return `uid ${process.getuid?.() ?? "?"}`;
  }
}
