/**
 * `ship agent [--config PATH]`: the daemon. Recovers whatever a killed run left, then obeys the hub
 * in `[hub]` until SIGTERM/SIGINT; a second signal exits at once with 128+signal (the journal makes
 * that safe).
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { placedMessage } from "../../../shared/config/key-positions.js";
import { defaultConfigPath } from "../../../shared/config/load.js";
import type { AgentConfig } from "../../../shared/config/schema.js";
import { BadInputError, ExitCode, formatIssue } from "../../../shared/errors.js";
import { type Logger, reopenLogFiles } from "../../../shared/log.js";
import { AgentDaemon, type AgentDaemonOptions } from "../../daemon/agent-daemon.js";
import { configChangeCheck } from "../../daemon/config-changed.js";
import { type DaemonConfig, loadDaemonConfig } from "../../daemon/daemon-config.js";
import { ownCodeCheck } from "../../daemon/own-code.js";
import { redactUrl } from "../../download/redact.js";
import { acquireLock } from "../../lock/run-lock.js";
import { checkSourceFiles } from "../../pipeline/configured-files.js";
import { recover } from "../../pipeline/index.js";
import { lockDir } from "../../pipeline/paths.js";
import { noteShipDirs, type UntouchedDirs } from "../../pipeline/untouched-dirs.js";
import { readState } from "../../state/state-file.js";
import { noteDaemonStarted, noteDaemonUp } from "../daemon-started.js";
import { cliLogger } from "../logger.js";
import { onStopSignals, signalExitCode } from "../stop-signals.js";

/** How often an idle agent looks for an upgrade or an edited ship.toml. */
const IDLE_CHECK_MS = 5_000;

export async function agentCommand(options: { config?: string }): Promise<number> {
  const path = options.config ?? defaultConfigPath(process.cwd());
  const configChanged = await configChangeCheck(
    path,
    (message) => log.warn(message),
    (file) => loadDaemonConfig(file),
  );
  let untouched: UntouchedDirs | undefined;
  const { config, log, identity } = await loadDaemonConfig(path, {
    onWarnings: (warnings) => {
      for (const warning of warnings) process.stderr.write(`ship: ${formatIssue(warning)}\n`);
    },
    logFor: async (loaded) => {
      // Before the logger, which creates the log file: a start refused for bad input leaves none.
      untouched = await noteShipDirs(loaded);
      return cliLogger({}, loaded, path).child({ mode: "agent" });
    },
  });
  // A start refused for bad input from here on (a damaged state or desired-state file) leaves
  // ship's directories as it found them, as a refused run does: the log file, locks/ and the state
  // directory it made for the start went with the refusal.
  const start = () => startAgent(path, config, log, identity, configChanged);
  return untouched === undefined ? start() : untouched.guard(start);
}

async function startAgent(
  path: string,
  config: DaemonConfig["config"],
  log: Logger,
  identity: DaemonConfig["identity"],
  configChanged: () => Promise<boolean>,
): Promise<number> {
  // logrotate's `postrotate systemctl kill -s HUP ship-agent` (the daemons' convention): Node's
  // default for SIGHUP killed the agent, mid-update too, and nothing reopened a rotated log file.
  process.on("SIGHUP", () => {
    const reopened = reopenLogFiles();
    log.info(
      reopened > 0 ? "SIGHUP: log file reopened" : "SIGHUP: no log file to reopen (logging to stderr)",
    );
  });
  // A damaged state file (cut short, a hand-edited time: last_update "yesterday") stops the start,
  // as it stops a run: the daemon ran on, its start-up recovery failing on it and every hello it
  // built too ("could not announce to the hub"), connected but never listed online, for ever.
  await readState(config.general.state_file);
  await warnAppsThatWillFail(config, path, log);
  // After the checks that stop the start, so a bad token file is still its one line. The hub lists
  // an agent with no apps and leaves it out of every rollout, and nothing said why (the [hub] block
  // uncommented, the hub-mode [sources.…] left commented out, say).
  if (!Object.values(config.sources).some((s) => s.enabled))
    log.warn(
      `${path} has no enabled [sources.APP]: this agent announces no apps and takes no hub releases (add [sources.APP] with type = "hub" and app_dir for each app)`,
    );
  // One daemon per state directory, for its whole life: a second one (a unit enabled twice, a
  // manual start beside the service) shared the outbox and desired state, and the hub dropped each
  // one's connection for the other's, over and over. It exits 75 naming the holder instead.
  const daemonLock = await acquireLock(join(lockDir(config), "agent.lock"), log);
  // Told (at most once) when an upgrade replaced ship's files under this agent (own-code.ts) or
  // ship.toml was edited since it was read (config-changed.ts).
  const restart: { reason?: string; handle?: (reason: string) => void } = {};
  const onRestartNeeded = (reason: string) => {
    if (restart.reason !== undefined) return;
    restart.reason = reason;
    restart.handle?.(reason);
  };
  // This file's directory: in the installed package, the bundle of the agent CLI's chunks.
  const ownCodeGone = ownCodeCheck(dirname(fileURLToPath(import.meta.url)));
  const restartNeeded = async () => {
    const missing = await ownCodeGone();
    if (missing !== undefined)
      return `ship was upgraded under this agent (${missing} is gone): exiting ${ExitCode.locked} to be started again with the new version`;
    if (await configChanged())
      return `${path} changed since this agent read it: exiting ${ExitCode.locked} to be started again with it`;
    return undefined;
  };
  // Listening from before the start-up recovery: a stop while it restored an app (its rollback hooks
  // running) got Node's default, death mid-restore, and a stopped agent left the app a mix of the
  // two versions until its next start. Now the app in hand is finished and no further one started.
  const stop: { during?: (signal: NodeJS.Signals) => void } = {};
  const signals = onStopSignals(log, (signal) => {
    if (stop.during !== undefined) return stop.during(signal);
    log.info("stopping: finishing the start-up recovery of the app in hand first", { signal });
  });
  let started: AgentDaemon | StoppedInRecovery;
  try {
    started = await startDaemon(config, path, identity, log, {
      restartNeeded,
      onRestartNeeded,
      stopRequested: () => signals.received !== undefined,
    });
  } catch (error) {
    // A start that fails (a desired-state file that is not JSON, say) must not leave its lock for
    // the next start to call stale, or to take for a live daemon's when the pid is reused.
    await daemonLock.release().catch(() => undefined);
    throw error;
  }
  if (!(started instanceof AgentDaemon)) {
    await daemonLock.release().catch(() => undefined);
    return stoppedInRecovery(started, signals.received ?? "SIGTERM", log);
  }
  const running = started;
  log.info("agent started", { agentId: identity.agentId, hub: redactUrl(config.hub.url) });
  noteDaemonStarted();

  return new Promise<number>((resolve) => {
    let finishing = false;
    const finish = (code: number) => {
      if (finishing) return;
      finishing = true;
      running
        .stop()
        .then(
          () => code,
          () => ExitCode.updateFailedRestored,
        )
        .then(async (exitCode) => {
          await daemonLock.release().catch(() => undefined);
          resolve(exitCode);
        });
    };
    // Not 0: systemd restarts the unit (Restart=on-failure), and with it the new code or config.
    restart.handle = (reason) => {
      log.warn(running.idle ? reason : `${reason}; the instruction waits on disk`);
      clearInterval(idleCheck);
      finish(ExitCode.locked);
    };
    // Idle too, not only before an instruction: an edit the hub must hear of (labels, an app
    // disabled) or one that lets the agent reach the hub at all ([hub] url, ca_file) was never
    // taken up while no instruction came, and none comes to an agent that cannot connect.
    const idleCheck = setInterval(() => {
      if (!running.idle || restart.reason !== undefined) return;
      void restartNeeded().then((reason) => {
        if (reason !== undefined && running.idle) onRestartNeeded(reason);
      });
    }, IDLE_CHECK_MS);
    idleCheck.unref();
    if (restart.reason !== undefined) restart.handle(restart.reason);
    // A second signal exits 128+signal (143 for SIGTERM): it cut the running instruction short,
    // which exit 0 told systemd was a clean stop.
    stop.during = (signal) => {
      // Said only when one runs: "finishing the running instruction" while idle sent operators
      // looking for an update that was not there.
      log.info(running.idle ? "stopping" : "stopping: finishing the running instruction first", { signal });
      clearInterval(idleCheck);
      finish(ExitCode.ok);
    };
    // A stop that came while the daemon was connecting, after the recovery.
    if (signals.received !== undefined) stop.during(signals.received);
  });
}

/** A stop during the start-up recovery: the apps it did not reach, and whether a recovery failed. */
interface StoppedInRecovery {
  notStarted: string[];
  restoreFailed: boolean;
}

/**
 * The exit of an agent stopped during its start-up recovery: 0 when every app was recovered (the
 * stop came during the last one), else 143 (130 for SIGINT) naming the apps it never reached, as
 * `ship --recover` does, and 3 when a recovery failed. It was 0 either way, so a unit stopped there
 * read as cleanly stopped with apps still to recover, and a SIGTERM from anything but systemctl left
 * them so (Restart=on-failure restarts it now, and the start recovers them).
 */
function stoppedInRecovery(stopped: StoppedInRecovery, signal: NodeJS.Signals, log: Logger): number {
  if (stopped.notStarted.length === 0 && !stopped.restoreFailed) {
    log.info("stopped during the start-up recovery; not connecting to the hub");
    return ExitCode.ok;
  }
  const left =
    stopped.notStarted.length === 0
      ? ""
      : `: not recovered: ${stopped.notStarted.join(", ")} (the next start recovers them)`;
  log.warn(`stopped by ${signal} during the start-up recovery${left}; not connecting to the hub`);
  return stopped.restoreFailed ? ExitCode.restoreFailed : signalExitCode(signal);
}

/** Recovers what a killed run left, then starts the daemon (its desired state read from disk). */
async function startDaemon(
  config: AgentConfig,
  path: string,
  identity: { agentId: string; token: string },
  log: Logger,
  restart: Pick<AgentDaemonOptions, "restartNeeded" | "onRestartNeeded"> & { stopRequested: () => boolean },
): Promise<AgentDaemon | StoppedInRecovery> {
  const { stopRequested, ...restartHooks } = restart;
  const recovered = await recover(config, log, undefined, stopRequested);
  for (const app of recovered.apps) {
    if (app.detail !== "") log.info(`recovery: ${app.source}: ${app.detail}`);
    for (const warning of app.warnings ?? []) log.warn(`recovery: ${app.source}: WARNING: ${warning}`);
  }
  const restoreFailed = recovered.exitCode === ExitCode.restoreFailed;
  if (restoreFailed) {
    // Keep running: the hub must hear about the app that needs a person, and other apps still work.
    log.error("recovery of an interrupted update failed; the app needs a person");
  }
  // Stopped meanwhile: the app in hand was finished; the others are recovered by the next start.
  if (stopRequested()) return { notStarted: recovered.notStarted ?? [], restoreFailed };
  const daemon = new AgentDaemon({
    config,
    configFile: path,
    agentId: identity.agentId,
    token: identity.token,
    log,
    ...testTimings(),
    ...restartHooks,
    onAnnounced: noteDaemonUp,
  });
  await daemon.start();
  return daemon;
}

/**
 * SHIP_AGENT_FAST=1 (tests and the demo) drops retry delays and reconnects quickly. Production
 * timings are the defaults; nothing else changes.
 */
function testTimings(): {
  delayScale?: number;
  retryDelayMs?: number;
  reconnectBaseMs?: number;
  retryLaterMs?: number;
  heartbeatMs?: number;
  reportResendMs?: number;
  handChangeCheckMs?: number;
} {
  if (process.env.SHIP_AGENT_FAST !== "1") return {};
  return {
    delayScale: 0,
    retryDelayMs: 0,
    reconnectBaseMs: 100,
    retryLaterMs: 500,
    heartbeatMs: 1_000,
    reportResendMs: 1_000,
    // A test that runs ship by hand beside the daemon waits for the hub to hear of it (5 s by default).
    handChangeCheckMs: 1_000,
  };
}

/**
 * An app whose keys cannot work (a malformed checksum, a missing key file, an app_dir ship may not
 * write) fails each of its hub instructions with that line while the agent's other apps go on. The
 * agent used to start without a word of it: the first sign was a rollout failing on the host.
 */
async function warnAppsThatWillFail(config: AgentConfig, path: string, log: Logger): Promise<void> {
  for (const [name, source] of Object.entries(config.sources)) {
    if (!source.enabled) continue;
    const problem = await checkSourceFiles(config, name, source, path).then(
      () => undefined,
      // Anything else is met again, and reported, by the instruction that runs the same check.
      (error: unknown) => (error instanceof BadInputError ? placedMessage(error) : undefined),
    );
    if (problem !== undefined)
      log.warn(
        `${name}: ${problem}: each hub release of ${name} fails on this until it is fixed (the agent's other apps go on)`,
        { app: name },
      );
  }
}
