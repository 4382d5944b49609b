/**
 * POST a JSON body with a timeout and one retry for what is worth retrying (network errors,
 * timeouts, 408, 429, 5xx), after the wait the endpoint asks for (Retry-After) when it gives one.
 * Never throws: a notification must not fail an update.
 */
import type { Dispatcher } from "undici";
import { networkErrorText } from "../download/errors.js";
import { retryAfterMs } from "../download/retry.js";
import { takeUrlCredentials } from "../download/url-credentials.js";

export interface PostResult {
  ok: boolean;
  attempts: number;
  /** Status code or error text of the last attempt, for the log (never headers or the URL's secrets). */
  outcome: string;
}

export interface PostOptions {
  headers: Record<string, string>;
  timeoutMs: number;
  retryDelayMs: number;
}

/**
 * The longest a notification may take, both attempts and the pause between: what sendNotifications
 * tells the operator it may wait, so a Retry-After never holds the run past it.
 */
export function postBudgetMs(options: Pick<PostOptions, "timeoutMs" | "retryDelayMs">): number {
  return 2 * options.timeoutMs + options.retryDelayMs;
}

export async function postJson(url: string, body: unknown, options: PostOptions): Promise<PostResult> {
  // Through the host's proxy (https_proxy, no_proxy) as downloads go: a Slack webhook is on the
  // internet, and behind a proxy every message was lost ("no such host"). Loaded when a webhook
  // is actually sent, as undici is (postOnce).
  const { proxiedDispatcher } = await import("../download/dispatcher.js");
  const client = proxiedDispatcher({ timeoutMs: options.timeoutMs });
  const started = performance.now();
  try {
    const first = await postOnce(url, body, options.timeoutMs, options, client.dispatcher);
    if (first.ok || !first.retryable) return { ok: first.ok, attempts: 1, outcome: first.outcome };
    const wait = retryWait(first, options, performance.now() - started);
    if (typeof wait === "string") return { ok: false, attempts: 1, outcome: wait };
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    // An endpoint's wait longer than the fixed pause comes out of the second attempt's time, so
    // the run is held no longer than the budget it was told.
    const left = Math.round(postBudgetMs(options) - (performance.now() - started));
    const timeoutMs =
      wait > options.retryDelayMs ? Math.max(1, Math.min(options.timeoutMs, left)) : options.timeoutMs;
    const second = await postOnce(url, body, timeoutMs, options, client.dispatcher);
    return { ok: second.ok, attempts: 2, outcome: second.outcome };
  } finally {
    // Each answer was read whole (postOnce) and a request past its timeout aborted: nothing waits.
    await client.close().catch(() => undefined);
  }
}

interface Attempt {
  ok: boolean;
  retryable: boolean;
  outcome: string;
  /** What a 429 or 503 asked for in Retry-After, in ms from its arrival. */
  retryAfterMs?: number;
}

/**
 * The pause before the second attempt: the endpoint's Retry-After when it gave one (Slack answers
 * a burst with 429 and `Retry-After: 1`… `30`), else the fixed pause. Sent again a second later,
 * a rate-limited message met the same 429 and was lost, the log saying "HTTP 429" alone. A wait
 * that would hold the run past the notification's budget is not waited for: the outcome says so.
 */
function retryWait(first: Attempt, options: PostOptions, elapsedMs: number): number | string {
  const asked = first.retryAfterMs;
  if (asked === undefined) return options.retryDelayMs;
  // The second attempt keeps at least a second (or its whole timeout, when shorter) to be answered.
  const room = postBudgetMs(options) - elapsedMs - Math.min(options.timeoutMs, 1000);
  if (asked <= room) return asked;
  const budget = Number((postBudgetMs(options) / 1000).toFixed(1));
  return `${first.outcome}; the endpoint asks to be sent it again in ${Math.ceil(asked / 1000)} s (Retry-After), later than ship waits for a notification (${budget} s in all): not sent again`;
}

async function postOnce(
  url: string,
  body: unknown,
  timeoutMs: number,
  options: PostOptions,
  dispatcher: Dispatcher,
): Promise<Attempt> {
  try {
    // undici is loaded when a webhook is actually sent: most runs send none. Through a module of
    // our own: the CLI's ES module bundle (`ship agent`, `--recover`) turned `import("undici")` of
    // the bundled CommonJS package into a chunk with a default export only, so `request` was
    // undefined there and every webhook and Slack message of the daemon failed.
    const { request } = await import("./undici-request.js");
    // A webhook URL's user:password@ is Basic auth (undici would drop it and send none).
    const target = takeUrlCredentials(url, options.headers);
    const response = await request(target.url, {
      method: "POST",
      headers: { "content-type": "application/json", ...target.headers },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
      dispatcher,
    });
    // Drain the body so the connection is released; its content does not matter to us.
    await response.body.dump();
    const status = response.statusCode;
    const retryAfter = response.headers["retry-after"];
    const asked =
      (status === 429 || status === 503) && typeof retryAfter === "string"
        ? retryAfterMs(retryAfter)
        : undefined;
    return {
      ok: status >= 200 && status < 300,
      retryable: status === 408 || status === 429 || status >= 500,
      outcome: `HTTP ${status}${redirectNote(status, response.headers.location, target.url)}`,
      ...(asked === undefined ? {} : { retryAfterMs: asked }),
    };
  } catch (error) {
    const name = error instanceof Error ? error.name : "";
    const message = name === "TimeoutError" ? `timed out after ${timeoutMs} ms` : networkErrorText(error);
    return { ok: false, retryable: true, outcome: message };
  }
}

/**
 * A POST is not followed to another URL (its body and credentials would go there unasked), so a
 * webhook configured as http:// on a server that moved it to https:// was "HTTP 301" in the log
 * and every message lost, with no word of where to point it. Only the origin is named: the path
 * may be the secret.
 */
function redirectNote(status: number, location: string | string[] | undefined, from: string): string {
  if (status < 300 || status >= 400 || typeof location !== "string" || !URL.canParse(location, from))
    return "";
  return `: the server moves it to ${new URL(location, from).origin}/…; POSTs are not followed, so set the webhook's url to where it leads`;
}

/** Where a notification went, for logs: a Slack webhook URL's path is itself a secret. */
export function redactUrl(url: string): string {
  try {
    return `${new URL(url).origin}/…`;
  } catch {
    return "(invalid URL)";
  }
}
