/**
 * Fan-out across hubs that share one PostgreSQL (docs/cluster.md). The database is the truth; a
 * NOTIFY on `ship_rollout` only says "rollout X changed, look now". The notification is raised by
 * a trigger on the rollouts table (PostgreSQL migration 4), so it is sent inside the transaction
 * that changed the rollout and delivered only if that transaction commits, and a report never
 * raises one (reports do not touch the rollout row).
 *
 * Each hub listens here and, on a wake-up, delivers the due pending deployments of that rollout to
 * its own connected agents and wakes its dashboard event stream. A notification can be missed (the
 * listening connection was down, the hub was busy); that costs latency, not correctness: a full
 * resync runs every `resyncMs` and after every (re)connect of the listener, and an agent's hello
 * re-delivers what it is due.
 */
import { randomUUID } from "node:crypto";
import postgres from "postgres";
import { everyAfterInput } from "../../shared/after-input.js";
import type { Logger } from "../../shared/log.js";
import { HubRequestError } from "../errors.js";
import { OnceAMinuteLog } from "../once-a-minute-log.js";
import { ANSWER_TIMEOUT_SECONDS } from "../store/answer-deadline.js";
import { reconnectBackoff, WAKEUP_APPLICATION_NAME } from "../store/postgres-store.js";
import { driverTarget } from "../store/postgres-url.js";
import { monotonicNow } from "./clock.js";

/** The channel the rollouts trigger notifies; the payload is the rollout id. */
export const ROLLOUT_CHANNEL = "ship_rollout";
/**
 * `POST /agents/:id/check` on a hub that does not hold the agent's socket: the payload is the agent
 * id, and the hub holding it sends the agent `check_now` (the others hold no socket and do nothing).
 */
export const CHECK_CHANNEL = "ship_check_now";
/**
 * Each listener notifies itself on a channel of its own (this and a random suffix): its connection
 * answers. Not one shared channel, where every hub would hear every other hub's probes.
 */
const PROBE_CHANNEL_PREFIX = "ship_wakeup_probe_";
/** Often enough that a missed wake-up costs seconds, rarely enough to be no load (one query). */
export const DEFAULT_RESYNC_MS = 3000;
/** LISTENs answered within this long of one another are one reconnect (see startClusterWakeup). */
const RELISTEN_WINDOW_MS = 1000;
/**
 * A delivery or resync that failed is tried again after each of these (then left to the periodic
 * resync and the agents' hellos): right after a database restart a pooled connection the restart
 * ended fails the first statement it is given (57P01), and that was the wake-up's one attempt,
 * so the woken hub's agents waited a whole `cluster_resync_seconds` for a wave already started.
 */
const RETRY_DELAYS_MS = [250, 1000, 3000];

/** What a wake-up does on this hub. */
export interface WakeupTargets {
  /**
   * Sends the due `pending` deployments of this hub's own connected agents: of one rollout, or of
   * every rollout when `rolloutId` is undefined (the resync). Must be safe to call at any time and
   * concurrently with itself on other hubs (markDeploymentsSent decides which hub sends a row).
   * `only`: the agents to deliver to when every notification this delivery answers was the echo
   * of this hub's own create (`echoOf`).
   */
  deliverPending(rolloutId?: string, only?: ReadonlySet<string>): Promise<unknown>;
  /**
   * Asked once per notification heard: when it is the echo of a rollout this hub created itself,
   * the agents whose rows that create left for the wake-up; else undefined.
   */
  echoOf?(rolloutId: string): ReadonlySet<string> | undefined;
  /** Makes the dashboard event stream read new events now instead of at its next poll. */
  wakeEvents(): void;
  /** Asks the agent to check now if its socket is on this hub (a check relayed by another hub). */
  checkNow(agentId: string): void;
}

export interface ClusterWakeupOptions {
  /** The cluster's database; the listener holds one connection of its own. */
  url: string;
  /** Named in the listener's application_name (clusterUpSince tells running hubs by it). */
  hubId?: string;
  log: Logger;
  resyncMs?: number;
  /** How long the listener's probe may go unanswered before its connection is replaced. */
  answerTimeoutMs?: number;
}

export interface ClusterWakeup {
  /** Deliveries and resyncs run so far; tests read them to see a wake-up happened. */
  readonly stats: Readonly<{ wakeups: number; resyncs: number; listens: number }>;
  /** Relays a check to whichever hub holds the agent's socket (committed NOTIFY on CHECK_CHANNEL). */
  relayCheck(agentId: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * Starts listening; resolves once LISTEN succeeded the first time (it rejects when the database
 * cannot be reached at start, which should stop the hub from starting). Afterwards the driver
 * reconnects and re-listens by itself when the connection is lost; every re-listen triggers a
 * resync. A connection that goes silent instead (a NAT or firewall that lost its state, a failover
 * to the same address) is never lost to the driver: the listener would hear nothing for as long as
 * the kernel kept it (for ever behind a relay that acknowledges), cross-hub wake-ups waiting for
 * the resync and checks relayed by other hubs lost. So the listener notifies itself every resync
 * and, when its own probe is not back within `answerTimeoutMs`, is replaced by a new connection.
 */
export async function startClusterWakeup(
  options: ClusterWakeupOptions,
  targets: WakeupTargets,
): Promise<ClusterWakeup> {
  const queue = new WakeupQueue(targets, options.log);
  const answerMs = options.answerTimeoutMs ?? ANSWER_TIMEOUT_SECONDS * 1000;
  let listener: Listener | undefined = await openListener(options, queue, targets);
  let opening: Promise<void> | undefined;
  const reopen = () => {
    opening ??= openListener(options, queue, targets)
      .then((opened) => {
        listener = opened;
        options.log.info("cluster wake-up listener replaced; resyncing");
        queue.resync();
      })
      .catch(() => {}) // the database is away: the next resync tries again
      .finally(() => {
        opening = undefined;
      });
  };
  // Judged after the input that arrived: after this hub stalled past the interval, the probe's
  // answer that came in time is read first, not found missing and a healthy connection replaced.
  const resync = everyAfterInput(options.resyncMs ?? DEFAULT_RESYNC_MS, () => {
    queue.resync();
    if (listener === undefined) return reopen();
    if (!listener.silentFor(answerMs)) return listener.probe();
    options.log.warn("cluster wake-up listener: its connection did not answer; opening a new one", {
      answerTimeoutSeconds: answerMs / 1000,
    });
    listener.end();
    listener = undefined;
    reopen();
  });
  return {
    stats: queue.stats,
    async relayCheck(agentId) {
      await opening;
      if (listener === undefined)
        throw new HubRequestError(
          503,
          "this hub's wake-up connection to the database is being reopened: the check could not be relayed; try again",
        );
      // sql.listen runs on a connection of its own, so this one is free for the NOTIFY.
      await listener.sql.notify(CHECK_CHANNEL, agentId);
    },
    async close() {
      resync.stop();
      queue.stop();
      await opening;
      await listener?.sql.end({ timeout: 1 });
      await queue.idle();
    },
  };
}

interface Listener {
  sql: postgres.Sql;
  /** Sends a probe to itself, unless one is out already. */
  probe(): void;
  /** Whether its probe has been out longer than `ms`. */
  silentFor(ms: number): boolean;
  /** Lets its connections go without waiting for a silent peer. */
  end(): void;
}

async function openListener(
  options: ClusterWakeupOptions,
  queue: WakeupQueue,
  targets: WakeupTargets,
): Promise<Listener> {
  // A pool of its own: sql.listen then owns a dedicated connection that idles forever and is
  // re-opened on loss, and closing it cannot touch the store's pool.
  const target = driverTarget(options.url);
  const sql = postgres(target.url, {
    ...target.options,
    max: 1,
    onnotice: () => {},
    // No array-type lookup at connect: lost mid-way, it rejects unhandled (connectPostgres).
    fetch_types: false,
    // Back soon after the database is: a wake-up missed meanwhile waits for a resync.
    backoff: reconnectBackoff,
    // Names the connection in pg_stat_activity, so an operator sees which one is each hub's listener.
    connection: {
      application_name:
        options.hubId === undefined ? WAKEUP_APPLICATION_NAME : `${WAKEUP_APPLICATION_NAME} ${options.hubId}`,
    },
  });
  const probeChannel = `${PROBE_CHANNEL_PREFIX}${randomUUID().replaceAll("-", "")}`;
  let probeSentAt: number | undefined;
  let first = true;
  let relistenedAt = Number.NEGATIVE_INFINITY;
  try {
    await sql.listen(
      ROLLOUT_CHANNEL,
      (payload) => queue.rollout(payload),
      () => {
        // The driver queues one more LISTEN for each failed attempt while the database is away, and
        // the reconnected connection answers them all at once: one reconnect, one log and resync
        // (a second outage within the window is covered by the periodic resync).
        if (first) {
          first = false;
          queue.stats.listens++;
          return;
        }
        const now = monotonicNow();
        if (now - relistenedAt < RELISTEN_WINDOW_MS) return;
        relistenedAt = now;
        queue.stats.listens++;
        // Not the first LISTEN: the connection was lost and notifications may have gone by.
        options.log.info("cluster wake-up listener reconnected; resyncing");
        queue.resync();
      },
    );
    await sql.listen(CHECK_CHANNEL, (agentId) => {
      if (agentId.length > 0 && agentId.length <= 200) targets.checkNow(agentId);
    });
    await sql.listen(
      probeChannel,
      () => {
        probeSentAt = undefined;
      },
      () => {
        // Listening (again, after a reconnect): a probe sent before could not be heard, and its
        // silence would get this live connection replaced (see `probe`).
        probeSentAt = undefined;
      },
    );
  } catch (error) {
    await sql.end({ timeout: 1 });
    throw error;
  }
  return {
    sql,
    probe() {
      if (probeSentAt !== undefined) return;
      const sentAt = monotonicNow();
      probeSentAt = sentAt;
      // Not awaited: a notify on a silent connection never answers, which silentFor then sees. One
      // that fails (the database restarting or away) was never sent and says nothing of the
      // listener, which its driver reconnects by itself: counted as unanswered, it got the
      // re-listened connection replaced after every database restart, with a warning that it "did
      // not answer". The next resync sends another.
      sql.notify(probeChannel, "").catch(() => {
        if (probeSentAt === sentAt) probeSentAt = undefined;
      });
    },
    // Monotonic: on the wall clock, one set back an hour after a probe went out kept a silent
    // connection (and every relayed check it lost) for the hour.
    silentFor: (ms) => probeSentAt !== undefined && monotonicNow() - probeSentAt > ms,
    end() {
      sql.end({ timeout: 0 }).catch(() => {});
    },
  };
}

/**
 * Coalesces wake-ups: while a delivery runs, further notifications for the same rollout collapse
 * into one more run after it (a burst of N commits costs at most two deliveries, not N), and a
 * pending resync covers every rollout, so single ones queued behind it are dropped. One delivery
 * at a time per hub keeps a burst from opening many transactions at once.
 */
class WakeupQueue {
  readonly stats = { wakeups: 0, resyncs: 0, listens: 0 };
  /**
   * Rollouts to deliver, each with the agents its delivery is limited to while every notification
   * folded into it was this hub's own echo; "all" once any other was (another hub's change).
   */
  private readonly rollouts = new Map<string, ReadonlySet<string> | "all">();
  private resyncDue = false;
  private running: Promise<void> | undefined;
  private stopped = false;
  /** Failed attempts in a row of a rollout's delivery, or of the resync (key ""). */
  private readonly attempts = new Map<string, number>();
  private readonly retryTimers = new Set<NodeJS.Timeout>();
  // While the database is away every resync (each 3 s) and wake-up fails alike.
  private readonly failed: OnceAMinuteLog;

  constructor(
    private readonly targets: WakeupTargets,
    log: Logger,
  ) {
    this.failed = new OnceAMinuteLog(log, "delivering pending deployments failed", monotonicNow, {
      level: "warn",
      subject: "rollout",
    });
  }

  rollout(id: string): void {
    // Payloads come from our own trigger, but a NOTIFY can be sent by anyone with a connection.
    if (id.length === 0 || id.length > 200) return;
    // Asked now, at arrival: each notification is one commit, and only one of them is the echo.
    const echo = this.targets.echoOf?.(id) ?? "all";
    const queued = this.rollouts.get(id);
    this.rollouts.set(
      id,
      queued === undefined
        ? echo
        : queued === "all" || echo === "all"
          ? "all"
          : new Set([...queued, ...echo]),
    );
    this.kick();
  }

  resync(): void {
    this.resyncDue = true;
    this.kick();
  }

  stop(): void {
    this.stopped = true;
    for (const timer of this.retryTimers) clearTimeout(timer);
    this.retryTimers.clear();
    this.failed.close();
  }

  idle(): Promise<void> {
    return this.running ?? Promise.resolve();
  }

  private kick(): void {
    if (this.stopped || this.running) return;
    this.running = this.drain().finally(() => {
      this.running = undefined;
      // A wake-up that arrived after drain() found nothing left but before this callback ran saw
      // `running` still set and did not start a drain: pick it up now, or it waits for a resync.
      if (this.rollouts.size > 0 || this.resyncDue) this.kick();
    });
  }

  private async drain(): Promise<void> {
    while (!this.stopped) {
      if (this.resyncDue) {
        this.resyncDue = false;
        this.rollouts.clear();
        this.stats.resyncs++;
        await this.run(undefined);
        continue;
      }
      const [next] = this.rollouts;
      if (next === undefined) return;
      const [id, only] = next;
      this.rollouts.delete(id);
      this.stats.wakeups++;
      // The dashboard first: it only reads, and an operator watching should see the change even
      // if this hub has nothing to deliver.
      this.targets.wakeEvents();
      await this.run(id, only === "all" ? undefined : only);
    }
  }

  /** A retry (retryLater) is a whole delivery: the echo it answered was taken at its arrival. */
  private async run(rolloutId: string | undefined, only?: ReadonlySet<string>): Promise<void> {
    const key = rolloutId ?? "";
    try {
      await this.targets.deliverPending(rolloutId, only);
      this.attempts.delete(key);
    } catch (error) {
      // A failing database is logged by whoever else uses it too.
      this.failed.record(rolloutId ?? "(resync)", String(error));
      this.retryLater(rolloutId, key);
    }
  }

  /** Queues the failed delivery again after its next delay; past the last, the resync covers it. */
  private retryLater(rolloutId: string | undefined, key: string): void {
    const attempt = this.attempts.get(key) ?? 0;
    const delay = RETRY_DELAYS_MS[attempt];
    if (this.stopped || delay === undefined) {
      this.attempts.delete(key);
      return;
    }
    this.attempts.set(key, attempt + 1);
    const timer = setTimeout(() => {
      this.retryTimers.delete(timer);
      if (rolloutId === undefined) this.resync();
      else this.rollout(rolloutId);
    }, delay);
    timer.unref();
    this.retryTimers.add(timer);
  }
}
