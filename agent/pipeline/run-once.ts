/**
 * `ship --config ship.toml`: one run over the configured sources under the global run lock,
 * honouring the once-a-day rule (general.min_interval_hours, bypassed by --force).
 */
import type { AgentConfig, Source } from "../../shared/config/schema.js";
import { BadInputError, ExitCode, LockedError } from "../../shared/errors.js";
import type { Logger } from "../../shared/log.js";
import { acquireLock, type HeldLock } from "../lock/run-lock.js";
import { readState, recordLastRun } from "../state/state-file.js";
import { checkScratch } from "./check-scratch.js";
import { checkRunSources } from "./configured-files.js";
import { defaultPorts } from "./default-ports.js";
import { refuseNoSources } from "./no-sources.js";
import { globalLockFile } from "./paths.js";
import type { PipelinePorts } from "./ports.js";
import { recoverLeftBehind } from "./recover.js";
import { type AppReport, combinedExitCode } from "./report.js";
import { DEFAULT_COMMAND_TIMEOUT_SECONDS } from "./run-commands.js";
import { runSource } from "./run-source.js";

export interface RunOptions {
  force: boolean;
  /** Only these sources (`--sources`); unknown names are bad input. */
  sources?: string[];
  checkOnly: boolean;
  /** ship.toml's path, for messages about the files its keys name. */
  configFile?: string;
  log: Logger;
  now?: Date;
  /** Accept a release older than the installed version (also `[trust] allow_downgrade`). */
  allowDowngrade?: boolean;
  /** Install even when the manifest's staged rollout says this host waits (`--ignore-rollout`). */
  ignoreRollout?: boolean;
  /** The modules the pipeline drives; defaultPorts() unless a test passes its own. */
  ports?: PipelinePorts;
  /** Multiplies post_update_tests retry_delay (tests: 0). */
  delayScale?: number;
  /** Timeout of hooks/migrations/cleanup commands without their own (default 300 s). */
  commandTimeoutSeconds?: number;
  notifyRetryDelayMs?: number;
  notifyMaxTimeoutMs?: number;
  /** Asked before each source: true (SIGTERM) starts no more; the running one finishes. */
  stopRequested?: () => boolean;
}

export interface RunSummary {
  /** DESIGN.md exit code: 0, 1, 2, 3, 75 or 100. */
  exitCode: ExitCode;
  /** One line for the operator. */
  message: string;
  apps: AppReport[];
  /** Set when the once-a-day rule stopped the run. */
  notBefore?: string;
  /** Sources a stop (stopRequested) left unstarted: nothing of theirs changed. */
  notStarted?: string[];
}

const HOUR_MS = 60 * 60 * 1000;

export async function runOnce(config: AgentConfig, options: RunOptions): Promise<RunSummary> {
  refuseNoSources(config, options.configFile ?? "ship.toml");
  if (!options.checkOnly) return runWith(config, options);
  const scratch = await checkScratch(config);
  try {
    return await runWith(scratch.config, options);
  } finally {
    await scratch.remove();
  }
}

async function runWith(config: AgentConfig, options: RunOptions): Promise<RunSummary> {
  const selected = selectSources(config, options.sources, options.log);
  await checkRunSources(config, selected, options.configFile ?? "ship.toml", !options.checkOnly);
  const now = options.now ?? new Date();
  const ports = options.ports ?? defaultPorts(config.trust);
  let lock: HeldLock;
  try {
    lock = await acquireLock(globalLockFile(config), options.log);
  } catch (error) {
    if (!(error instanceof LockedError)) throw error;
    options.log.error(error.message);
    return { exitCode: ExitCode.locked, message: error.message, apps: [] };
  }
  try {
    // Sources this run does not update (disabled since, or a hub's) still get what a killed run left
    // undone (recover.ts); not those an explicit --sources left out: the operator named what to touch.
    const explicit = options.sources !== undefined && options.sources.length > 0;
    const idle =
      options.checkOnly || explicit
        ? []
        : Object.keys(config.sources).filter((name) => !selected.some(([n]) => n === name));
    // With no source to run (every one disabled or hub-only) there is no day's run to hold back.
    if (!options.checkOnly && !options.force && selected.length > 0) {
      const notBefore = await nextAllowedRun(config, now);
      if (notBefore !== null) {
        const message = `ship ran less than ${config.general.min_interval_hours} h ago; next run after ${notBefore} (--force runs now)`;
        options.log.info(message);
        const names = [...selected.map(([n]) => n), ...idle];
        const recovered = await recoverLeftBehind(config, names, options.log, ports);
        const exitCode = combinedExitCode(recovered.map((a) => a.exitCode));
        return { exitCode, message, apps: recovered, notBefore };
      }
    }
    const apps: AppReport[] = await recoverLeftBehind(config, idle, options.log, ports);
    const notStarted: string[] = [];
    for (const [name, source] of selected) {
      // A stop lands between sources, never inside one: each source's update is whole or undone.
      if (options.stopRequested?.() === true) {
        notStarted.push(name);
        continue;
      }
      apps.push(
        await runSource(config, name, source, {
          checkOnly: options.checkOnly,
          ...(options.configFile === undefined ? {} : { configFile: options.configFile }),
          log: options.log,
          ports,
          settings: {
            allowDowngrade: options.allowDowngrade === true,
            ignoreRollout: options.ignoreRollout === true,
            delayScale: options.delayScale ?? 1,
            defaultCommandTimeoutSeconds: options.commandTimeoutSeconds ?? DEFAULT_COMMAND_TIMEOUT_SECONDS,
            now: () => options.now ?? new Date(),
          },
          ...(options.notifyRetryDelayMs === undefined
            ? {}
            : { notifyRetryDelayMs: options.notifyRetryDelayMs }),
          ...(options.notifyMaxTimeoutMs === undefined
            ? {}
            : { notifyMaxTimeoutMs: options.notifyMaxTimeoutMs }),
        }),
      );
    }
    // A run that every source refused as bad input (exit 2: nothing changed) is not the day's run:
    // recorded, it would make the operator who fixes ship.toml wait a day or use --force.
    const allBadInput = apps.length > 0 && apps.every((a) => a.exitCode === ExitCode.badInput);
    // Nor is a stopped one: recorded, the sources it did not reach would wait a day.
    const stopped = notStarted.length > 0;
    // Nor is one that ran no source: recorded, the source the operator enables next would wait a day.
    const ranNone = selected.length === 0;
    if (!options.checkOnly && !allBadInput && !stopped && !ranNone)
      await recordLastRun(config.general.state_file, now);
    const exitCode = combinedExitCode(apps.map((a) => a.exitCode));
    return { exitCode, message: summaryLine(apps), apps, ...(stopped ? { notStarted } : {}) };
  } finally {
    await lock.release();
  }
}

/**
 * The sources a run updates: those `names` (`--sources`) gives, disabled ones included (the
 * operator asked for exactly those), else the enabled ones that are not hub-only.
 */
export function runSourceNames(config: AgentConfig, names?: readonly string[]): string[] {
  if (names !== undefined && names.length > 0) return [...names];
  return Object.entries(config.sources)
    .filter(([, source]) => source.enabled && source.type !== "hub")
    .map(([name]) => name);
}

function selectSources(config: AgentConfig, names: string[] | undefined, log: Logger): [string, Source][] {
  const all = Object.entries(config.sources);
  if (names === undefined || names.length === 0) {
    for (const [name, source] of all) {
      if (!source.enabled) log.info(`source ${name} is disabled (enabled = false)`);
      else if (source.type === "hub")
        log.info(`source ${name} takes hub releases only (ship agent updates it)`);
    }
    return runSourceNames(config).map((n): [string, Source] => [n, config.sources[n]!]);
  }
  const hubOnly = names.filter((n) => config.sources[n]?.type === "hub");
  if (hubOnly.length > 0)
    throw BadInputError.single(
      "--sources",
      hubOnly.join(" "),
      'type = "hub": releases come from the hub through `ship agent`, not from a ship run',
    );
  const unknown = names.filter((n) => config.sources[n] === undefined);
  if (unknown.length > 0) {
    const known = all.map(([n]) => n).join(", ") || "(none)";
    throw BadInputError.single("--sources", unknown.join(" "), `no such source; configured: ${known}`);
  }
  // Naming a disabled source explicitly runs it: the operator asked for exactly that.
  return names.map((n): [string, Source] => [n, config.sources[n]!]);
}

/**
 * A timer that fires once per interval does not fire exactly one interval apart: ship.timer's
 * RandomizedDelaySec draws a new delay of up to 30 minutes every day, so half of all days' runs
 * would start a few minutes short of 24 h after the last one and be skipped. The rule is meant to
 * stop a second run in the same period (a boot catch-up, a manual start), so a run this share of
 * the interval early (1 h of the default 24 h) still counts as the next period's.
 */
const INTERVAL_GRACE = 1 / 24;

async function nextAllowedRun(config: AgentConfig, now: Date): Promise<string | null> {
  const hours = config.general.min_interval_hours;
  if (hours <= 0) return null;
  const { last_run: lastRun } = await readState(config.general.state_file);
  if (lastRun === null) return null;
  const next = Date.parse(lastRun) + hours * (1 - INTERVAL_GRACE) * HOUR_MS;
  // A last_run in the future (clock set back) must not block updates for days.
  if (Number.isNaN(next) || Date.parse(lastRun) > now.getTime()) return null;
  return next > now.getTime() ? new Date(next).toISOString() : null;
}

function summaryLine(apps: AppReport[]): string {
  if (apps.length === 0) return "no sources to run (every one is disabled or hub-only)";
  return apps.map((a) => a.message).join("\n");
}
