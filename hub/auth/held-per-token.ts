/**
 * Long-lived requests one token may hold at once (event streams, artifact transfers). Each holds a
 * socket, and a transfer a file and buffers too, for as long as its client likes: with one token
 * a client opened thousands, and the hub ran short of descriptors and memory for everyone else.
 */
export class HeldPerToken {
  private readonly held = new Map<string, number>();

  constructor(readonly max: number) {}

  /** How many `key` holds now. */
  count(key: string): number {
    return this.held.get(key) ?? 0;
  }

  /**
   * Counts one more for `key`, or undefined when it holds `max` already. Synchronous, so requests
   * arriving together cannot all pass the check. The function returned gives it back (once).
   */
  take(key: string): (() => void) | undefined {
    const now = this.count(key);
    if (now >= this.max) return undefined;
    this.held.set(key, now + 1);
    let given = false;
    return () => {
      if (given) return;
      given = true;
      const left = this.count(key) - 1;
      if (left > 0) this.held.set(key, left);
      else this.held.delete(key);
    };
  }
}
