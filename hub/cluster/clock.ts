/**
 * A cluster hub's time: the database server's clock as this hub last read it, carried on by this
 * hub's own clock between readings. Every hub stamps and compares rollout times (a deployment's
 * last progress, an agent's last sight, a tick's claim) with it, so hubs whose clocks differ agree:
 * with each its own clock, a hub a minute ahead claimed every tick and timed out the other hubs'
 * deployments a minute early, and a hub a minute behind wrote times the others found a minute old.
 */

/** A reading whose round trip took longer than this says little about when the server read its clock. */
const TRUSTED_ROUND_TRIP_MS = 1_000;

/** This process's clock, monotonic: a wall clock stepped between readings does not move the cluster's time. */
export const monotonicNow = (): number => performance.timeOrigin + performance.now();

export class ClusterClock {
  private offsetMs: number | undefined;

  /** `local`: this hub's clock (injected by tests to make a skewed host). */
  constructor(private readonly local: () => number = monotonicNow) {}

  /** The database's clock now, in whole ms since the epoch (this hub's own until the first reading). */
  readonly now = (): number => Math.round(this.local() + (this.offsetMs ?? 0));

  /**
   * Runs `query`, whose `at` is the database's clock when the server ran it, and takes the
   * offset from that reading, as of the middle of the round trip. A reading that waited long (a
   * busy pool, a slow network) is kept out unless there is none yet.
   */
  async observe<T extends { at: number }>(query: () => Promise<T>): Promise<T> {
    const sentAt = this.local();
    const result = await query();
    const receivedAt = this.local();
    if (this.offsetMs === undefined || receivedAt - sentAt <= TRUSTED_ROUND_TRIP_MS)
      this.offsetMs = result.at - (sentAt + receivedAt) / 2;
    return result;
  }
}
