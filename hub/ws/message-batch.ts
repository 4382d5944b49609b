import type { Logger } from "../../shared/log.js";
import type { RolloutEngine } from "../rollouts/engine.js";

interface Item {
  apply: () => void;
  /** Runs only once the batch committed, e.g. the ack that lets an agent forget a report. */
  committed?: () => void;
}

/**
 * Applies agent messages that arrived in the same event-loop turn in one transaction: thousands of
 * agents reporting at once cost one commit per turn, not one per message. Each message runs in
 * its own savepoint, so one that fails is logged and skipped without undoing the others.
 */
export class MessageBatch {
  private items: Item[] = [];
  private scheduled = false;
  private closed = false;

  constructor(
    private readonly engine: RolloutEngine,
    private readonly log: Logger,
  ) {}

  add(apply: () => void, committed?: () => void): void {
    if (this.closed) return;
    this.items.push(committed ? { apply, committed } : { apply });
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  /** Drops what is queued: an agent whose message was not committed resends it (reports are unacked). */
  close(): void {
    this.closed = true;
    this.items = [];
  }

  flush(): void {
    this.scheduled = false;
    if (this.closed) return;
    const items = this.items;
    this.items = [];
    const done: Item[] = [];
    try {
      this.engine.run(() => {
        for (const item of items) {
          try {
            this.engine.store.transaction(item.apply);
            done.push(item);
          } catch (error) {
            this.log.error("agent message could not be applied", { error: String(error) });
          }
        }
      });
    } catch (error) {
      this.log.error("agent message batch failed", { error: String(error), messages: items.length });
      return;
    }
    for (const item of done) item.committed?.();
  }
}
