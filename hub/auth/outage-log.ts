/**
 * An error every agent connection meets while the hub's database is unreachable (a renewal that
 * cannot be stored, a token that cannot be looked up): logged per occurrence, an outage wrote one
 * line per agent a second (1,000 agents due for renewal: 60,000 lines a minute), burying the line
 * that says what is wrong. The first of a minute is logged at once; the rest of that minute are
 * counted and said in one line when it ends.
 */
import type { Logger } from "../../shared/log.js";

const MINUTE_MS = 60_000;

export class OutageLog {
  private windowStart = Number.NEGATIVE_INFINITY;
  private more = 0;
  private readonly agents = new Set<string>();
  private lastError = "";
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly log: Logger,
    /** What failed, the line's message: "could not renew an agent token". */
    private readonly message: string,
    private readonly now: () => number = Date.now,
    /** A minute; tests shorten it. */
    private readonly windowMs: number = MINUTE_MS,
  ) {}

  record(agentId: string | undefined, error: string): void {
    const at = this.now();
    if (at - this.windowStart >= this.windowMs) {
      this.flush();
      this.windowStart = at;
      this.log.error(this.message, { ...(agentId === undefined ? {} : { agentId }), error });
      return;
    }
    this.more++;
    if (agentId !== undefined) this.agents.add(agentId);
    this.lastError = error;
    // An outage that ends (or a fleet that goes quiet) is still counted: the window's end says it.
    this.timer ??= setTimeout(() => this.flush(), Math.max(0, this.windowStart + this.windowMs - at)).unref();
  }

  /** Says what the window left unsaid, if anything. */
  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.more === 0) return;
    this.log.error(`${this.message}: more in the same minute, not logged one by one`, {
      more: this.more,
      agents: this.agents.size,
      lastError: this.lastError,
    });
    this.more = 0;
    this.agents.clear();
  }

  /** The hub stops: nothing is written after it. */
  close(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
