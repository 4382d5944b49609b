import { ExitCode, ShipError } from "../../shared/errors.js";
import { errnoCode, fsErrorText } from "../../shared/fs-errors.js";
import { headerValue } from "./header-value.js";
import { proxyFailureText } from "./proxy.js";
import { isRetryableError, isRetryableStatus, retryAfterMs } from "./retry.js";

/**
 * A download that could not complete (network, timeout, HTTP status, size). Nothing was
 * installed, so the run fails with exit 1 and the app stays on its version. `url` is redacted.
 */
export class DownloadError extends ShipError {
  readonly exitCode = ExitCode.updateFailedRestored;
  constructor(
    readonly url: string,
    readonly reason: string,
    readonly retryable: boolean,
    readonly status?: number,
    /** How long the server asked to wait before trying again (Retry-After on 429 / 503). */
    readonly retryAfterMs?: number,
    /** The client's error code (ECONNREFUSED, UNABLE_TO_VERIFY_LEAF_SIGNATURE) of a network failure. */
    readonly code?: string,
    /** For an HTTP status: the URL a redirect led to, whose answer it is. */
    readonly redirectedTo?: string,
    /** For a certificate not for the URL's host: the names it is for (`DNS:a.example, IP:10.0.0.1`). */
    readonly certificateNames?: string,
  ) {
    super(`download of ${url} failed: ${reason}`);
    this.name = "DownloadError";
  }
}

/**
 * A 304 to a request that named no version of the file (no ETag or date sent): nothing to compare
 * with, and no file. A cache or proxy in the way answers so; taken as "not modified", a first
 * install said "up to date (undefined)", exit 0, with nothing installed.
 */
export function unaskedNotModified(shownUrl: string): DownloadError {
  return new DownloadError(
    shownUrl,
    "HTTP 304 Not Modified to a request that asked for the whole file (a cache or proxy in the way answering for it?)",
    false,
    304,
  );
}

/**
 * An answer with a status that is not the file, with the server's Retry-After when it gave one and
 * its reason when it said one (server-reason.ts).
 */
export function httpStatusError(
  url: string,
  status: number,
  headers: Record<string, string | string[] | undefined>,
  redirectedTo?: string,
  said?: string,
): DownloadError {
  const retryable = isRetryableStatus(status);
  const after =
    status === 429 || status === 503 ? retryAfterMs(headerValue(headers, "retry-after")) : undefined;
  // The URL asked for answered with a redirect: the status is the other URL's, which is the one to check.
  const where = redirectedTo === undefined ? "" : ` from ${redirectedTo}, where it redirects`;
  const why = said === undefined ? "" : `: ${said}`;
  return new DownloadError(
    url,
    `HTTP ${status}${where}${why}`,
    retryable,
    status,
    after,
    undefined,
    redirectedTo,
  );
}

/** undici's own error codes, in words (the errno ones come from fsErrorText). */
const UNDICI_WORDS: Record<string, string> = {
  UND_ERR_SOCKET: "the server closed the connection",
  UND_ERR_CONNECT_TIMEOUT: "connecting timed out",
  UND_ERR_HEADERS_TIMEOUT: "no answer in time",
  UND_ERR_BODY_TIMEOUT: "the download stalled",
  UND_ERR_ABORTED: "aborted",
};

const NETWORK_WORDS: Record<string, string> = {
  ECONNRESET: "connection reset",
  ETIMEDOUT: "timed out",
  EHOSTUNREACH: "no route to host",
  ENETUNREACH: "network unreachable",
  EAI_AGAIN: "name lookup failed (temporary)",
  EPIPE: "the connection broke",
};

/**
 * Why a request failed, in words with the code after them ("connection refused (ECONNREFUSED)",
 * "the server closed the connection (UND_ERR_SOCKET)"), never Node's "ECONNREFUSED: connect
 * ECONNREFUSED 127.0.0.1:9".
 */
export function networkErrorText(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const proxy = proxyFailureText(err, plainNetworkErrorText(err));
  return proxy ?? plainNetworkErrorText(err);
}

/**
 * OpenSSL's own error line ("80…:error:0A00010B:SSL routines:ssl3_get_record:wrong version
 * number:../deps/openssl/openssl/ssl/record/ssl3_record.c:350:" and a newline) reduced to its
 * reason; an https:// URL for a server that speaks http:// said so in those words only.
 */
function tlsErrorText(message: string): string | undefined {
  const reason = /:error:[0-9A-F]+:[^:]*routines:[^:]*:([^:]+):/.exec(message)?.[1];
  if (reason === undefined) return undefined;
  if (reason === "wrong version number")
    return "TLS handshake failed: the server there does not speak TLS (an https:// URL for an http:// server?)";
  return `TLS failed: ${reason}`;
}

function plainNetworkErrorText(err: Error): string {
  // llhttp's own words ("Response does not match the HTTP/1.1 protocol (Expected HTTP/, RTSP/ or
  // ICE/)") say nothing of the likely cause: a url whose port is not a web server's (ssh's, a
  // database's), or a server that sent more than its Content-Length.
  if (err.name === "HTTPParserError")
    return `the server's answer is not HTTP: is the URL's port a web server's? (${err.message})`;
  const code = (err as NodeJS.ErrnoException).code;
  const tls = tlsErrorText(err.message);
  if (tls !== undefined) return typeof code === "string" ? `${tls} (${code})` : tls;
  if (typeof code === "string" && UNDICI_WORDS[code] !== undefined) return `${UNDICI_WORDS[code]} (${code})`;
  if (typeof code === "string" && NETWORK_WORDS[code] !== undefined)
    return `${NETWORK_WORDS[code]} (${code})`;
  if (errnoCode(err) !== undefined) return fsErrorText(err);
  return code === undefined ? err.message : `${err.message} (${code})`;
}

/** A request that failed below HTTP (network, TLS), said in words, with its code kept for callers. */
export function networkFailure(url: string, err: unknown): DownloadError {
  const code = err instanceof Error ? (err as NodeJS.ErrnoException).code : undefined;
  // Node's ERR_TLS_CERT_ALTNAME_INVALID keeps the certificate it refused; its names say what url must name.
  const names = (err as { cert?: { subjectaltname?: unknown } } | null)?.cert?.subjectaltname;
  return new DownloadError(
    url,
    networkErrorText(err),
    isRetryableError(err),
    undefined,
    undefined,
    typeof code === "string" ? code : undefined,
    undefined,
    typeof names === "string" && names !== "" ? names : undefined,
  );
}
