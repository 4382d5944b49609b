/**
 * The hub's address as an operator gives it (`[hub] url`, `ship release publish --hub`, `ship-hub
 * --hub`): ship adds `/api/v1/…` to its path. The API's own address copied in (`…/api/v1`, or the
 * agent channel's `…/api/v1/agent`) made every request go to `…/api/v1/api/v1/…`: the agent's
 * connects were 404s, and a publish was refused with the hub's answer to a path it does not serve
 * ("415 content-type"). A ?query or #fragment swallowed the path ship adds: the request went to the
 * hub's root page, and the CLIs read its answer as the API's.
 */
export const API_PATH_MESSAGE = "must be the hub's address without /api/v1 (ship adds /api/v1/… to its path)";

export const QUERY_MESSAGE =
  "must be the hub's address without a ?query or #fragment (ship adds /api/v1/… to its path)";

/**
 * The agent channel's own address given for the hub's: ship derives it (`http://` → `ws://`,
 * `https://` → `wss://`), and "must be an http:// or https:// URL" alone left the operator to
 * guess which one the WebSocket's scheme stands for.
 */
export const WEBSOCKET_MESSAGE =
  "is a WebSocket address: give the hub's http:// address for ws://, https:// for wss:// (ship derives the agent channel's address from it)";

export function isWebSocketUrl(url: string): boolean {
  return /^wss?:\/\//i.test(url.trim());
}

/** Only said of an http(s) URL: another scheme is refused for its scheme, in one line. */
export function hasApiPath(url: string): boolean {
  return /^https?:/i.test(url) && /\/api\/v1(\/agent)?\/*$/.test(url);
}

export function hasQueryOrFragment(url: string): boolean {
  return url.includes("?") || url.includes("#");
}

/**
 * Why `raw` cannot be the address the CLIs reach the hub at, in words that never quote it (it may
 * hold a password); undefined when it can. The token is the credential: `user:password@` is refused.
 */
export function hubAddressProblem(raw: string): string | undefined {
  if (!URL.canParse(raw)) {
    const port = /^https?:\/\/[^/?#]*:(\d+)(?:[/?#]|$)/i.exec(raw)?.[1];
    if (port !== undefined && Number(port) > 65535) return `has port ${port}, over 65535`;
    return "is not an http:// or https:// URL (e.g. https://hub.example.com:8080)";
  }
  const url = new URL(raw);
  if (url.protocol === "ws:" || url.protocol === "wss:") return WEBSOCKET_MESSAGE;
  if (url.protocol !== "http:" && url.protocol !== "https:")
    return `is not an http:// or https:// URL (it is ${url.protocol}//…)`;
  if (url.username !== "" || url.password !== "")
    return "must not carry user:password@ (the token is the credential, and a password there would show in messages)";
  if (hasQueryOrFragment(raw)) return QUERY_MESSAGE;
  if (hasApiPath(raw)) return API_PATH_MESSAGE;
  return undefined;
}
