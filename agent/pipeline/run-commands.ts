/** Runs a list of manifest commands in order for one step; the first failure stops the list. */
import type { CommandSpec } from "../../shared/manifest/schema.js";
import { describeFailure, runCommand } from "../exec/run-command.js";
import { runningCommandFile } from "../exec/running-command.js";
import { commandEnv, type UpdateContext } from "./context.js";
import { StepFailedError } from "./errors.js";

/** Hooks, migrations and cleanup commands without a timeout of their own get this long. */
export const DEFAULT_COMMAND_TIMEOUT_SECONDS = 300;

export async function runCommandList(
  ctx: UpdateContext,
  label: string,
  commands: readonly CommandSpec[],
  /** Rollback commands run in the files of the release being undone, when they are on disk. */
  releaseDir?: string,
): Promise<void> {
  for (const [index, spec] of commands.entries()) {
    const command = typeof spec === "string" ? spec : spec.command;
    const timeoutSeconds =
      typeof spec === "string"
        ? ctx.settings.defaultCommandTimeoutSeconds
        : (spec.timeout ?? ctx.settings.defaultCommandTimeoutSeconds);
    const name = `${label}[${index}]`;
    const result = await runCommand(command, {
      cwd: releaseDir ?? ctx.source.app_dir,
      timeoutSeconds,
      env: { ...commandEnv(ctx), ...(releaseDir === undefined ? {} : { releaseDir }) },
      log: ctx.log,
      label: name,
      recordFile: runningCommandFile(ctx.paths.appStateDir),
    });
    // The reason names the hook, not its command line: reasons reach notifications and the hub, and a
    // command line may carry a token. The full command is in the local log.
    if (!result.ok) throw new StepFailedError(label, describeFailure(name, result, timeoutSeconds));
  }
}
