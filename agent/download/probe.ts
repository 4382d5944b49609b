/**
 * Small requests around a download: a conditional probe that reads headers only (so `check()`
 * never downloads a body), and fetching a short text file such as a .sha256. A probe answered 200
 * may hand its unread answer on (OpenResponse): the download then reads that body instead of
 * asking the server again, so an update costs one request for the archive, not two.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { companionText } from "../../shared/companion-text.js";
import { ShipError } from "../../shared/errors.js";
import { companionTooLarge, MAX_COMPANION_BYTES } from "../sources/checksum.js";
import type { SourceLog } from "../sources/types.js";
import { afterAttempts, type PatienceSetting, silenceSaid } from "./attempts.js";
import { type DeadlineSetting, startDeadline, waitBeforeRetry } from "./deadline.js";
import { decodedBody } from "./decoded-text.js";
import { createHttpClient } from "./dispatcher.js";
import { DownloadError, httpStatusError, networkFailure, unaskedNotModified } from "./errors.js";
import { getFollowingRedirects, type RedirectedResponse } from "./follow-redirects.js";
import { headerValue } from "./header-value.js";
import { proxyCredentialsRefused } from "./proxy.js";
import { redactUrl, requestSecrets } from "./redact.js";
import { backoffMs } from "./retry.js";
import { serverReason } from "./server-reason.js";

export interface HttpCallOptions extends DeadlineSetting, PatienceSetting {
  /** The source's configured headers: sent to the URL's own origin only. */
  headers?: Record<string, string>;
  caFile?: string;
  retries?: number;
  retryDelayMs?: number;
  signal?: AbortSignal;
  /** Says each retry and its wait: a Retry-After may hold the run for minutes. */
  log?: SourceLog;
}

/**
 * A 200 whose body nobody has read yet, with the client it arrived on: the first response of a
 * download (DownloadRequest.opened). close() drops the body if it is still unread and closes the
 * client; it may be called more than once.
 */
export interface OpenResponse {
  readonly response: RedirectedResponse;
  close(): Promise<void>;
}

export type ProbeResult =
  | { status: "not-modified" }
  | {
      status: "changed";
      etag?: string;
      lastModified?: string;
      contentLength?: number;
      /** The answer itself, body unread, when the caller asked to keep it (keepBody). */
      open?: OpenResponse;
    };

/**
 * A conditional GET: 304 means the stored validators still match. A 200's body is dropped unread,
 * or with `keepBody` handed back unread (`open`) for the download to read: the caller then owns
 * it and must close() it.
 */
export async function probeUrl(
  url: string,
  validators: { etag?: string; lastModified?: string },
  options: HttpCallOptions = {},
  keepBody = false,
): Promise<ProbeResult> {
  const headers: Record<string, string> = {};
  if (validators.etag !== undefined) headers["if-none-match"] = validators.etag;
  if (validators.lastModified !== undefined) headers["if-modified-since"] = validators.lastModified;
  return call(url, headers, options, async (status, resHeaders, _body, keep) => {
    if (status === 304) {
      // Only an answer to the validators sent: one to a plain GET holds neither a file nor a match.
      if (Object.keys(headers).length === 0) throw unaskedNotModified(redactUrl(url));
      return { status: "not-modified" };
    }
    const length = headerValue(resHeaders, "content-length");
    return {
      status: "changed",
      etag: headerValue(resHeaders, "etag"),
      lastModified: headerValue(resHeaders, "last-modified"),
      contentLength: length === undefined ? undefined : Number(length),
      ...(keepBody ? { open: keep() } : {}),
    };
  });
}

/** GET a checksum or signature file: at most MAX_COMPANION_BYTES, decoded, as text. */
export async function fetchText(url: string, options: HttpCallOptions = {}): Promise<string> {
  return call(url, {}, options, async (status, headers, body) => {
    if (status !== 200) {
      const said = await serverReason(headers, body, requestSecrets([url], options.headers ?? {}));
      throw httpStatusError(redactUrl(url), status, headers, undefined, said);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of body) {
      size += chunk.length;
      if (size > MAX_COMPANION_BYTES) throw companionTooLarge(redactUrl(url));
      chunks.push(chunk);
    }
    const encoding = headerValue(headers, "content-encoding");
    return companionText(decodedBody(Buffer.concat(chunks), encoding, redactUrl(url)));
  });
}

type Reader<T> = (
  status: number,
  headers: Record<string, string | string[] | undefined>,
  body: AsyncIterable<Buffer>,
  /** Leaves the response open, body unread, for the caller (the client is not closed here). */
  keep: () => OpenResponse,
) => Promise<T>;

async function call<T>(
  url: string,
  headers: Record<string, string>,
  options: HttpCallOptions,
  read: Reader<T>,
): Promise<T> {
  const client = await createHttpClient({ caFile: options.caFile, timeoutMs: options.timeoutMs });
  const deadline = startDeadline(options, options.signal);
  let kept: OpenResponse | undefined;
  const startedMs = performance.now();
  try {
    for (let attempt = 1; ; attempt++) {
      try {
        const res = await getFollowingRedirects({
          url,
          headers,
          credentials: options.headers ?? {},
          dispatcher: client.dispatcher,
          ...(deadline.signal === undefined ? {} : { signal: deadline.signal }),
        });
        try {
          if (res.statusCode >= 300 && res.statusCode !== 304 && res.statusCode !== 200) {
            const said = await serverReason(
              res.headers,
              res.body as AsyncIterable<Buffer>,
              requestSecrets([url, ...(res.requestedVia ?? [])], options.headers ?? {}),
            );
            throw httpStatusError(redactUrl(url), res.statusCode, res.headers, res.redirectedTo, said);
          }
          const keep = (): OpenResponse => {
            kept = openResponse(res, client);
            return kept;
          };
          return await read(res.statusCode, res.headers, res.body as AsyncIterable<Buffer>, keep);
        } finally {
          if (kept === undefined && !res.body.readableEnded && !res.body.destroyed) {
            res.body.on("error", () => undefined);
            res.body.destroy();
          }
        }
      } catch (err) {
        const late = deadline.failure(redactUrl(url));
        if (late !== undefined) throw late;
        // Refusals (a redirect to plain http) are not network trouble: no retry, their own exit code.
        if (err instanceof ShipError && !(err instanceof DownloadError)) throw err;
        const refused = proxyCredentialsRefused(err, url);
        if (refused !== undefined) throw refused;
        const failure = silenceSaid(
          err instanceof DownloadError ? err : networkFailure(redactUrl(url), err),
          options,
        );
        const retries = options.retries ?? 3;
        if (!failure.retryable || attempt > retries || options.signal?.aborted)
          throw afterAttempts(failure, attempt, startedMs, options, retries);
        const wait = waitBeforeRetry(failure, backoffMs(attempt, options.retryDelayMs ?? 1000), deadline);
        // A server's Retry-After can ask for up to 300 s: without this line the run sat silent.
        options.log?.warn(`request failed; retrying in ${Math.ceil(wait / 1000)} s`, {
          url: failure.url,
          attempt,
          reason: failure.reason,
          ...(failure.retryAfterMs === undefined ? {} : { retryAfter: "asked by the server" }),
        });
        await sleep(wait, undefined, {
          signal: deadline.signal,
        }).catch((sleepErr: unknown) => {
          throw deadline.failure(redactUrl(url)) ?? sleepErr;
        });
      }
    }
  } finally {
    deadline.clear();
    if (kept === undefined) await client.close();
  }
}

function openResponse(res: RedirectedResponse, client: { close(): Promise<void> }): OpenResponse {
  // Until the download reads it, a body error (the server cut the connection, the client's body
  // timeout) has no reader: it must not end the process. The reader sees it as the stream's error.
  res.body.on("error", () => undefined);
  let closing: Promise<void> | undefined;
  return {
    response: res,
    close() {
      closing ??= (async () => {
        if (!res.body.readableEnded && !res.body.destroyed) res.body.destroy();
        await client.close();
      })();
      return closing;
    },
  };
}
