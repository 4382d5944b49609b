const TOKEN_KEY = "ship.operatorToken";

/** A refused call, with the hub's own message (its 400s name the offending field). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

/**
 * A call whose answer never reached the page (the connection dropped or was refused, a proxy cut
 * it): unlike a refusal, the hub may have carried out a write. A dropped answer to Pause read
 * "pause refused: Failed to fetch" over a rollout the hub had paused.
 */
export class NoAnswer extends Error {
  constructor(cause: unknown) {
    super(`no answer from the hub (${cause instanceof Error ? cause.message : String(cause)})`);
    this.name = "NoAnswer";
  }
}

/** The token lives for this tab only: sessionStorage, never a cookie, so no CSRF surface. */
export const session = {
  token: (): string | null => sessionStorage.getItem(TOKEN_KEY),
  signIn: (token: string): void => sessionStorage.setItem(TOKEN_KEY, token),
  signOut: (): void => sessionStorage.removeItem(TOKEN_KEY),
};

/** Called when the hub answers 401 mid-session (token expired or revoked), with the hub's reason. */
let onUnauthorized: (reason: string) => void = () => {};
export function whenUnauthorized(handler: (reason: string) => void): void {
  onUnauthorized = handler;
}

/**
 * Calls the hub's API. The path is relative ("api/v1/…", no leading slash) so that a reverse
 * proxy publishing the hub at https://example/ship/ works unchanged.
 */
export async function call<T>(
  method: "GET" | "POST",
  path: string,
  body?: unknown,
  token = session.token(),
): Promise<T> {
  const headers: Record<string, string> = { accept: "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  let res: Response;
  let text: string;
  try {
    res = await fetch(`api/v1/${path}`, {
      method,
      headers,
      cache: "no-store",
      credentials: "omit",
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    text = await res.text();
  } catch (error) {
    throw new NoAnswer(error);
  }
  if (!res.ok) {
    const message = refusal(res, text);
    if (res.status === 401 && token === session.token()) onUnauthorized(message);
    throw new ApiError(res.status, message);
  }
  try {
    return JSON.parse(text) as T;
  } catch {
    return undefined as T;
  }
}

export const get = <T>(path: string) => call<T>("GET", path);
export const post = <T>(path: string, body: unknown = {}) => call<T>("POST", path, body);

/**
 * What a write's failure tells the operator: a refusal, nothing done (`refused`: how its line
 * begins, "pause refused"), or no answer, when the hub may have done it (`asked`: the write, and
 * `whatNow`: where to see whether it did).
 */
export function writeFailure(error: unknown, refused: string, asked: string, whatNow: string): string {
  if (error instanceof NoAnswer)
    return `${asked}: ${error.message}, so it may have been carried out; ${whatNow}`;
  return `${refused}: ${describeError(error)}`;
}

export function describeError(error: unknown): string {
  if (error instanceof ApiError) return `${error.message} (HTTP ${error.status})`;
  return error instanceof Error ? error.message : String(error);
}

/**
 * Follows the hub's change stream (`api/v1/stream`, server-sent events read with fetch so the
 * bearer header goes along). Calls `onChange` with the newest audit-event id each time it moves and
 * `onLive` when the stream opens or drops; reconnects after `retryMs` until `stop()`.
 */
export function followChanges(
  onChange: (eventId: number) => void,
  onLive: (live: boolean) => void,
  retryMs = 2000,
): { stop(): void } {
  const abort = new AbortController();
  const decoder = new TextDecoder();
  const connect = async (): Promise<void> => {
    const token = session.token();
    if (!token || abort.signal.aborted) return;
    try {
      const res = await fetch("api/v1/stream", {
        headers: { accept: "text/event-stream", authorization: `Bearer ${token}` },
        cache: "no-store",
        credentials: "omit",
        signal: abort.signal,
      });
      if (res.status === 401) {
        onUnauthorized(refusal(res, await res.text().catch(() => "")));
        return;
      }
      if (!res.ok || res.body === null) throw new Error(`HTTP ${res.status}`);
      onLive(true);
      const reader = res.body.getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let end = buffer.indexOf("\n\n");
        while (end >= 0) {
          const id = eventIdOf(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
          if (id !== undefined) onChange(id);
          end = buffer.indexOf("\n\n");
        }
      }
    } catch {
      // Dropped or refused: fall through to a retry; the caller polls meanwhile.
    }
    if (abort.signal.aborted) return;
    onLive(false);
    setTimeout(() => void connect(), retryMs);
  };
  void connect();
  return { stop: () => abort.abort() };
}

/** The hub's reason for refusing (its JSON `error`; its 400s name the field), else the status line. */
function refusal(res: Response, text: string): string {
  try {
    const error = (JSON.parse(text) as { error?: unknown } | null)?.error;
    if (typeof error === "string") return error;
  } catch {}
  return `${res.status} ${res.statusText}`;
}

function eventIdOf(message: string): number | undefined {
  const data = message
    .split("\n")
    .find((line) => line.startsWith("data:"))
    ?.slice(5);
  if (data === undefined) return undefined;
  try {
    const id = (JSON.parse(data) as { id?: unknown }).id;
    return typeof id === "number" ? id : undefined;
  } catch {
    return undefined;
  }
}
