/**
 * POST a JSON body with a timeout and one retry for what is worth retrying (network errors,
 * timeouts, 408, 429, 5xx). Never throws: a notification must not fail an update.
 */
import type { Dispatcher } from "undici";
import { networkErrorText } from "../download/errors.js";
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

export async function postJson(url: string, body: unknown, options: PostOptions): Promise<PostResult> {
  // Through the host's proxy (https_proxy, no_proxy) as downloads go: a Slack webhook is on the
  // internet, and behind a proxy every message was lost ("no such host"). Loaded when a webhook
  // is actually sent, as undici is (postOnce).
  const { proxiedDispatcher } = await import("../download/dispatcher.js");
  const client = proxiedDispatcher({ timeoutMs: options.timeoutMs });
  try {
    let last: Attempt = { ok: false, retryable: false, outcome: "not sent" };
    for (let attempt = 1; attempt <= 2; attempt++) {
      last = await postOnce(url, body, options, client.dispatcher);
      if (last.ok || !last.retryable || attempt === 2)
        return { ok: last.ok, attempts: attempt, outcome: last.outcome };
      if (options.retryDelayMs > 0) await new Promise((r) => setTimeout(r, options.retryDelayMs));
    }
    return { ok: last.ok, attempts: 2, outcome: last.outcome };
  } finally {
    // Each answer was read whole (postOnce) and a request past its timeout aborted: nothing waits.
    await client.close().catch(() => undefined);
  }
}

interface Attempt {
  ok: boolean;
  retryable: boolean;
  outcome: string;
}

async function postOnce(
  url: string,
  body: unknown,
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
      signal: AbortSignal.timeout(options.timeoutMs),
      dispatcher,
    });
    // Drain the body so the connection is released; its content does not matter to us.
    await response.body.dump();
    const status = response.statusCode;
    return {
      ok: status >= 200 && status < 300,
      retryable: status === 408 || status === 429 || status >= 500,
      outcome: `HTTP ${status}${redirectNote(status, response.headers.location, target.url)}`,
    };
  } catch (error) {
    const name = error instanceof Error ? error.name : "";
    const message =
      name === "TimeoutError" ? `timed out after ${options.timeoutMs} ms` : networkErrorText(error);
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
