/** Runs a list of manifest commands in order for one step; the first failure stops the list. */

import type { NamedCommand } from "../exec/named-command.js";
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
 * Runs `commands` in order, each under its name; returns one reason per failed command. A reason
 * names the command by its manifest place, not its command line: reasons reach notifications and
 * the hub, and a command line may carry a token. The log names it by name and program too
 * (run-command.ts); the whole line is in the manifest.
 */
export async function runCommands(
  commands: readonly NamedCommand[],
  options: CommandListOptions,
): Promise<string[]> {
  const { defaultTimeoutSeconds, stopAtFirstFailure, onSucceeded, ...run } = options;
  const failures: string[] = [];
  for (const [index, { name, spec }] of commands.entries()) {
    const command = typeof spec === "string" ? spec : spec.command;
    const timeoutSeconds =
      typeof spec === "string" ? defaultTimeoutSeconds : (spec.timeout ?? defaultTimeoutSeconds);
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

/** A pipeline step's commands (`step`, e.g. "pre_update hook"): the first failure fails the step. */
export async function runCommandList(
  ctx: UpdateContext,
  step: string,
  commands: readonly NamedCommand[],
  extra: { onSucceeded?: (index: number) => void | Promise<void> } = {},
): Promise<void> {
  const [failure] = await runCommands(commands, {
    ...commandListOptions(ctx),
    stopAtFirstFailure: true,
    ...(extra.onSucceeded === undefined ? {} : { onSucceeded: extra.onSucceeded }),
  });
  if (failure !== undefined) throw new StepFailedError(step, failure);
}

/**
 * Where and how an update's commands run. Rollback commands run in the files of the release being
 * undone (`releaseDir`), when they are on disk.
 */
export function commandListOptions(
  ctx: UpdateContext,
  releaseDir?: string,
): Omit<CommandListOptions, "stopAtFirstFailure"> {
  return {
    cwd: releaseDir ?? ctx.source.app_dir,
    env: { ...commandEnv(ctx), ...(releaseDir === undefined ? {} : { releaseDir }) },
    log: ctx.log,
    recordFile: runningCommandFile(ctx.paths.appStateDir),
    defaultTimeoutSeconds: ctx.settings.defaultCommandTimeoutSeconds,
  };
}
