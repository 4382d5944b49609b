/**
 * Whether a GET or HEAD's conditions say the client holds this version already (RFC 9110 §13.2.2):
 * If-None-Match, when sent, decides alone, by weak comparison over its list (`W/"x"` matches `"x"`,
 * and `*` matches any current version); else If-Modified-Since against Last-Modified. Comparing the
 * header with the ETag as one string answered a weak ETag (what a compressing proxy in front of the
 * hub makes of it), a list or `*` with the whole artifact again.
 */
import type { IncomingHttpHeaders } from "node:http";

/** An entity tag as weak comparison reads it: without its `W/`. */
const opaque = (tag: string) => tag.trim().replace(/^W\//, "");

/** `etag`: the strong ETag the answer carries; `modified`: its Last-Modified (an HTTP date). */
export function notModified(headers: IncomingHttpHeaders, etag: string, modified: string): boolean {
  const noneMatch = headers["if-none-match"];
  if (noneMatch !== undefined) {
    if (noneMatch.trim() === "*") return true;
    // Entity tags hold no comma (RFC 9110 §8.8.3: etagc excludes it), so a list splits on commas.
    return noneMatch.split(",").some((tag) => opaque(tag) === opaque(etag));
  }
  const since = headers["if-modified-since"];
  if (since === undefined) return false;
  // An invalid date is ignored, as the RFC asks: the whole answer, not a 304.
  const sinceMs = Date.parse(since);
  return !Number.isNaN(sinceMs) && Date.parse(modified) <= sinceMs;
}
