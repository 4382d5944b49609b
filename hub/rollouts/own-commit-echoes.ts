/**
 * The wake-up a cluster hub hears for its own commit (docs/cluster.md, "Fan-out across hubs"). The
 * rollouts trigger notifies every listening hub, the committing one too; for a rollout this hub just
 * created, that echo asked it to mark its own connected agents' due rows, which the create had
 * already inserted `sent` and sent: one statement per 250 agents that changed nothing, run while
 * the other hubs marked and sent theirs on the same two cores (round 39, docs/benchmarks-history.md).
 *
 * So the create records, before it commits, which of its due rows it left `pending` (their agents
 * were not connected here when it inserted them); the echo delivers to those agents only, when they
 * are connected here now. A notification for a rollout only counts as the echo when one is
 * expected: another hub cannot change a rollout before the create that inserts it commits, and a
 * listener hears notifications in commit order, so the first one for that id after the commit is
 * this hub's own. Any later one, or one coalesced with it (wakeup.ts), is delivered whole.
 */

/**
 * How long an expected echo waits. Past it the expectation is dropped and a late echo is delivered
 * whole (harmless: its marks find nothing). Bounded, so an echo never heard (the listener was
 * reconnecting at the commit) cannot make a change another hub commits much later count as this
 * hub's own; the periodic resync would still cover it.
 */
const ECHO_WAIT_MS = 10_000;

export class OwnCommitEchoes {
  private readonly expected = new Map<string, { agents: ReadonlySet<string>; at: number }>();

  constructor(private readonly clock: () => number = () => performance.now()) {}

  /**
   * Before the commit of a create of `rolloutId`: its echo need deliver to `agents` only. A retried
   * transaction calls it again and replaces the expectation.
   */
  expect(rolloutId: string, agents: ReadonlySet<string>): void {
    const now = this.clock();
    for (const [id, { at }] of this.expected) if (now - at > ECHO_WAIT_MS) this.expected.delete(id);
    this.expected.set(rolloutId, { agents, at: now });
  }

  /** The create did not commit (or its commit's answer was lost): its notification, if any, is whole. */
  forget(rolloutId: string): void {
    this.expected.delete(rolloutId);
  }

  /**
   * A notification for `rolloutId` arrived: the agents its delivery may be limited to when it is
   * the echo of this hub's own create, else undefined (deliver to every agent connected here).
   */
  take(rolloutId: string): ReadonlySet<string> | undefined {
    const expected = this.expected.get(rolloutId);
    if (expected === undefined) return undefined;
    this.expected.delete(rolloutId);
    return this.clock() - expected.at > ECHO_WAIT_MS ? undefined : expected.agents;
  }
}
