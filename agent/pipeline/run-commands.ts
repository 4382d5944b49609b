/** Runs a list of manifest commands in order for one step; the first failure stops the list. */
import type { CommandSpec } from "../../shared/manifest/schema.js";
import { describeFailure, type RunCommandOptions, runCommand } from "../exec/run-command.js";
import { runningCommandFile } from "../exec/running-command.js";
import { commandEnv, type UpdateContext } from "./context.js";
import { StepFailedError } from "./errors.js";

/** Hooks, migrations and cleanup commands without a timeout of their own get this long. */
export const DEFAULT_COMMAND_TIMEOUT_SECONDS = 300;

/** How one list of manifest commands runs: where, with which variables, and how long by default. */
export interface CommandListOptions extends Omit<RunCommandOptions, "label" | "timeoutSeconds"> {
  /** For commands without a `timeout` of their own. */
  defaultTimeoutSeconds: number;
  /** Stop at the first failure (hooks, migrations) or run every command (rollback commands). */
  stopAtFirstFailure: boolean;
  /** Told the index of each command that succeeded, before the next one starts. */
  onSucceeded?: (index: number) => void | Promise<void>;
}

/**
 * Runs `commands` in order as `label[0]`, `label[1]`…; returns one reason per failed command. A
 * reason names the command by label, not its command line: reasons reach notifications and the hub,
 * and a command line may carry a token. The log names it by label and program too (run-command.ts);
 * the whole line is in the manifest.
 */
export async function runCommands(
  label: string,
  commands: readonly CommandSpec[],
  options: CommandListOptions,
): Promise<string[]> {
  const { defaultTimeoutSeconds, stopAtFirstFailure, onSucceeded, ...run } = options;
  const failures: string[] = [];
  for (const [index, spec] of commands.entries()) {
    const command = typeof spec === "string" ? spec : spec.command;
    const timeoutSeconds =
      typeof spec === "string" ? defaultTimeoutSeconds : (spec.timeout ?? defaultTimeoutSeconds);
    const name = `${label}[${index}]`;
    const result = await runCommand(command, { ...run, timeoutSeconds, label: name });
    if (result.ok) {
      await onSucceeded?.(index);
      continue;
    }
    failures.push(describeFailure(name, result, timeoutSeconds));
    if (stopAtFirstFailure) break;
  }
  return failures;
}

/** A pipeline step's commands: the first failure fails the step. */
export async function runCommandList(
  ctx: UpdateContext,
  label: string,
  commands: readonly CommandSpec[],
  extra: {
    /** Rollback commands run in the files of the release being undone, when they are on disk. */
    releaseDir?: string;
    onSucceeded?: (index: number) => void | Promise<void>;
  } = {},
): Promise<void> {
  const { releaseDir, onSucceeded } = extra;
  const [failure] = await runCommands(label, commands, {
    cwd: releaseDir ?? ctx.source.app_dir,
    env: { ...commandEnv(ctx), ...(releaseDir === undefined ? {} : { releaseDir }) },
    log: ctx.log,
    recordFile: runningCommandFile(ctx.paths.appStateDir),
    defaultTimeoutSeconds: ctx.settings.defaultCommandTimeoutSeconds,
    stopAtFirstFailure: true,
    onSucceeded,
  });
  if (failure !== undefined) throw new StepFailedError(label, failure);
}
