/**
 * `sql.begin` of the `postgres` driver (3.4.9), minus its crash on a connection lost mid-transaction.
 *
 * When a transaction's connection drops (the database restarted or stopped, a network cut), the
 * driver rejects `begin` through the connection's close, and separately its own scope catches the
 * callback's failing query and writes a ROLLBACK to that connection. The write is buffered for the
 * next tick, by which time the socket is gone: `TypeError: Cannot read properties of null (reading
 * 'write')` in a timer, which no caller can catch, and the hub process died (porsager/postgres#1154,
 * #1208; no released fix). A hub whose database restarts must not die with it.
 *
 * So a callback that fails because its connection is gone is never settled: the driver's scope
 * then never writes that ROLLBACK, and `begin` still rejects, with CONNECTION_CLOSED, from the close
 * (the database rolls the transaction back itself when the session ends). The pending callback is
 * one small closure per lost connection, collected with it. Every other failure is passed on as
 * before, so the driver rolls back and rethrows.
 */
import type postgres from "postgres";
import type { PgTypes } from "./postgres-ops.js";

/** Error codes the driver gives queries whose connection went away (its Errors.connection, socket errnos). */
const CONNECTION_LOST = new Set([
  "CONNECTION_CLOSED",
  "CONNECTION_DESTROYED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
]);

export function isConnectionLost(error: unknown): boolean {
  const code = typeof error === "object" && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === "string" && CONNECTION_LOST.has(code);
}

/** `sql.begin(fn)`, whose `fn` is left pending when its connection is lost (see above). */
export function beginTx<T>(
  sql: postgres.Sql<PgTypes>,
  fn: (t: postgres.TransactionSql<PgTypes>) => Promise<T>,
): Promise<T> {
  return sql.begin(
    (t) =>
      new Promise<T>((resolve, reject) => {
        fn(t).then(resolve, (error: unknown) => {
          if (!isConnectionLost(error)) reject(error);
        });
      }),
  ) as Promise<T>;
}
