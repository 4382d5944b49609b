/**
 * What each server of a URL of several hosts answers, asked alone, as libpq reports a list it could
 * not use. The driver goes round such a list for ever, without a pause, while every server
 * refuses or is a standby, so the hub's start waited out its whole deadline (25 s for two hosts)
 * and then said "each is a standby or did not answer" of servers that had refused at once. A
 * refusal or a standby's answer is certain after one try; only silence is worth waiting for.
 */
import postgres from "postgres";
import { errnoCode, fsErrorText } from "../../shared/fs-errors.js";
import { answerWithin } from "./answer-deadline.js";
import { driverTarget, singleHostUrls } from "./postgres-url.js";

/** What one server answered; `certain` when asking again now would answer the same. */
export interface HostAnswer {
  server: string;
  primary: boolean;
  certain: boolean;
  /** For a message: "a standby (in recovery)", "connection refused (ECONNREFUSED)"… */
  said: string;
  /** The server's own refusal of the connection: its SQLSTATE (28P01: the password) and words. */
  refused?: { code: string; reason: string };
}

/** Errors that are an answer (nothing listens there, no such host), not a silence. */
const CERTAIN_CODES = new Set(["ECONNREFUSED", "ENOTFOUND", "EHOSTUNREACH", "ENETUNREACH", "ENOENT"]);

async function ask(server: string, sql: postgres.Sql, connectSeconds: number): Promise<HostAnswer> {
  try {
    const question = sql`SELECT pg_is_in_recovery() AS standby`;
    // connect_timeout=0 (no limit): a silent server is waited for, as the pool waits for it.
    const [row] = await (connectSeconds === 0
      ? question
      : answerWithin(question, (connectSeconds + 5) * 1000));
    return row?.standby === true
      ? { server, primary: false, certain: true, said: "a standby (in recovery)" }
      : { server, primary: true, certain: true, said: "the primary" };
  } catch (error) {
    const code = String((error as { code?: unknown }).code ?? "");
    if (CERTAIN_CODES.has(code)) {
      const text = errnoCode(error) === undefined ? code : fsErrorText(error);
      return { server, primary: false, certain: true, said: text };
    }
    if (code === "CONNECT_TIMEOUT" || code === "DATABASE_NO_ANSWER")
      return { server, primary: false, certain: false, said: `no answer within ${connectSeconds} s` };
    // The server's own refusal (a password, a database): the pool reports it as it is.
    const reason = (error instanceof Error ? error.message : String(error)).split("\n")[0] ?? "";
    return {
      server,
      primary: false,
      certain: true,
      said: `refused: ${reason}${code ? ` (${code})` : ""}`,
      refused: { code, reason },
    };
  } finally {
    await sql.end({ timeout: 0 });
  }
}

/**
 * Asks every server of `url` at once. `verdict` settles as soon as each gave a certain answer and
 * none is the primary (true), or once one is the primary (false); it stays pending while a server
 * is silent. `answers` settles once every server answered or timed out; `stop` ends every attempt.
 */
export function surveyHosts(
  url: string,
  connectSeconds: number,
): { verdict: Promise<boolean>; answers: Promise<HostAnswer[]>; stop(): void } {
  const pools: postgres.Sql[] = [];
  const asked = singleHostUrls(url).map(({ server, url: one }) => {
    const target = driverTarget(one);
    const sql = postgres(target.url, {
      ...target.options,
      max: 1,
      connect_timeout: connectSeconds,
      onnotice: () => {},
      // No query of the driver's own at connect: ended mid-connect, its rejection had no handler
      // and killed the process.
      fetch_types: false,
    });
    pools.push(sql);
    return ask(server, sql, connectSeconds);
  });
  const answers = Promise.all(asked);
  const verdict = new Promise<boolean>((resolve) => {
    for (const answer of asked) answer.then((a) => a.primary && resolve(false));
    answers.then((all) => all.every((a) => a.certain) && resolve(true));
  });
  // Once the pool found the primary, a silent server's attempt would keep a command from exiting.
  const stop = () => {
    for (const sql of pools) sql.end({ timeout: 0 }).catch(() => {});
  };
  return { verdict, answers, stop };
}

/** `db1:5432: connection refused (ECONNREFUSED); db2:5432: a standby (in recovery)`. */
export function describeAnswers(answers: HostAnswer[]): string {
  return answers.map((a) => `${a.server}: ${a.said}`).join("; ");
}
