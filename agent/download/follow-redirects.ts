/**
 * GET that follows redirects itself, because what may travel with a request depends on where it
 * goes: the headers the operator configured for a source (Authorization, X-Api-Key, PRIVATE-TOKEN,
 * the hub's bearer token) belong to the origin they were configured for. undici's own redirect
 * handling only drops Authorization and Cookie, so one 302 to another host would hand it every
 * other secret. Once a hop leaves the first origin (scheme, host or port differ) the configured
 * headers are gone for the rest of the chain, even if a later hop comes back.
 */
import { type Dispatcher, request } from "undici";
import { VerificationError } from "../../shared/errors.js";
import { textStart } from "../../shared/text-cut.js";
import { DownloadError } from "./errors.js";
import { headerValue } from "./header-value.js";
import { redactUrl } from "./redact.js";
import { takeUrlCredentials } from "./url-credentials.js";

export interface RedirectingGet {
  url: string;
  /** Protocol headers (Range, If-None-Match, ...): sent on every hop. */
  headers: Record<string, string>;
  /** The source's configured headers: sent only while the request stays on the first origin. */
  credentials: Record<string, string>;
  dispatcher: Dispatcher;
  signal?: AbortSignal;
}

const MAX_REDIRECTS = 5;
const REDIRECT_STATUS = new Set([301, 302, 303, 307, 308]);

/**
 * redirectedTo: the last hop's URL (redacted) when a redirect led away from the one requested.
 * redirectedVia: every URL the redirects led to, in order, the last being redirectedTo: a stable
 * `latest.tar.gz` may pass through the versioned name a SHA256SUMS lists on its way to a blob.
 */
export type RedirectedResponse = Dispatcher.ResponseData & {
  redirectedTo?: string;
  redirectedVia?: string[];
  /**
   * redirectedVia as requested, secrets kept (a presigned hop's query): to ask for a file beside
   * a hop (its .sig), never for messages.
   */
  requestedVia?: string[];
};

export async function getFollowingRedirects(req: RedirectingGet): Promise<RedirectedResponse> {
  // user:password@ is Basic auth, and like the configured headers it stays with the first origin.
  const first = takeUrlCredentials(req.url, req.credentials);
  const origin = new URL(first.url).origin;
  let url = first.url;
  let sameOrigin = true;
  const visited = [url];
  for (let hop = 0; ; hop++) {
    const res = await request(url, {
      method: "GET",
      headers: sameOrigin ? { ...first.headers, ...req.headers } : req.headers,
      dispatcher: req.dispatcher,
      signal: req.signal,
    });
    const location = headerValue(res.headers, "location");
    if (REDIRECT_STATUS.has(res.statusCode) && location === undefined) {
      await res.body.dump().catch(() => undefined);
      throw badRedirect(req.url, url, res.statusCode, "names no Location: a redirect to nowhere");
    }
    if (!REDIRECT_STATUS.has(res.statusCode) || location === undefined) {
      if (hop === 0) return res;
      return Object.assign(res, {
        redirectedTo: redactUrl(url),
        redirectedVia: visited.slice(1).map(redactUrl),
        requestedVia: visited.slice(1),
      });
    }
    await res.body.dump().catch(() => undefined);
    const next = URL.canParse(location, url) ? new URL(location, url) : undefined;
    if (next === undefined)
      throw badRedirect(
        req.url,
        url,
        res.statusCode,
        `has the Location ${JSON.stringify(shownLocation(location))}, which is not a URL`,
      );
    // "more than 5 redirects" said nothing of where they went: a loop (a login page sending back
    // to the file, http and https sending to each other) is named hop by hop.
    if (visited.includes(next.toString())) {
      const hops = [...visited, next.toString()].map(redactUrl).join(" -> ");
      throw new DownloadError(
        redactUrl(req.url),
        `the server redirects in a loop (${hops}), never to the file: check the url, or the server's redirect rules`,
        false,
      );
    }
    if (hop >= MAX_REDIRECTS) {
      throw new DownloadError(
        redactUrl(req.url),
        `more than ${MAX_REDIRECTS} redirects (the last to ${redactUrl(next.toString())})`,
        false,
      );
    }
    if (next.protocol !== "http:" && next.protocol !== "https:") {
      throw new DownloadError(redactUrl(req.url), `redirect to unsupported ${next.protocol} URL`, false);
    }
    // What started on TLS stays on it: a type = "https" source may not name an http:// url, and one
    // 302 took it there all the same, release, .sig and checksum travelling unencrypted.
    if (new URL(url).protocol === "https:" && next.protocol === "http:") {
      throw new VerificationError(
        redactUrl(req.url),
        `redirects to plain ${redactUrl(next.toString())}: an https:// request is not followed to http://, where the release would travel unencrypted`,
      );
    }
    url = next.toString();
    visited.push(url);
    if (next.origin !== origin) sameOrigin = false;
  }
}

/**
 * A redirect that leads nowhere ship can go: asking again gets the same. Its Location not being a
 * URL was "Invalid URL (ERR_INVALID_URL)", naming neither the header nor its value, and one without
 * a Location was "HTTP 302".
 */
function badRedirect(requested: string, url: string, status: number, what: string): DownloadError {
  const where = url === requested ? "" : ` from ${redactUrl(url)}`;
  return new DownloadError(
    redactUrl(requested),
    `the HTTP ${status} redirect${where} ${what}`,
    false,
    status,
  );
}

/**
 * A Location that is no URL, as a message shows it: no URL parser can find its secrets, so what may
 * hold one (user:password@, a query's signature) is masked as redactUrl masks it, and it is cut short.
 */
function shownLocation(location: string): string {
  const masked = location.replace(/\/\/[^/@?#]*@/, "//***@").replace(/\?.*$/s, "?***");
  return textStart(masked, 200);
}
