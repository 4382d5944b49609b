import { AsyncLocalStorage } from "node:async_hooks";

/**
 * Catches the easiest mistake with an async store: calling the store itself instead of the
 * transaction handle `t` inside `tx(async (t) => …)`. On PostgreSQL that call would run outside the
 * transaction on another connection; on SQLite it would wait forever for the transaction to end.
 */
export class TxGuard {
  private readonly inside = new AsyncLocalStorage<{ open: boolean }>();

  /** Runs `fn` marked as inside a transaction; `scope.open` turns false when it ends. */
  run<T>(fn: (scope: { open: boolean }) => Promise<T>): Promise<T> {
    const scope = { open: true };
    return this.inside.run(scope, async () => {
      try {
        return await fn(scope);
      } finally {
        scope.open = false;
      }
    });
  }

  /** Throws when called from inside a transaction that is still open. */
  outside(operation: string): void {
    if (this.inside.getStore()?.open)
      throw new Error(
        `store.${operation} called inside tx(): use the transaction handle passed to the callback`,
      );
  }

  /** Throws when a transaction handle is used after its transaction ended. */
  static live(scope: { open: boolean }, operation: string): void {
    if (!scope.open) throw new Error(`t.${operation} called after its transaction ended`);
  }
}
