/**
 * `ship agent`: the hub's instructions become desired state on disk first, then work. One
 * instruction runs at a time; reports go to the outbox before they are sent and leave it only on
 * the hub's ack. Without a hub the daemon still carries out what it was last told.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { AgentConfig } from "../../shared/config/schema.js";
import { errorMessage } from "../../shared/errors.js";
import { fsErrorText } from "../../shared/fs-errors.js";
import type { Logger } from "../../shared/log.js";
import type { Deploy, Hello, HubMessage, Report } from "../../shared/protocol/messages.js";
import { timerMs } from "../../shared/schema/durations.js";
import { removeLeftovers } from "../pipeline/leftovers.js";
import { stateRoot, updatePaths } from "../pipeline/paths.js";
import { AnnouncedApps } from "./announced-apps.js";
import { carryOut } from "./carry-out.js";
import { declined } from "./declined-instruction.js";
import { type AppDesired, DesiredStateStore } from "./desired-state.js";
import { recordEndedInstruction } from "./ended-instruction-state.js";
import { failedReport } from "./failed-report.js";
import { buildHello, type HelloApp } from "./hello.js";
import { HubConnection } from "./hub-connection.js";
import { hubManifestNotice } from "./hub-manifest-notice.js";
import { hubProxyAgent } from "./hub-proxy-agent.js";
import { HubToken } from "./hub-token.js";
import { withInstalledRelease } from "./installed-release.js";
import { versionOnDisk } from "./installed-version.js";
import { fitText, shortenedReport } from "./merge-reports.js";
import { ReportOutbox } from "./outbox.js";
import { RetryLater } from "./retry-later.js";
import { signsOfLife } from "./sign-of-life.js";
import { UnackedReports } from "./unacked-reports.js";

/** An update's notifications, handed over by the pipeline to be sent after its report. */
interface Notifications {
  send?: () => Promise<string[]>;
}

export interface AgentDaemonOptions {
  config: AgentConfig;
  /** The config's path, named in bad-input messages about its keys (default "ship.toml"). */
  configFile?: string;
  agentId: string;
  token: string;
  log: Logger;
  /** Tries of one instruction across crashes before it is reported failed (default 3). */
  maxAttempts?: number;
  /** Wait before retrying an instruction that could not start: app locked, release unreachable (default 10 s). */
  retryLaterMs?: number;
  /** Tests: 0 for post_update_tests retry delays and network backoff. */
  delayScale?: number;
  retryDelayMs?: number;
  reconnectBaseMs?: number;
  pingIntervalMs?: number;
  /**
   * Checked before each instruction: why this process must be started again first (ship's own code
   * replaced by an upgrade, own-code.ts; ship.toml edited, config-changed.ts), or undefined. Then
   * the instruction waits on disk and `onRestartNeeded` is told, to restart and resume it.
   */
  restartNeeded?: () => Promise<string | undefined>;
  /** How often a running instruction tells the hub it is still at work (default 30 s). */
  heartbeatMs?: number;
  /** First wait for a sent report's ack before it is sent again; doubles per try, capped (default 30 s). */
  reportResendMs?: number;
  /** How often an idle agent looks for app changes made by hand, to announce them (default 5 s). */
  handChangeCheckMs?: number;
  onRestartNeeded?: (reason: string) => void;
  /** Told each time the hub was sent this agent's hello (the CLI writes its code cache at the first). */
  onAnnounced?: () => void;
}

const HEARTBEAT_MS = 30_000;
const HAND_CHANGE_CHECK_MS = 5_000;
// Well past a busy hub's ack (a batch's commit), short of a wave's deployment timeout.
const REPORT_RESEND_MS = 30_000;
const REPORT_RESEND_MAX_MS = 120_000;

export function daemonDir(config: AgentConfig): string {
  return join(stateRoot(config), "daemon");
}

export class AgentDaemon {
  private readonly outbox: ReportOutbox;
  /** Reports sent and not acked: sent again on the same connection if no ack comes. */
  private readonly unacked: UnackedReports;
  private readonly desired: DesiredStateStore;
  private readonly connection: HubConnection;
  /** Apps whose desired state may need work. */
  private readonly wanted = new Set<string>();
  /** The instruction being carried out and its last step, for the sign of life. */
  private running: { app: string; deploymentId: string; step: string } | undefined;
  /** Its app as the hello read before the instruction began: what a hello says of it meanwhile. */
  private heldApp: HelloApp | undefined;
  private signOfLifeTimer: NodeJS.Timeout | undefined;
  private handChangeTimer: NodeJS.Timeout | undefined;
  private readonly announced = new AnnouncedApps();
  /** The apps as the last instruction left them, recorded as told: its reports told the hub. */
  private settled: Promise<void> = Promise.resolve();
  /**
   * An attempt since the last drain began was put off to later (retry-later), so no report told
   * the hub what it left: a killed run it recovered first (the app back on its old version).
   */
  private deferred = false;
  /** The hand-change check under way, if any: stop() waits for it (it reads the state dir). */
  private handCheck: Promise<void> | undefined;
  private working: Promise<void> | undefined;
  private stopping = false;
  /**
   * Aborted by stop(): the running instruction's download is dropped rather than finished (nothing
   * is changed before the release is whole). A stop waited for the whole download, up to
   * max_download_seconds, past systemd's TimeoutStopSec, whose SIGKILL then counted an attempt.
   */
  private readonly stopDownloads = new AbortController();
  /** Apps waiting to retry an instruction that could not start, by app. */
  private readonly retries: RetryLater;
  private readonly hubToken: HubToken;
  /** The hub closed the channel on a message over its size limit: reports go out shortened since. */
  private shortenReports = false;

  constructor(private readonly options: AgentDaemonOptions) {
    const { config } = options;
    const hub = config.hub;
    if (hub === undefined) throw new Error("AgentDaemon needs [hub] in ship.toml");
    this.hubToken = new HubToken(
      options.token,
      hub.token_file,
      join(daemonDir(config), "hub.token"),
      options.agentId,
      options.log,
    );
    this.retries = new RetryLater(options.retryLaterMs ?? 10_000, (app) => {
      this.wanted.add(app);
      this.kick();
    });
    this.outbox = new ReportOutbox(join(daemonDir(config), "outbox"), options.log);
    const resendMs = options.reportResendMs ?? REPORT_RESEND_MS;
    this.unacked = new UnackedReports(resendMs, Math.max(resendMs, REPORT_RESEND_MAX_MS), (reportId) => {
      void this.resend(reportId).catch((error: unknown) =>
        this.options.log.warn("resending an unacknowledged report failed", { error: String(error) }),
      );
    });
    this.desired = new DesiredStateStore(join(daemonDir(config), "desired.json"));
    this.connection = new HubConnection({
      hubUrl: hub.url,
      agent: hubProxyAgent(hub.url),
      token: options.token,
      hello: () => this.hello(),
      onMessage: (message) => this.onMessage(message),
      onConnected: () => this.onConnected(),
      refusedToken: this.hubToken,
      onMessageTooBig: () => {
        this.shortenReports = true;
      },
      log: options.log,
      reconnectMaxMs: timerMs(hub.reconnect_max_seconds),
      ...(options.reconnectBaseMs === undefined ? {} : { reconnectBaseMs: options.reconnectBaseMs }),
      ...(options.pingIntervalMs === undefined ? {} : { pingIntervalMs: options.pingIntervalMs }),
    });
  }

  /** Connects, and resumes any instruction that was not finished when the agent last stopped. */
  async start(): Promise<void> {
    this.connection.setToken(await this.hubToken.pick());
    // The agent channel trusts `[hub] ca_file` as the artifact downloads do: without it an agent
    // whose hub sits behind a private CA's certificate reconnected for ever, "unable to verify".
    const caFile = this.options.config.hub?.ca_file;
    if (caFile !== undefined) this.connection.setCa(await readFile(caFile, "utf8"));
    for (const [app, desired] of Object.entries(await this.desired.all())) {
      if (desired.finished !== undefined) continue;
      this.options.log.info("resuming an unfinished instruction", {
        app,
        deployment: desired.instruction.deploymentId,
        version: desired.instruction.release.version,
      });
      this.wanted.add(app);
    }
    this.connection.start();
    this.signOfLifeTimer = setInterval(
      () => void this.signOfLife(),
      this.options.heartbeatMs ?? HEARTBEAT_MS,
    );
    this.signOfLifeTimer.unref();
    this.handChangeTimer = setInterval(() => {
      if (this.handCheck !== undefined) return;
      this.handCheck = this.announceHandChanges()
        .catch((error: unknown) =>
          this.options.log.warn("announcing a change made by hand failed", { error: String(error) }),
        )
        .finally(() => {
          this.handCheck = undefined;
        });
    }, this.options.handChangeCheckMs ?? HAND_CHANGE_CHECK_MS);
    this.handChangeTimer.unref();
    this.kick();
  }

  /** Announces again when an app changed outside the hub's instructions (announced-apps.ts). */
  private async announceHandChanges(): Promise<void> {
    // While an instruction runs its own reports tell the hub; the check waits for it to finish.
    await this.settled;
    if (this.stopping || this.working !== undefined || !this.connection.connected) return;
    let now: Hello;
    try {
      now = await this.hello(false);
    } catch {
      // A state file that cannot be read now is said, once, by the connect that needs it.
      return;
    }
    if (this.working !== undefined || !this.announced.differs(now)) return;
    this.options.log.info(
      "an app on this host changed outside the hub (a ship run by hand?): announcing it again",
      {
        apps: now.apps.map((a) => `${a.app}@${a.version ?? "none"} (${a.state})`),
      },
    );
    await this.connection.announce();
  }

  private async signOfLife(): Promise<void> {
    for (const message of await signsOfLife(this.running, this.wanted, this.desired))
      this.connection.send(message);
  }

  /** Starts no new work, lets the running instruction finish, then disconnects. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.retries.takeAll();
    this.stopDownloads.abort();
    await this.working;
    clearInterval(this.signOfLifeTimer);
    clearInterval(this.handChangeTimer);
    // Reads of the state dir still under way would hold it open past stop (a tmpfs under it
    // could not be unmounted; a caller removing the dir would race them).
    await this.settled;
    await this.handCheck;
    this.unacked.stop();
    await this.connection.stop();
  }

  get idle(): boolean {
    return this.working === undefined;
  }

  private async onMessage(message: HubMessage): Promise<void> {
    switch (message.type) {
      case "deploy":
        await this.onDeploy(message);
        return;
      case "ack":
        this.unacked.done(message.reportId);
        await this.outbox.ack(message.reportId);
        return;
      case "check_now":
        await this.connection.announce();
        return;
      case "token": {
        const refusal = await this.hubToken.renewed(message.token);
        if (refusal !== undefined) {
          this.options.log.error(`kept this agent's token: the hub sent one that ${refusal}`);
          return;
        }
        this.connection.setToken(message.token);
        this.options.log.info("the hub renewed this agent's token", { expires: message.expires });
        return;
      }
      case "error":
        this.options.log.warn("the hub refused a message", { message: message.message });
        return;
    }
  }

  private async onDeploy(deploy: Deploy): Promise<void> {
    const done = await this.desired.finished(deploy.deploymentId);
    if (done !== undefined && !(await this.declinedBefore(deploy, done.report))) {
      // Already carried out: the hub missed the report (or its ack). Same reportId, so no double count.
      this.options.log.info("instruction already finished; re-sending its report", {
        deployment: deploy.deploymentId,
      });
      this.sendReport(done.report);
      return;
    }
    if (done !== undefined)
      this.options.log.info("instruction this agent declined before sent again: carrying it out anew", {
        deployment: deploy.deploymentId,
        declined: done.report.error ?? done.report.outcome,
      });
    try {
      await this.desired.put(deploy, new Date());
    } catch (error) {
      // Unrecorded, the instruction would be lost on a restart: refuse it and say why at once.
      const why = `the agent could not record the instruction: ${fsErrorText(error)}`;
      this.options.log.error(why, { app: deploy.app, deployment: deploy.deploymentId });
      const report = failedReport(deploy, await versionOnDisk(this.options.config, deploy.app), why);
      await this.outbox.put(report).catch(() => undefined);
      this.sendReport(report);
      return;
    }
    this.options.log.info("instruction received", {
      app: deploy.app,
      deployment: deploy.deploymentId,
      version: deploy.release.version,
      rollback: deploy.rollback,
    });
    this.wanted.add(deploy.app);
    this.kick();
  }

  /**
   * Whether the record's answer declined the instruction (refused or skipped it), so a second send
   * is carried out anew (declined-instruction.ts). Not the answer of one given up after its
   * attempts: that guard against a host that dies in every run stands (a re-send on the reconnect
   * after the last one would start the runs over).
   */
  private async declinedBefore(deploy: Deploy, report: Report): Promise<boolean> {
    if (!declined(report)) return false;
    const desired = await this.desired.get(deploy.app);
    return desired?.instruction.deploymentId !== deploy.deploymentId || desired.attempts <= this.maxAttempts;
  }

  private get maxAttempts(): number {
    return this.options.maxAttempts ?? 3;
  }

  private kick(): void {
    if (this.working !== undefined || this.stopping || this.wanted.size === 0) return;
    this.deferred = false;
    this.working = this.drain().finally(() => {
      this.working = undefined;
      // Without this, every instruction carried out read as a change by hand: one needless hello
      // per agent per deployment, a fleet's worth of them after each wave. Not after an attempt
      // put off to later: nothing told the hub what it changed (a killed run it recovered first),
      // and recorded as told, the hub listed the app as the killed run's start found it until the
      // update's report, hours on with its release server away. The idle check announces it.
      if (!this.deferred)
        this.settled = this.hello(false).then(
          (hello) => this.announced.record(hello),
          () => undefined,
        );
      this.kick();
    });
  }

  private async drain(): Promise<void> {
    while (!this.stopping) {
      const app = this.wanted.values().next().value;
      if (app === undefined) return;
      this.wanted.delete(app);
      const desired = await this.desired.get(app);
      if (desired === undefined || desired.finished !== undefined) continue;
      const reason = await this.options.restartNeeded?.();
      if (reason !== undefined) {
        // Carried out by the agent started again (new code, new config): it resumes it from disk.
        this.wanted.add(app);
        this.options.onRestartNeeded?.(reason);
        return;
      }
      try {
        await this.execute(app, desired);
      } catch (error) {
        this.options.log.error("carrying out an instruction failed unexpectedly", {
          app,
          error: String(error),
        });
      }
    }
  }

  private async execute(app: string, { instruction }: AppDesired): Promise<void> {
    let report: Report | undefined;
    const notifications: Notifications = {};
    try {
      report = await this.attempt(app, instruction, notifications);
    } catch (error) {
      // Whatever broke (a full disk under the state directory, say), the hub hears of it: an
      // instruction that ends in a log line only would show as in progress forever.
      report = failedReport(
        instruction,
        await versionOnDisk(this.options.config, app),
        `the agent could not carry this out: ${fsErrorText(error)}`,
      );
      await recordEndedInstruction(this.options.config, app, report.error ?? "", this.options.log);
      notifications.send ??= await this.hubManifestNotice(instruction, report);
    }
    if (report === undefined) return;
    await this.finish(app, instruction, report);
    await this.notify(app, notifications);
  }

  /**
   * The update's on_success/on_failure, after its report went to the hub: a webhook that hung held
   * the report, and the wave behind it, for its timeout and retries. What did not arrive is a
   * WARNING of the agent's log, as a timer run prints it; the report has gone by then.
   */
  private async notify(app: string, notifications: Notifications): Promise<void> {
    if (notifications.send === undefined) return;
    const undelivered = await notifications
      .send()
      .catch((error: unknown) => [`notifications could not be sent: ${errorMessage(error)}`]);
    for (const line of undelivered) this.options.log.warn(`${app}: WARNING: ${line}`, { app });
  }

  /** The on_failure of an instruction that never reached the pipeline's end (hub-manifest-notice.ts). */
  private hubManifestNotice(
    instruction: Deploy,
    report: Report,
  ): Promise<(() => Promise<string[]>) | undefined> {
    const { config, configFile, log } = this.options;
    return hubManifestNotice({
      config,
      ...(configFile === undefined ? {} : { configFile }),
      instruction,
      error: report.error ?? "",
      log,
    }).catch(() => undefined);
  }

  /** The instruction's report, or undefined when it could not start and is retried later. */
  private async attempt(
    app: string,
    instruction: Deploy,
    notifications: Notifications,
  ): Promise<Report | undefined> {
    const { log, config } = this.options;
    const id = instruction.deploymentId;
    const attempts = await this.desired.startAttempt(app, id);
    if (attempts > this.maxAttempts) {
      // The killed attempts may have left a staged release and a partial download behind.
      const source = config.sources[app];
      if (source !== undefined) await removeLeftovers(updatePaths(config, app, source));
      const report = failedReport(
        instruction,
        await versionOnDisk(this.options.config, app),
        `the agent stopped ${attempts - 1} times while carrying this out; not trying again`,
      );
      await recordEndedInstruction(config, app, report.error ?? "", log);
      // No attempt reached the pipeline's end, which sends on_failure: a kill in each download left
      // the people the release names untold while the hub counted the host failed.
      notifications.send = await this.hubManifestNotice(instruction, report);
      return report;
    }
    this.running = { app, deploymentId: id, step: "started" };
    // Mid-update the files are the release's before its tests pass: a hello then (a reconnect, the
    // hub restarted) announced the release as installed, and the hub took the host for updated —
    // sending the next wave the release — while its test was still to fail and restore it.
    this.heldApp = await this.hello(false).then(
      (hello) => hello.apps.find((a) => a.app === app),
      () => undefined,
    );
    const result = await carryOut({
      config,
      ...(this.options.configFile === undefined ? {} : { configFile: this.options.configFile }),
      instruction,
      hubUrl: config.hub?.url ?? "",
      token: this.hubToken.token,
      log: log.child({ deployment: id }),
      progress: (event) => {
        if (this.running !== undefined) this.running.step = event.step;
        this.connection.send({ type: "progress", v: 1, deploymentId: id, ...event });
      },
      ...(this.options.delayScale === undefined ? {} : { delayScale: this.options.delayScale }),
      ...(this.options.retryDelayMs === undefined ? {} : { retryDelayMs: this.options.retryDelayMs }),
      notifyAfter: (send) => {
        notifications.send = send;
      },
      stop: this.stopDownloads.signal,
    }).finally(() => {
      this.running = undefined;
      this.heldApp = undefined;
    });
    if (result.kind === "report") return result.report;
    // Not an attempt: nothing was changed, and counting it would give up on a flaky network.
    await this.desired
      .abandonAttempt(app, id)
      .catch((error: unknown) =>
        log.error("could not take back the attempt in the desired state", { app, error: fsErrorText(error) }),
      );
    this.deferred = true;
    if (this.stopping) {
      log.info("stopped before the update changed anything: the next start carries this instruction out", {
        app,
        deployment: id,
        reason: result.reason,
      });
      return undefined;
    }
    log.warn("could not start this instruction now; trying again later", { app, reason: result.reason });
    this.retries.schedule(app);
    return undefined;
  }

  private async finish(app: string, instruction: Deploy, finished: Report): Promise<void> {
    const { log } = this.options;
    const id = instruction.deploymentId;
    this.retries.done(app);
    let report = finished;
    let stored = false;
    try {
      report = await withInstalledRelease(
        this.desired,
        this.options.config.general.state_file,
        instruction,
        finished,
      );
      // Outbox first: a crash after this line resends the report; before it, the instruction reruns.
      await this.outbox.put(report);
      stored = true;
      await this.desired.markFinished(app, id, report, new Date());
    } catch (error) {
      // The report still goes out (the outbox keeps it in memory until the hub acks it), and it
      // says that this host could not record it.
      const why = `the agent could not record this on its disk: ${fsErrorText(error)}`;
      log.error(why, { app, deployment: id });
      report = {
        ...report,
        error: fitText([report.error, why].filter((e) => e !== undefined).join("; "), 10_000),
      };
      if (!stored) await this.outbox.put(report).catch(() => undefined);
    }
    // A failed one at ERROR: one the pipeline never ran (no [sources.APP], the release installed but
    // broken) said so only at INFO, and under level = "WARNING" or `journalctl -p warning` the host
    // showed nothing of a deployment the hub counted failed. A skip (the hub counts it failed too) at WARNING.
    const level =
      report.outcome === "failed" || report.outcome === "restore_failed"
        ? "error"
        : report.outcome === "skipped"
          ? "warn"
          : "info";
    log[level]("instruction finished", { app, deployment: id, outcome: report.outcome, error: report.error });
    this.sendReport(report);
  }

  /** A report as the hub takes it: shortened once the hub refused one as too large (its id kept). */
  private sendReport(report: Report): void {
    this.connection.send(this.shortenReports ? shortenedReport(report) : report);
    this.unacked.sent(report.reportId);
  }

  /** A report whose ack did not come: sent again as the outbox holds it, unless acked meanwhile. */
  private async resend(reportId: string): Promise<void> {
    const report = (await this.outbox.pending()).find((r) => r.reportId === reportId);
    // Acked meanwhile; or the hub is away, and the next connect sends the whole outbox anyway.
    if (report === undefined || !this.connection.connected) {
      this.unacked.done(reportId);
      return;
    }
    this.options.log.info("no acknowledgement from the hub for a report; sending it again", {
      report: reportId,
      deployment: report.deploymentId,
    });
    this.sendReport(report);
  }

  private async onConnected(): Promise<void> {
    for (const report of await this.outbox.pending()) this.sendReport(report);
    // A hub that is back is worth trying again at once for whatever waits on it.
    const waiting = this.retries.takeAll();
    for (const app of waiting) this.wanted.add(app);
    if (waiting.length > 0) this.kick();
    this.options.onAnnounced?.();
  }

  /** The hello as it reads now; `sent` records it as the one the hub was told last. */
  private async hello(sent = true): Promise<Hello> {
    const hello = await buildHello(
      this.options.config,
      this.options.agentId,
      await this.desired.all(),
      await this.desired.installedReleases(),
      this.heldApp,
    );
    if (sent) this.announced.record(hello);
    return hello;
  }
}
