/**
 * Streaming HTTP(S) download to a file: sha256 computed on the way, resumed with Range after a
 * cut (If-Range keeps a changed file from being stitched together), restarted cleanly when the
 * server ignores Range, retried with backoff when the failure is transient.
 */
import { createHash, type Hash } from "node:crypto";
import { type FileHandle, open } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import type { Dispatcher } from "undici";
import { ShipError, VerificationError } from "../../shared/errors.js";
import { isLocalDiskFailure, LocalWriteError } from "../../shared/fs-errors.js";
import { sizeText } from "../../shared/size-text.js";
import { overLimit } from "../archive/limits.js";
import { validatorsToKeep } from "../sources/http-validators.js";
import type { SourceLog } from "../sources/types.js";
import { afterAttempts, type PatienceSetting, silenceSaid } from "./attempts.js";
import { type Deadline, type DeadlineSetting, startDeadline, waitBeforeRetry } from "./deadline.js";
import { createHttpClient } from "./dispatcher.js";
import { DownloadError, httpStatusError, networkFailure, unaskedNotModified } from "./errors.js";
import { getFollowingRedirects } from "./follow-redirects.js";
import { headerValue } from "./header-value.js";
import type { OpenResponse } from "./probe.js";
import type { ProgressCallback } from "./progress.js";
import { proxyCredentialsRefused } from "./proxy.js";
import { redactUrl, requestSecrets } from "./redact.js";
import { backoffMs } from "./retry.js";
import { serverReason } from "./server-reason.js";

export interface DownloadRequest extends DeadlineSetting, PatienceSetting {
  url: string;
  /** File to write; created or truncated. */
  dest: string;
  /** The source's configured headers: sent to the URL's own origin only, never logged. */
  headers?: Record<string, string>;
  /** Validators from the last download: when the server still matches, it answers 304. */
  ifNoneMatch?: string;
  ifModifiedSince?: string;
  /**
   * The first request's answer, already made and unread (the check's probe, probeUrl's `open`):
   * read instead of asking the server again. Resumes and restarts ask as usual. Closed when the
   * download ends, read or not.
   */
  opened?: OpenResponse;
  caFile?: string;
  /** Attempts after the first that made no progress. */
  retries?: number;
  /** Base of the exponential backoff; 0 in tests. */
  retryDelayMs?: number;
  maxBytes?: number;
  /** The operator's setting behind maxBytes (mbSetting), named when a download is refused by it. */
  maxBytesSetting?: string;
  signal?: AbortSignal;
  onProgress?: ProgressCallback;
  /**
   * Each chunk of the body once it is in `dest`, with its offset in the file; awaited (its
   * backpressure slows the download). Offsets run on across resumes and go back to 0 when the
   * download starts over. Must not throw.
   */
  onChunk?: (chunk: Buffer, offset: number) => Promise<void> | void;
  log?: SourceLog;
}

export type DownloadResult =
  | { status: "not-modified" }
  | {
      status: "downloaded";
      sha256: string;
      bytes: number;
      /** The length the server announced (Content-Length, or a Content-Range's total); undefined when it gave none. */
      announcedBytes?: number;
      /** A Content-Encoding the server applied unasked (ship sends no Accept-Encoding): the file is stored as sent. */
      contentEncoding?: string;
      etag?: string;
      lastModified?: string;
      /** The server's Date on the answer ETag and Last-Modified came with: when it read them (racy-rule.ts). */
      date?: string;
      /** Requests that continued with Range after a cut. */
      resumes: number;
      /** Times the server ignored Range and the file was started over. */
      restarts: number;
    };

/**
 * Body chunks are gathered up to this size before they are written: a loopback or LAN socket
 * delivers 64 KiB pieces, and one file write (a thread-pool round trip) per piece costs more than
 * the bytes. The gathered pieces go to the file in one writev, not copied into one buffer first:
 * that copy was the whole archive again in memory traffic.
 */
const WRITE_BYTES = 1 << 20;

/** Attempts that keep making progress are not counted as failures, but this many is enough. */
const MAX_ATTEMPTS = 50;

export async function downloadFile(req: DownloadRequest): Promise<DownloadResult> {
  try {
    const client = await createHttpClient({ caFile: req.caFile, timeoutMs: req.timeoutMs });
    const fh = await open(req.dest, "w", 0o600).catch(async (err: unknown) => {
      await client.close();
      throw err;
    });
    const deadline = startDeadline(req, req.signal);
    // The opened answer was asked for without this download's signal: its end or abort ends it too.
    const stopOpened = () => req.opened?.response.body.destroy(new Error("the download was stopped"));
    if (deadline.signal?.aborted === true) stopOpened();
    else deadline.signal?.addEventListener("abort", stopOpened, { once: true });
    const transfer = new Transfer(req, client.dispatcher, fh, deadline);
    try {
      return await transfer.run();
    } finally {
      deadline.signal?.removeEventListener("abort", stopOpened);
      deadline.clear();
      await fh.close();
      await client.close();
    }
  } finally {
    await req.opened?.close();
  }
}

class Transfer {
  private bytes = 0;
  private hash: Hash = createHash("sha256");
  private total: number | undefined;
  private etag: string | undefined;
  private lastModified: string | undefined;
  private date: string | undefined;
  /** Our clock before the full answer was asked for: its Date's stand-in when it has none. */
  private askedAtMs = 0;
  private encoding: string | undefined;
  private resumes = 0;
  private restarts = 0;
  /**
   * Cleared once the server answered a resume wrongly (badResume): every later attempt of this
   * download asks for the whole file, as asking with the same Range again gets the same answer.
   */
  private resumable = true;
  private readonly shownUrl: string;
  /** Received, not yet written: the body comes in socket-sized pieces, the file gets WRITE_BYTES. */
  private held: Buffer[] = [];
  private heldBytes = 0;

  constructor(
    private readonly req: DownloadRequest,
    private readonly dispatcher: Dispatcher,
    private readonly fh: FileHandle,
    private readonly deadline: Deadline,
  ) {
    this.shownUrl = redactUrl(req.url);
  }

  async run(): Promise<DownloadResult> {
    let failures = 0;
    const startedMs = performance.now();
    for (let attempt = 1; ; attempt++) {
      const before = this.bytes;
      try {
        if ((await this.attempt(attempt === 1)) === "not-modified") return { status: "not-modified" };
        return {
          status: "downloaded",
          sha256: this.hash.digest("hex"),
          bytes: this.bytes,
          ...(this.total === undefined ? {} : { announcedBytes: this.total }),
          ...(this.encoding === undefined ? {} : { contentEncoding: this.encoding }),
          etag: this.etag,
          lastModified: this.lastModified,
          ...(this.date === undefined ? {} : { date: this.date }),
          resumes: this.resumes,
          restarts: this.restarts,
        };
      } catch (err) {
        // Policy refusals (size) are bad input, not network trouble: no retry, exit 2.
        if (err instanceof ShipError && !(err instanceof DownloadError)) throw err;
        const refused = proxyCredentialsRefused(err, this.req.url);
        if (refused !== undefined) throw refused;
        // A full or read-only disk is this machine's problem; retrying the network will not help.
        if (isLocalDiskFailure(err)) throw this.writeFailure(err);
        const progress = `${this.bytes}${this.total === undefined ? "" : ` of ${this.total}`} bytes arrived`;
        const late = this.deadline.failure(this.shownUrl, progress);
        if (late !== undefined) throw late;
        const failure = silenceSaid(this.asDownloadError(err), this.req);
        if (this.bytes === before) failures++;
        const retries = this.req.retries ?? 3;
        if (!failure.retryable || this.req.signal?.aborted || failures > retries || attempt >= MAX_ATTEMPTS) {
          throw afterAttempts(failure, attempt, startedMs, this.req, retries, attempt - failures);
        }
        this.req.log?.warn("download interrupted; retrying", {
          url: this.shownUrl,
          bytes: this.bytes,
          attempt,
          reason: failure.reason,
        });
        const backoff = backoffMs(Math.max(1, failures), this.req.retryDelayMs ?? 1000);
        await sleep(waitBeforeRetry(failure, backoff, this.deadline), undefined, {
          signal: this.deadline.signal,
        }).catch((sleepErr: unknown) => {
          throw this.deadline.failure(this.shownUrl, progress) ?? sleepErr;
        });
      }
    }
  }

  private async attempt(first: boolean): Promise<"done" | "not-modified"> {
    const headers: Record<string, string> = {};
    const validator = this.resumeValidator();
    const resumeFrom = this.bytes > 0 && validator !== undefined && this.resumable ? this.bytes : 0;
    if (this.bytes > 0 && resumeFrom === 0)
      await this.startOver(
        this.resumable ? "no validator to resume safely" : "the server answers Range wrongly",
      );
    if (resumeFrom > 0) {
      headers.range = `bytes=${resumeFrom}-`;
      headers["if-range"] = validator as string;
    }
    if (first && this.req.ifNoneMatch !== undefined) headers["if-none-match"] = this.req.ifNoneMatch;
    if (first && this.req.ifModifiedSince !== undefined)
      headers["if-modified-since"] = this.req.ifModifiedSince;

    const askedAtMs = Date.now();
    const res =
      first && this.req.opened !== undefined
        ? this.req.opened.response
        : await getFollowingRedirects({
            url: this.req.url,
            headers,
            credentials: this.req.headers ?? {},
            dispatcher: this.dispatcher,
            ...(this.deadline.signal === undefined ? {} : { signal: this.deadline.signal }),
          });
    try {
      const conditional = this.req.ifNoneMatch !== undefined || this.req.ifModifiedSince !== undefined;
      if (res.statusCode === 304 && first && conditional) return "not-modified";
      // A 304 to a request that named no version of the file: nothing to compare with, and no file.
      if (res.statusCode === 304) throw unaskedNotModified(this.shownUrl);
      /** Where a 206's body must end (its Content-Range's last byte + 1); undefined for a 200. */
      let rangeEnd: number | undefined;
      if (res.statusCode === 206) {
        if (resumeFrom === 0) throw this.unaskedPartial(res.headers);
        rangeEnd = await this.acceptPartial(res.headers, resumeFrom);
        this.resumes++;
      } else if (res.statusCode === 200) {
        if (this.bytes > 0) await this.startOver("the server ignored the Range request");
        this.acceptFull(res.headers, askedAtMs);
      } else {
        const said = await serverReason(
          res.headers,
          res.body as AsyncIterable<Buffer>,
          requestSecrets([this.req.url, ...(res.requestedVia ?? [])], this.req.headers ?? {}),
        );
        throw httpStatusError(this.shownUrl, res.statusCode, res.headers, res.redirectedTo, said);
      }
      const max = this.req.maxBytes;
      if (max !== undefined && this.total !== undefined && this.total > max) {
        throw new VerificationError(
          this.shownUrl,
          `size ${overLimit(this.total, max, this.req.maxBytesSetting)}`,
        );
      }
      try {
        for await (const chunk of res.body as AsyncIterable<Buffer>) {
          if (max !== undefined && this.bytes + this.heldBytes + chunk.length > max) {
            const limit = this.req.maxBytesSetting ?? `the limit of ${sizeText(max)}`;
            throw new VerificationError(this.shownUrl, `the body runs past ${limit}`);
          }
          if (rangeEnd !== undefined && this.bytes + this.heldBytes + chunk.length > rangeEnd) {
            // Bytes past the range it named are not the file's next ones: none of this answer is kept.
            this.held = [];
            this.heldBytes = 0;
            throw await this.badResume(`sent more than its ${rangeText(res.headers)}`, resumeFrom);
          }
          this.held.push(chunk);
          this.heldBytes += chunk.length;
          if (this.heldBytes >= WRITE_BYTES) await this.flush();
        }
      } finally {
        // Bytes that arrived before a cut are good: they are kept, and the resume starts after them.
        await this.flush();
      }
      // The body ended cleanly short of its own Content-Range (its Content-Length says less): asked
      // again, it says the same.
      if (rangeEnd !== undefined && this.bytes < rangeEnd)
        throw await this.badResume(
          `ended at byte ${this.bytes}, short of its ${rangeText(res.headers)}`,
          resumeFrom,
        );
      if (this.total !== undefined && this.bytes !== this.total) {
        throw new DownloadError(
          this.shownUrl,
          `connection closed at ${this.bytes} of ${this.total} bytes`,
          true,
        );
      }
      return "done";
    } finally {
      // Unread bodies (304, errors, refusals) are dropped; undici reports that as an error event.
      if (!res.body.readableEnded && !res.body.destroyed) {
        res.body.on("error", () => undefined);
        res.body.destroy();
      }
    }
  }

  private acceptFull(headers: Record<string, string | string[] | undefined>, askedAtMs: number): void {
    this.askedAtMs = askedAtMs;
    const length = headerValue(headers, "content-length");
    this.total = length === undefined ? undefined : Number(length);
    this.etag = headerValue(headers, "etag");
    this.lastModified = headerValue(headers, "last-modified");
    this.date = headerValue(headers, "date");
    const encoding = headerValue(headers, "content-encoding")?.trim().toLowerCase();
    this.encoding =
      encoding === undefined || encoding === "" || encoding === "identity" ? undefined : encoding;
  }

  /** A resume's 206: the end of the range it sends, once its Content-Range is the one asked for. */
  private async acceptPartial(
    headers: Record<string, string | string[] | undefined>,
    from: number,
  ): Promise<number> {
    const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(headerValue(headers, "content-range") ?? "");
    const end = Number(m?.[2]) + 1;
    const total = m === null || m[3] === "*" ? undefined : Number(m[3]);
    if (m === null || Number(m[1]) !== from || end <= from || (total !== undefined && end > total))
      throw await this.badResume(`answered with ${rangeText(headers)}`, from);
    const etag = headerValue(headers, "etag");
    // A server that ignores If-Range answers 206 with the rest of a NEW file: spliced onto the old
    // bytes that would be neither release. Another ETag or length means the file changed: start over.
    const changed =
      (etag !== undefined && this.etag !== undefined && etag !== this.etag) ||
      (total !== undefined && this.total !== undefined && total !== this.total);
    if (changed) {
      await this.startOver("the file changed on the server during the download");
      throw new DownloadError(this.shownUrl, "the file changed on the server during the download", true);
    }
    if (total !== undefined) this.total = total;
    return end;
  }

  /**
   * A server that answers a resume wrongly (a Content-Range not the one asked for, or a body that
   * is not the range it names) was asked again with the same Range until the retries ran out: four
   * identical failures, and no release. The download starts over once without Range instead.
   */
  private async badResume(what: string, from: number): Promise<DownloadError> {
    const reason = `the resume from byte ${from} ${what}; starting over without Range`;
    this.resumable = false;
    await this.startOver(reason);
    return new DownloadError(this.shownUrl, reason, true);
  }

  /**
   * A 206 to a request without Range is not the file, and asking again the same way gets the same:
   * refused at once, naming the header (it was "HTTP 206", as if 206 were an error status).
   */
  private unaskedPartial(headers: Record<string, string | string[] | undefined>): DownloadError {
    return new DownloadError(
      this.shownUrl,
      `answered 206 Partial Content (${rangeText(headers)}) to a request without Range; ship downloads the whole file with a plain GET`,
      false,
      206,
    );
  }

  /**
   * If-Range needs a strong ETag, or failing that the Last-Modified date; neither when
   * Last-Modified is not older than the answer (RFC 7232's "strong" date, git's racy rule): a
   * same-size rewrite in that second keeps both (nginx's ETag is mtime-size), and the server would
   * answer 206 with the new file's rest, spliced onto the old file's start. The download then
   * starts over.
   */
  private resumeValidator(): string | undefined {
    const { keep } = validatorsToKeep(
      { etag: this.etag, lastModified: this.lastModified, date: this.date },
      this.askedAtMs,
    );
    if (keep.etag !== undefined && !keep.etag.startsWith("W/")) return keep.etag;
    return keep.lastModified;
  }

  private async startOver(why: string): Promise<void> {
    this.req.log?.info("restarting download from the beginning", {
      url: this.shownUrl,
      why,
      had: this.bytes,
    });
    await this.fh.truncate(0).catch((error: unknown) => {
      throw this.writeFailure(error);
    });
    this.bytes = 0;
    this.hash = createHash("sha256");
    this.restarts++;
  }

  /** Writes (and hashes, and hands on) the chunks received since the last flush, in one writev. */
  private async flush(): Promise<void> {
    if (this.heldBytes === 0) return;
    const chunks = this.held;
    const size = this.heldBytes;
    this.held = [];
    this.heldBytes = 0;
    // The write runs on the thread pool while the chunks are hashed and handed on.
    const written = this.write(chunks, this.bytes);
    const handedOn = this.handOn(chunks, this.bytes);
    for (const chunk of chunks) this.hash.update(chunk);
    await Promise.all([written, handedOn]);
    this.bytes += size;
    this.req.onProgress?.(this.bytes, this.total);
  }

  /** onChunk for each piece in order, each awaited (its backpressure slows the download). */
  private async handOn(chunks: Buffer[], position: number): Promise<void> {
    const onChunk = this.req.onChunk;
    if (onChunk === undefined) return;
    let offset = position;
    for (const chunk of chunks) {
      await onChunk(chunk, offset);
      offset += chunk.length;
    }
  }

  /** All of `chunks` at `position`; a short writev is continued from the first byte not written. */
  private async write(chunks: Buffer[], position: number): Promise<void> {
    let pending = chunks;
    let at = position;
    while (pending.length > 0) {
      const { bytesWritten } = await this.fh.writev(pending, at).catch((error: unknown) => {
        throw this.writeFailure(error);
      });
      at += bytesWritten;
      pending = rest(pending, bytesWritten);
    }
  }

  /**
   * The download's file could not be written: this machine's failure, whatever the errno, never
   * retried as the network's. A write on a handle names no file: a full disk was "cannot write the
   * download of URL: no space left on device (ENOSPC)", with neither the file nor its directory.
   */
  private writeFailure(error: unknown): LocalWriteError {
    return new LocalWriteError(`${this.req.dest} (the download of ${this.shownUrl})`, error);
  }

  private asDownloadError(err: unknown): DownloadError {
    if (err instanceof DownloadError) return err;
    return networkFailure(this.shownUrl, err);
  }
}

/** A 206's Content-Range as messages name it. */
function rangeText(headers: Record<string, string | string[] | undefined>): string {
  const contentRange = headerValue(headers, "content-range");
  return contentRange === undefined ? "no Content-Range" : `Content-Range: ${contentRange}`;
}

/** What is left of `chunks` once their first `skip` bytes are written. */
function rest(chunks: Buffer[], skip: number): Buffer[] {
  let left = skip;
  const out: Buffer[] = [];
  for (const chunk of chunks) {
    if (left >= chunk.length) {
      left -= chunk.length;
      continue;
    }
    out.push(left === 0 ? chunk : chunk.subarray(left));
    left = 0;
  }
  return out;
}
