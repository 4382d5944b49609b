import type { Logger } from "../../shared/log.js";
import type { Hello, Progress, Report } from "../../shared/protocol/messages.js";
import { isDatabaseUnreachable } from "../api/app.js";
import type { LiveSession, LiveSessions } from "../auth/live-sessions.js";
import { OnceAMinuteLog } from "../once-a-minute-log.js";
import type { AgentSync, IncomingReport } from "../rollouts/agent-sync.js";
import type { Dispatch } from "../rollouts/dispatch.js";

/** The connection a message came on, checked in the transaction that would apply it. */
export interface MessageSession {
  session: LiveSession;
  sessions: LiveSessions;
}

interface Item {
  /** Whose message: one agent's messages apply in arrival order, different agents' concurrently. */
  agentId?: string;
  /**
   * The token session of the connection it came on: a message whose token was revoked (or
   * expired) by the time its transaction runs is dropped, unapplied and unacked, and the
   * connection closed; revocation takes effect at once, not at the next periodic check.
   */
  from?: MessageSession;
  /** A message other than a report, applied in arrival order; its value goes to `committed`. */
  apply?: (dispatch: Dispatch) => Promise<unknown>;
  /** A report: applied with the batch's other reports in set statements. */
  report?: IncomingReport;
  /**
   * A hello: it brings a forgotten agent back into the fleet, so its token is checked again after
   * it wrote (see `EndedDuringApply`).
   */
  hello?: true;
  /** Runs only once the batch committed, e.g. the ack that lets an agent forget a report. */
  committed?: (value: unknown) => void;
  /**
   * Runs when the message could not be applied (its connection must not wait forever); `error`:
   * why, when applying it failed.
   */
  failed?: (error?: unknown) => void;
}

/** How soon a release (an agent's close) that failed for want of the database is tried again. */
const RELEASE_RETRY_MS = 2000;

/**
 * Applies agent messages that arrived while the previous batch was being written in one
 * transaction: thousands of agents reporting at once cost one commit per batch, not one per
 * message, and their reports are stored and applied set-based (a few statements per 1,000
 * reports; row-at-a-time was ~17× slower on PostgreSQL, docs/cluster.md). Acks and instructions
 * leave only after the commit. Batches run one after another, so one agent's hello, reports and
 * close apply in the order they arrived. If a batch fails as a whole, each of its messages is
 * retried in a transaction of its own, so one bad message is logged and skipped (not acked: the
 * agent sends an unacked report again after a wait, unacked-reports.ts) without losing the others; unless the database is unreachable, when each would
 * fail alike.
 */
export class MessageBatch {
  private items: Item[] = [];
  private scheduled = false;
  private closed = false;
  private running: Promise<void> = Promise.resolve();
  /** Settles once the batch scheduled now has been written (or dropped). */
  private scheduledFlush: Promise<void> = Promise.resolve();
  // While the database is away every agent's every message fails alike (and is resent).
  private readonly unreachable: OnceAMinuteLog;
  /** Closes not yet applied because the database was away: agent id → presence epoch. */
  private readonly unreleased = new Map<string, number>();
  private releaseTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly sync: AgentSync,
    private readonly log: Logger,
  ) {
    this.unreachable = new OnceAMinuteLog(log, "agent message could not be applied");
  }

  /** Any message's work; `committed` gets its result after the batch committed. */
  add(apply: (dispatch: Dispatch) => Promise<unknown>, committed?: (value: unknown) => void): void {
    this.push({ apply, ...(committed ? { committed } : {}) });
  }

  /** Resolves with the presence epoch once the hello committed; undefined if it was not applied. */
  hello(agentId: string, hello: Hello, from?: MessageSession): Promise<number | undefined> {
    return new Promise((resolve) =>
      this.push({
        agentId,
        hello: true,
        ...(from ? { from } : {}),
        apply: (d) => this.sync.helloIn(d, agentId, hello),
        committed: (epoch) => resolve(typeof epoch === "number" ? epoch : undefined),
        failed: () => resolve(undefined),
      }),
    );
  }

  progress(agentId: string, progress: Progress, from?: MessageSession): void {
    this.push({
      agentId,
      ...(from ? { from } : {}),
      apply: (d) => this.sync.progressIn(d, agentId, progress),
    });
  }

  /** Releases the agent if this hub still holds it at `epoch` (a stale socket changes nothing). */
  disconnected(agentId: string, epoch: number): void {
    this.push({
      agentId,
      apply: (d) => this.sync.disconnectedIn(d, agentId, epoch),
      failed: (error) => {
        if (error !== undefined && isDatabaseUnreachable(error)) this.releaseLater(agentId, epoch);
      },
    });
  }

  /**
   * A close whose release could not be written (the database away or restarting) is tried again
   * until it is: no agent resends a close, and its row would say online, held by this live hub,
   * for as long as the hub runs — never offline, its deployments never timing out, its rollout
   * waiting for good. The epoch keeps a late release harmless: an agent that said hello again
   * since (here or on another hub) holds a newer one.
   */
  private releaseLater(agentId: string, epoch: number): void {
    if (this.closed) return;
    const known = this.unreleased.get(agentId);
    if (known === undefined || known < epoch) this.unreleased.set(agentId, epoch);
    if (this.releaseTimer !== undefined) return;
    this.releaseTimer = setTimeout(() => {
      this.releaseTimer = undefined;
      const due = [...this.unreleased];
      this.unreleased.clear();
      for (const [id, e] of due) this.disconnected(id, e);
    }, RELEASE_RETRY_MS);
    this.releaseTimer.unref();
  }

  /** `acked` runs once the report is committed (or was already stored: a resend). */
  report(agentId: string, report: Report, acked: () => void, from?: MessageSession): void {
    this.push({ report: { agentId, report }, committed: acked, ...(from ? { from } : {}) });
  }

  private push(item: Item): void {
    if (this.closed) {
      item.failed?.();
      return;
    }
    this.items.push(item);
    if (this.scheduled) return;
    this.scheduled = true;
    this.scheduledFlush = new Promise((done) =>
      setImmediate(() => {
        this.running = this.running.then(() => this.flush());
        this.running.then(done, done);
      }),
    );
  }

  /**
   * Resolves once every message handed in so far has been applied (or dropped): what a judgement
   * of deadlines must see first (a report read after a stall, its batch not yet written).
   */
  settled(): Promise<void> {
    const last = this.scheduled ? this.scheduledFlush : this.running;
    return last.then(
      () => undefined,
      () => undefined,
    );
  }

  /**
   * Drops what is queued (an agent whose message was not committed resends it: reports are
   * unacked) and resolves once the batch being written, if any, has finished.
   */
  close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.releaseTimer);
    this.unreleased.clear();
    this.unreachable.close();
    for (const item of this.items.splice(0)) item.failed?.();
    return this.running;
  }

  private async flush(): Promise<void> {
    this.scheduled = false;
    const items = this.items.splice(0);
    if (this.closed || items.length === 0) {
      for (const item of items) item.failed?.();
      return;
    }
    const values = new Map<Item, unknown>();
    const refused = new Map<Item, string>();
    try {
      await this.sync.engine.run(async (dispatch) => {
        values.clear();
        const live = await withoutEnded(items, dispatch, refused);
        await applyInOrderPerAgent(live, dispatch, values);
        await this.sync.reportsIn(
          dispatch,
          live.flatMap((item) => (item.report ? [item.report] : [])),
        );
        await refuseEndedMeanwhile(live, dispatch);
      });
    } catch (error) {
      if (error instanceof EndedDuringApply) {
        // Rolled back with the others: each is applied again on its own, the revoked hello refused.
        if (items.length === 1) for (const [item, reason] of error.ended) endedSession(item, reason);
        else for (const item of items) await this.one(item);
        return;
      }
      // Without the database each would fail alike, one after another behind the pool's queue.
      if (items.length === 1 || isDatabaseUnreachable(error)) {
        for (const item of items) this.failed(item, error);
        return;
      }
      this.log.warn("agent message batch failed; applying its messages one by one", {
        error: String(error),
        messages: items.length,
      });
      for (const item of items) await this.one(item);
      return;
    }
    for (const item of items) {
      const reason = refused.get(item);
      if (reason !== undefined) endedSession(item, reason);
      else item.committed?.(values.get(item));
    }
  }

  private async one(item: Item): Promise<void> {
    if (this.closed) {
      item.failed?.();
      return;
    }
    let value: unknown;
    const refused = new Map<Item, string>();
    try {
      value = await this.sync.engine.run(async (dispatch) => {
        refused.clear();
        if ((await withoutEnded([item], dispatch, refused)).length === 0) return undefined;
        if (item.report) await this.sync.reportsIn(dispatch, [item.report]);
        const applied = await item.apply?.(dispatch);
        await refuseEndedMeanwhile([item], dispatch);
        return applied;
      });
    } catch (error) {
      if (error instanceof EndedDuringApply) endedSession(item, error.ended.get(item) ?? "token revoked");
      else this.failed(item, error);
      return;
    }
    const reason = refused.get(item);
    if (reason !== undefined) endedSession(item, reason);
    else item.committed?.(value);
  }

  private failed(item: Item, error: unknown): void {
    if (isDatabaseUnreachable(error)) this.unreachable.record(item.agentId, String(error));
    else
      this.log.error("agent message could not be applied", { agentId: item.agentId, error: String(error) });
    item.failed?.(error);
  }
}

/**
 * The items whose connection's token is still in force as `dispatch`'s transaction reads the store;
 * the others go in `refused`. One read of recent revocations per batch (and per sessions registry).
 */
async function withoutEnded(
  items: readonly Item[],
  dispatch: Dispatch,
  refused: Map<Item, string>,
): Promise<Item[]> {
  const byRegistry = new Map<LiveSessions, LiveSession[]>();
  for (const item of items) {
    if (!item.from) continue;
    const list = byRegistry.get(item.from.sessions);
    if (list) list.push(item.from.session);
    else byRegistry.set(item.from.sessions, [item.from.session]);
  }
  if (byRegistry.size === 0) return [...items];
  const ended = new Map<LiveSession, string>();
  for (const [sessions, list] of byRegistry)
    for (const [session, reason] of await sessions.endedIn(dispatch.t, list)) ended.set(session, reason);
  for (const item of items) {
    const reason = item.from && ended.get(item.from.session);
    if (reason) refused.set(item, reason);
  }
  return items.filter((item) => !refused.has(item));
}

/**
 * A hello's token revoked by a forget that committed after the batch read the revocations (on
 * PostgreSQL each statement reads what committed before it): its upsert, which waited on the
 * forget's row lock, cleared `forgotten_at` after it, bringing the agent back into the fleet on a
 * revoked token. Read again after the writes, the revocation is seen; the transaction is rolled
 * back and the hello refused. A forget committing later finds the agent online and is refused.
 */
class EndedDuringApply extends Error {
  constructor(readonly ended: ReadonlyMap<Item, string>) {
    super("a hello's token was revoked while it was applied");
  }
}

async function refuseEndedMeanwhile(items: readonly Item[], dispatch: Dispatch): Promise<void> {
  const hellos = items.filter((item) => item.hello && item.from);
  if (hellos.length === 0) return;
  const ended = new Map<Item, string>();
  await withoutEnded(hellos, dispatch, ended);
  if (ended.size > 0) throw new EndedDuringApply(ended);
}

/** A message refused because its token ended: its connection is closed (once) and it is not acked. */
function endedSession(item: Item, reason: string): void {
  if (item.from) item.from.sessions.close(item.from.session, reason);
  item.failed?.();
}

/**
 * Applies the items' messages: one agent's (and every item without an agent) one after another in
 * arrival order, different agents' concurrently, so on PostgreSQL a reconnect storm's hellos share
 * the transaction's connection pipelined instead of waiting a round trip each. Resolves once all
 * finished (none still uses the transaction), rejecting with the first failure.
 */
async function applyInOrderPerAgent(
  items: readonly Item[],
  dispatch: Dispatch,
  values: Map<Item, unknown>,
): Promise<void> {
  const chains = new Map<string, Promise<void>>();
  for (const item of items) {
    const apply = item.apply;
    if (!apply) continue;
    const key = item.agentId ?? "";
    const previous = chains.get(key) ?? Promise.resolve();
    chains.set(
      key,
      previous.then(async () => {
        values.set(item, await apply(dispatch));
      }),
    );
  }
  const settled = await Promise.allSettled(chains.values());
  const failure = settled.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failure) throw failure.reason;
}
