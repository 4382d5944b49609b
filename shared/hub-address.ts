/**
 * The hub's address as an operator gives it (`[hub] url`, `ship release publish --hub`): ship adds
 * `/api/v1/…` to its path. The API's own address copied in (`…/api/v1`, or the agent channel's
 * `…/api/v1/agent`) made every request go to `…/api/v1/api/v1/…`: the agent's connects were 404s,
 * and a publish was refused with the hub's answer to a path it does not serve ("415 content-type").
 */
export const API_PATH_MESSAGE = "must be the hub's address without /api/v1 (ship adds /api/v1/… to its path)";

/** Only said of an http(s) URL: another scheme is refused for its scheme, in one line. */
export function hasApiPath(url: string): boolean {
  return /^https?:/i.test(url) && /\/api\/v1(\/agent)?\/*$/.test(url);
}
