/**
 * The manifest's `requirements` on this host (`ship --check-requirements`, and the pipeline before
 * it touches anything). Every item is checked and listed, met or not, so one run shows an operator
 * everything to fix rather than the first problem only.
 */
import type { Requirements } from "../../shared/manifest/schema.js";
import { timerMs } from "../../shared/schema/durations.js";
import { findOnPath } from "../conditions/find-on-path.js";
import { runShell } from "../conditions/run-shell.js";
import {
  INIT_SCRIPT_DIR,
  initScriptRunning,
  processRunning,
  processSearch,
  systemdRunning,
  systemdServiceActive,
} from "../conditions/service-status.js";
import { cleanEnvironment } from "../exec/clean-env.js";
import { notYetInstalled } from "../exec/not-yet-installed.js";
import { quotedCommand } from "../exec/quoted-command.js";
import { lastLine } from "../exec/run-command.js";
import { shellCodeNote, shellCodeSignal } from "../exec/signal-death.js";
import { succeededDespite, unrunnableProgram } from "../exec/unrunnable-program.js";
import { checkDiskSpace } from "./disk-space.js";
import { checkPythonVersion } from "./python-version.js";

export interface RequirementResult {
  /** Key path of the item, e.g. `required_services.postgresql`. */
  name: string;
  ok: boolean;
  detail: string;
}

export interface RequirementsReport {
  ok: boolean;
  results: RequirementResult[];
}

export interface RequirementOptions {
  /** Where the app lives (or will): its filesystem is the one that needs the free space. */
  appDir: string;
  /** Working directory of environment_checks; defaults to appDir (the pipeline may pass the release). */
  cwd?: string;
  /** The staged release a run is about to install: a failed check is told what it lacks of it. */
  releaseDir?: string;
  /** PATH and variables for lookups and checks; defaults to this process's environment. */
  env?: NodeJS.ProcessEnv;
  /** Overrides systemd detection (tests; unusual hosts). */
  systemd?: boolean;
}

export async function checkRequirements(
  req: Requirements,
  options: RequirementOptions,
): Promise<RequirementsReport> {
  const env = options.env ?? process.env;
  const checks: Promise<RequirementResult>[] = [];
  if (req.min_python_version !== undefined) checks.push(checkPythonVersion(req.min_python_version, env));
  if (req.min_disk_space_mb !== undefined) checks.push(checkDiskSpace(options.appDir, req.min_disk_space_mb));
  for (const command of req.required_commands) checks.push(checkCommand(command, env, options.appDir));
  const systemd = options.systemd ?? systemdRunning(env);
  for (const service of req.required_services) checks.push(checkService(service, systemd, env));
  for (const check of req.environment_checks) {
    checks.push(checkEnvironment(check, options.cwd ?? options.appDir, env, options.releaseDir));
  }
  const results = await Promise.all(checks);
  return { ok: results.every((r) => r.ok), results };
}

async function checkCommand(
  command: string,
  env: NodeJS.ProcessEnv,
  cwd: string,
): Promise<RequirementResult> {
  const found = findOnPath(command, env, cwd);
  return {
    name: `required_commands.${command}`,
    ok: found !== undefined,
    detail:
      found === undefined
        ? `${command} not found on PATH${commandLineNote(command, env, cwd)}`
        : `found at ${found}`,
  };
}

/**
 * An item is a program's name, not a command line: `ls -l` or `pg_dump --version` was "not found on
 * PATH" on every host, ls and pg_dump there, with nothing saying why.
 */
function commandLineNote(command: string, env: NodeJS.ProcessEnv, cwd: string): string {
  const [program] = command.trim().split(/\s+/);
  if (program === undefined || program === command) return "";
  const found = findOnPath(program, env, cwd);
  if (found === undefined) return "";
  return ` (an item names a program, not a command line: ${program} is at ${found}; write "${program}", or check a version with environment_checks)`;
}

async function checkService(
  service: string,
  systemd: boolean,
  env: NodeJS.ProcessEnv,
): Promise<RequirementResult> {
  const name = `required_services.${service}`;
  // The same probe as the service_running() condition, so a manifest's requirement and its
  // conditionals never disagree about one service: in containers and on other inits, a process
  // of that name running is the service running.
  if (!systemd) {
    if (await processRunning(service, env))
      return {
        name,
        ok: true,
        detail: `running (no systemd on this host: a process of that name runs, ${processSearch(service)})`,
      };
    const script = await initScriptRunning(service, env);
    const searched = `no process named ${service} is running (no systemd on this host, so the process list was searched: ${processSearch(service)})`;
    return {
      name,
      ok: script?.running === true,
      detail:
        script === undefined
          ? searched
          : script.running
            ? `running (no systemd on this host: ${INIT_SCRIPT_DIR}/${service} status says so)`
            : `${searched}, and ${script.answer}`,
    };
  }
  const active = await systemdServiceActive(service, env);
  return {
    name,
    ok: active,
    detail: active ? "active (systemd)" : `${service} is not active (systemctl is-active)`,
  };
}

async function checkEnvironment(
  check: Requirements["environment_checks"][number],
  cwd: string,
  env: NodeJS.ProcessEnv,
  releaseDir: string | undefined,
): Promise<RequirementResult> {
  // A command of the release's manifest, as hooks are: it starts from their clean environment, or
  // the agent's secrets (an SFTP passphrase_env, the hub token) could be printed into the failure
  // ship shows, logs and reports to the hub.
  const result = await runShell(check.command, {
    cwd,
    env: cleanEnvironment(env),
    timeoutMs: timerMs(check.timeout),
  });
  const last = lastLine(result.output);
  const said = last === undefined ? "" : `: ${last}`;
  const program = quotedCommand(check.command);
  let detail: string;
  if (result.ok) {
    const despite = await succeededDespite(check.command, cwd).catch(() => "");
    detail = `passed (${program})${despite === "" ? "" : `, but ${despite}`}`;
  } else if (result.spawnError !== undefined) detail = `could not start: ${result.spawnError}`;
  else if (result.timedOut) detail = `timed out after ${check.timeout} s and was killed (${program})${said}`;
  else {
    const shellSignal = shellCodeSignal(result.exitCode);
    const how =
      result.signal !== null
        ? `killed by ${result.signal}`
        : `exit code ${result.exitCode}${shellSignal === undefined ? "" : `, ${shellCodeNote(shellSignal)}`}`;
    detail = `${how} (${program})${said}`;
    detail +=
      (await notYetInstalled(check.command, cwd, releaseDir, "requirements are checked")) ||
      (await unrunnableProgram(check.command, cwd, result.exitCode));
  }
  return { name: `environment_checks.${check.name}`, ok: result.ok, detail };
}
