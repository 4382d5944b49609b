/** A fixed one-minute window: enough to stop a flood, cheap enough for every message or request. */
export class MinuteBudget {
  private windowStart = 0;
  private used = 0;
  private refused = 0;

  constructor(
    private readonly limit: number,
    private readonly now: () => number,
  ) {}

  /** Takes `amount` (1: one more message; or bytes); false once the window's limit is passed. */
  take(amount = 1): boolean {
    this.roll();
    this.used += amount;
    if (this.used <= this.limit) return true;
    this.refused++;
    return false;
  }

  /** Whether this window's limit is used up (taking nothing). */
  spent(): boolean {
    this.roll();
    return this.used >= this.limit;
  }

  /** When this window ends, in whole seconds from now (at least 1): a refusal's Retry-After. */
  secondsLeft(): number {
    return Math.max(1, Math.ceil((this.windowStart + 60_000 - this.now()) / 1000));
  }

  /** The last `take` was the window's first refusal (say so once, not once per message). */
  firstRefusal(): boolean {
    return this.refused === 1;
  }

  private roll(): void {
    const at = this.now();
    if (at - this.windowStart < 60_000) return;
    this.windowStart = at;
    this.used = 0;
    this.refused = 0;
  }
}

/** A MinuteBudget per key, made on first use (keyed by verified ids: agents, issued tokens). */
export function budgetsPer(limit: number, now: () => number): (key: string) => MinuteBudget {
  const budgets = new Map<string, MinuteBudget>();
  return (key) => {
    let budget = budgets.get(key);
    if (!budget) {
      budget = new MinuteBudget(limit, now);
      budgets.set(key, budget);
    }
    return budget;
  };
}
