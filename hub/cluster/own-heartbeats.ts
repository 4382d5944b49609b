/**
 * This hub's own heartbeats as it wrote them: when it last wrote one, and since when it has written
 * them without a gap longer than the hub timeout. A hub judges other hubs silent only while it is
 * itself steady (beating for a whole timeout): after a database outage every hub's heartbeat is
 * old, and the first tick used to release every other hub's agents (all reconnecting a second
 * time, every hub logging that another presumed it dead).
 *
 * Times are intervals on a monotonic clock (ms): a wall clock stepped a minute forward read as a
 * minute without a heartbeat, and the watchdog closed every agent connection.
 */
export class OwnHeartbeats {
  private last: number;
  private since: number;
  /** The watchdog closed this hub's agents: the next heartbeat starts a new steady run. */
  private dropped = false;

  /**
   * @param elapsed the monotonic clock, in ms.
   * @param timeoutMs the hub timeout (cluster_hub_timeout_seconds), in ms.
   */
  constructor(
    private readonly elapsed: () => number,
    private readonly timeoutMs: number,
  ) {
    this.last = elapsed();
    this.since = this.last;
  }

  /** A heartbeat got through now. */
  wrote(): void {
    const at = this.elapsed();
    if (this.dropped || at - this.last > this.timeoutMs) this.since = at;
    this.last = at;
    this.dropped = false;
  }

  /** No heartbeat got through within the timeout: this hub counts as dead to the others. */
  silent(): boolean {
    return this.elapsed() - this.last > this.timeoutMs;
  }

  /** The watchdog closed this hub's agent connections; true the first time since the last beat. */
  drop(): boolean {
    const first = !this.dropped;
    this.dropped = true;
    return first;
  }

  private steady(): boolean {
    const now = this.elapsed();
    return now - this.since >= this.timeoutMs && now - this.last <= this.timeoutMs;
  }

  /**
   * The cut-off for releasing other hubs' agents: `readClock()` (the database's clock, which
   * heartbeats are stamped with, in ms since the epoch) minus the timeout; undefined while this
   * hub is not steady. Steadiness is judged before and again after the read: a read that waited
   * out a database outage returns a time past it, and a cut-off from it, judged steady before,
   * released every hub whose heartbeat the outage held up (hubs that were all fine).
   */
  async silentCutoff(readClock: () => Promise<number>): Promise<number | undefined> {
    if (!this.steady()) return undefined;
    const now = await readClock();
    return this.steady() ? now - this.timeoutMs : undefined;
  }
}
