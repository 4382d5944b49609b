/**
 * A cluster hub's wake-up delivery (docs/cluster.md, "Fan-out across hubs"): another hub committed
 * a rollout-level change, and this hub sends the now-due deployments of its own connected agents.
 *
 * It is on the critical path of every cross-hub wave start, so it costs one statement per chunk of
 * agents and nothing else: no BEGIN and COMMIT around it, no read of the rollout before it, no read
 * of the release after it. Each chunk's statement marks its due rows sent and writes their events
 * atomically on its own (autocommit), and that chunk is sent as soon as its statement returned,
 * i.e. committed: never before, so an agent never hears of a mark the database does not hold. A
 * hub that dies between the commit and the send leaves the rows `sent` but undelivered, which the
 * agent's hello (to any hub) re-delivers, as after any failed send. A chunk that fails once its
 * statement may have committed (the release read after it failed, or the statement's answer was
 * lost) may leave its rows `sent` and undelivered too: the rollout's next delivery on this hub
 * (the wake-up queue's retry, 0.25 s on) re-sends that chunk's `sent` rows before it marks
 * anything; else only the resync's unanswered sends (unanswered-sends.ts, 10 s on) reached them.
 * Chunks of one hub's agents are disjoint, so two run at once on the pool's connections without
 * waiting on one another.
 */
import type { AsyncStore } from "../store/async-store.js";
import type { ReleaseRecord } from "../store/store.js";
import { Dispatch, type EngineContext } from "./dispatch.js";
import { isRunningRollout, SENT_DEPLOYMENT_STATES } from "./states.js";

/**
 * Agents per statement, and statements in flight per wake-up. Small chunks, two at a time, so this
 * hub serializes and sends one chunk while the database marks the next: with all of a hub's agents
 * in a few 1,000-agent statements run at once, every statement finished together at the end and
 * only then did any of the hub's agents get its instruction (round 38, docs/cluster.md). Two, not
 * one: a statement's round trip and commit then overlap the other's work in the database.
 */
const CHUNK_AGENTS = 250;
const IN_FLIGHT = 2;
/** Releases kept: a cluster runs a few rollouts at once; each entry is one release's manifest. */
const CACHED_RELEASES = 16;

/**
 * Releases by id, read once per hub rather than on every wake-up: the store has no way to change
 * or delete a published release, so a copy read earlier is the release as stored now.
 */
class ReleaseCache {
  private readonly releases = new Map<string, ReleaseRecord>();

  constructor(private readonly store: Pick<AsyncStore, "getRelease">) {}

  async get(id: string): Promise<ReleaseRecord | undefined> {
    const cached = this.releases.get(id);
    if (cached) return cached;
    const release = await this.store.getRelease(id);
    // A release not found is not remembered: it may be published by the next wake-up.
    if (!release) return undefined;
    if (this.releases.size >= CACHED_RELEASES) {
      const [oldest] = this.releases.keys();
      if (oldest !== undefined) this.releases.delete(oldest);
    }
    this.releases.set(id, release);
    return release;
  }
}

/**
 * A hub's wake-up deliveries (`deliver`): the releases they send, read once, and the chunks of
 * agents whose delivery failed after their rows may have been marked sent, by rollout.
 */
export class WokenDelivery {
  private readonly releases: ReleaseCache;
  /** Agents of a failed chunk, by rollout: their `sent` rows are re-sent by the next delivery. */
  private readonly unsent = new Map<string, Set<string>>();

  constructor(store: Pick<AsyncStore, "getRelease">) {
    this.releases = new ReleaseCache(store);
  }

  /**
   * Marks sent and sends the due `pending` deployments of `rolloutId` whose agents are `agentIds`
   * (those connected to this hub), chunk by chunk as described above, after re-sending what a
   * failed delivery of the rollout may have marked and not sent. Returns how many were sent.
   * `actor` names who sent them in the `deployment.sent` events.
   */
  async deliver(
    ctx: EngineContext,
    rolloutId: string,
    agentIds: readonly string[],
    actor: string,
  ): Promise<number> {
    const failures: unknown[] = [];
    let sent = await this.resendUnsent(ctx, rolloutId, actor).catch((error: unknown) => {
      failures.push(error);
      return 0;
    });
    const chunks = chunksOf(agentIds, CHUNK_AGENTS);
    let next = 0;
    const worker = async () => {
      for (let chunk = chunks[next++]; chunk !== undefined; chunk = chunks[next++]) {
        try {
          // A Dispatch on the store itself, not on a transaction: its one statement commits alone.
          const dispatch = this.dispatch(ctx);
          const marked = await dispatch.markDueSent(rolloutId, chunk, actor);
          if (marked === 0) continue;
          // Nothing left to write (the events went in with the marks): this only serializes.
          await dispatch.beforeCommit();
          dispatch.flush();
          sent += marked;
        } catch (error) {
          // The other chunks are still tried, and the wake-up queue retries the delivery once this
          // one has wholly ended (one delivery at a time per hub): the chunk's rows the statement
          // left `pending` are marked then, those it may have marked are re-sent then.
          this.owe(rolloutId, chunk);
          failures.push(error);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(IN_FLIGHT, chunks.length) }, worker));
    if (failures.length > 0) throw failures[0];
    return sent;
  }

  private dispatch(ctx: EngineContext): Dispatch {
    return new Dispatch(ctx, ctx.store, (id) => this.releases.get(id));
  }

  private owe(rolloutId: string, agentIds: readonly string[]): void {
    const owed = this.unsent.get(rolloutId) ?? new Set<string>();
    for (const id of agentIds) owed.add(id);
    this.unsent.set(rolloutId, owed);
  }

  /**
   * Re-sends the `sent` deployments of the agents a failed delivery of `rolloutId` left owed, while
   * the rollout runs (as a hello re-delivers them); a repeated instruction is a no-op on an agent
   * that got it. Only rows a failure left: the other hubs' agents, and a delivery that did not
   * fail, cost nothing here.
   */
  private async resendUnsent(ctx: EngineContext, rolloutId: string, actor: string): Promise<number> {
    const owed = this.unsent.get(rolloutId);
    if (owed === undefined) return 0;
    this.unsent.delete(rolloutId);
    try {
      const agentIds = [...owed].filter((id) => ctx.channel.isOnline(id));
      const rollout = agentIds.length === 0 ? undefined : await ctx.store.getRollout(rolloutId);
      if (rollout === undefined || !isRunningRollout(rollout.state)) return 0;
      const rows = await ctx.store.listDeploymentsOfAgents({
        rolloutId,
        agentIds,
        states: SENT_DEPLOYMENT_STATES,
      });
      const due = rows.filter((d) => d.wave <= rollout.currentWave);
      if (due.length === 0) return 0;
      const dispatch = this.dispatch(ctx);
      for (const d of due) dispatch.deployment(d, actor);
      await dispatch.beforeCommit();
      dispatch.flush();
      return due.length;
    } catch (error) {
      this.owe(rolloutId, [...owed]);
      throw error;
    }
  }
}

function chunksOf<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
