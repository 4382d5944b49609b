/**
 * The ConditionContext of the host ship runs on: real files, services, environment and commands.
 */
import { readdir, stat } from "node:fs/promises";
import { resolve } from "node:path";
import { quote } from "../../shared/conditions/ast.js";
import type { ConditionContext } from "../../shared/conditions/evaluate.js";
import { timerMs } from "../../shared/schema/durations.js";
import { cleanEnvironment } from "../exec/clean-env.js";
import { notYetInstalled } from "../exec/not-yet-installed.js";
import { quotedCommand } from "../exec/quoted-command.js";
import { signalDeath } from "../exec/signal-death.js";
import { succeededDespite, unrunnableProgram } from "../exec/unrunnable-program.js";
import { runShell } from "./run-shell.js";
import {
  initScriptRunning,
  processRunning,
  type ServiceProbe,
  systemdRunning,
  systemdServiceActive,
} from "./service-status.js";

export interface HostContextOptions {
  /** Relative paths in file_exists() and the working directory of command(). */
  appDir: string;
  currentVersion: string | undefined;
  /** Environment for env_var() and command(); defaults to this process's. */
  env?: NodeJS.ProcessEnv;
  /**
   * command() counts as false after this long and its process group is killed (default 30 s);
   * a conditional's own `timeout` overrides it for its condition.
   */
  commandTimeoutMs?: number;
  /** Receives notes such as which service probe is in use. */
  debug?: (message: string) => void;
  /** Overrides the systemd detection (tests; hosts with systemd in an unusual place). */
  serviceProbe?: ServiceProbe;
  /** Each command() and what it read (releaseScriptNotes says what is wrong with it, when it can). */
  onCommand?: (ran: RanCommand) => void;
}

/** A command() as it ran: whether it read true, its exit code, or that it was killed for taking too long. */
export interface RanCommand {
  command: string;
  ok: boolean;
  /** null: killed, timed out, or never started. */
  exitCode: number | null;
  /** The signal that ended the shell itself, if one did. */
  signal: NodeJS.Signals | null;
  /** Killed after the condition's time limit: no answer, not a "no". */
  timedOutAfterMs?: number;
}

export const DEFAULT_COMMAND_TIMEOUT_MS = 30_000;

export function hostConditionContext(options: HostContextOptions): ConditionContext {
  const env = options.env ?? process.env;
  const debug = options.debug ?? (() => {});
  const contextTimeoutMs = options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
  let probe: ServiceProbe | undefined = options.serviceProbe;
  let othersInstalled: Promise<boolean> | undefined;

  return {
    currentVersion: options.currentVersion,
    // Files in app_dir with no version recorded: an app put there by hand or by another tool (the
    // seed's Python ship), not an empty directory waiting for its first install.
    installedByOthers() {
      othersInstalled ??= readdir(options.appDir).then(
        (names) => names.length > 0,
        () => false,
      );
      return othersInstalled;
    },
    env: (name) => env[name],
    async fileExists(path) {
      try {
        await stat(resolve(options.appDir, path));
        return true;
      } catch {
        return false;
      }
    },
    async serviceRunning(name) {
      if (probe === undefined) {
        probe = systemdRunning(env) ? "systemd" : "process-table";
        debug(
          probe === "systemd"
            ? "service_running() asks systemd (systemctl is-active)"
            : "service_running(): systemd is not running here; matching process names (pgrep -x) instead",
        );
      }
      if (probe === "systemd") return systemdServiceActive(name, env);
      return (await processRunning(name, env)) || (await initScriptRunning(name, env))?.running === true;
    },
    async runCommand(command, timeoutSeconds) {
      const timeoutMs = timeoutSeconds === undefined ? contextTimeoutMs : timerMs(timeoutSeconds);
      const result = await runShell(command, {
        cwd: options.appDir,
        env: cleanEnvironment(env),
        timeoutMs,
        keepOutput: 0,
      });
      if (result.timedOut)
        debug(`command(${quote(quotedCommand(command))}) timed out after ${timeoutMs} ms; killed`);
      else if (result.spawnError)
        debug(`command(${quote(quotedCommand(command))}) could not start: ${result.spawnError}`);
      options.onCommand?.({
        command,
        ok: result.ok,
        exitCode: result.exitCode,
        signal: result.signal,
        ...(result.timedOut ? { timedOutAfterMs: timeoutMs } : {}),
      });
      return result.ok;
    },
  };
}

/**
 * A warning for each command() that read false while a script it names is in the release and not
 * in the app: conditions are evaluated before the apply, so `command('sh scripts/in_maintenance.sh')`
 * shipped with the release read false on every run (a skip_update never skipped), and nothing said
 * why. So too for a command a signal ended (the OOM killer, a crash), and for a script the shell cannot start (CRLF line endings, no x bit): it read false on
 * every run as well, as if the condition simply did not hold. And for one that read true only
 * because sh ran it (a byte-order mark before `#!/bin/sh`): hooks and environment checks said so,
 * a condition's command did not, and the same script read false once its #! named bash.
 */
export async function releaseScriptNotes(
  ran: readonly RanCommand[],
  appDir: string,
  releaseDir: string | undefined,
): Promise<string[]> {
  const notes: string[] = [];
  const seen = new Set<string>();
  for (const { command, ok, exitCode, signal, timedOutAfterMs } of ran) {
    if (seen.has(command)) continue;
    seen.add(command);
    if (ok) {
      const despite = await succeededDespite(command, appDir).catch(() => "");
      if (despite !== "") notes.push(`command(${quote(quotedCommand(command))}) read true, but ${despite}`);
      continue;
    }
    // A maintenance check that hangs read as "not in maintenance", and the update went ahead unsaid.
    const timedOut =
      timedOutAfterMs === undefined
        ? ""
        : `: it gave no answer in ${timedOutAfterMs / 1000} s (the limit of a condition's command) and was killed`;
    // A check the OOM killer (or a crash) ended gave no answer either, and read as a "no" unsaid.
    const killed = signalDeath(exitCode, signal);
    const note =
      timedOut ||
      (killed === "" ? "" : `: it ${killed}${signal === null ? "" : ", so it gave no answer"}`) ||
      (await notYetInstalled(command, appDir, releaseDir, "conditions are evaluated")) ||
      (await unrunnableProgram(command, appDir, exitCode));
    if (note !== "") notes.push(`command(${quote(quotedCommand(command))}) read false${note}`);
  }
  return notes;
}
