/**
 * A release archive extracted as it downloads (http(s), sftp, hub artifacts): each chunk goes to
 * the artifact file and, in the same pass, into the extractor, so the fetch costs about the longer
 * of the two instead of their sum, and the archive is never read back from disk. The artifact is
 * still written whole (second passes for left-out files and the signature check use it).
 *
 * Nothing is installed from unverified bytes: staging is only handed on once the whole artifact
 * is in and matches its checksum; on a mismatch, a failed download or a refused archive, staging
 * is left empty and the artifact removed. When the download starts over from byte 0 (the server
 * ignored Range), the streamed extraction is dropped and the complete file is extracted instead.
 */
import { createReadStream } from "node:fs";
import { PassThrough, type Writable } from "node:stream";
import { VerificationError } from "../../shared/errors.js";
import { ArchiveFormatError } from "../archive/archive-format-error.js";
import { type ExtractOptions, type ExtractResult, extractArchive } from "../archive/extract.js";
import { removeArtifact, verifyArtifact } from "./artifact.js";

/** Receives the body's chunks in order (see DownloadRequest.onChunk). */
export type ChunkSink = (chunk: Buffer, offset: number) => Promise<void>;

export interface DownloadExtractJob<T extends { sha256: string }> {
  /** The file the transfer writes. */
  artifact: string;
  /**
   * Where the archive comes from (credentials redacted): names it in a checksum mismatch and in
   * every archive error, since the artifact file's own name means nothing to the operator.
   */
  where: string;
  stagingDir: string;
  extract: ExtractOptions;
  /** The configured checksum; the staged release is only returned when the artifact has it. */
  expectedSha256?: string | undefined;
  signal?: AbortSignal | undefined;
  /**
   * The error for an archive that ends early (a truncated gzip stream or tar) although the
   * transfer ended where the server said it would, when no checksum vouches for the bytes: the
   * server's length is what is wrong, not the archive the operator published. Without it, or
   * when it gives undefined, the archive's own error stands.
   */
  endedEarly?: ((downloaded: T, why: string) => Error | undefined) | undefined;
  /** Runs the transfer into `artifact`, passing every chunk to `onChunk`; stops when `signal` aborts. */
  download: (onChunk: ChunkSink, signal: AbortSignal) => Promise<T>;
}

/** Bytes the download may run ahead of the extractor; beyond that the download waits. */
const AHEAD_BYTES = 1 << 20;

export async function extractWhileDownloading<T extends { sha256: string }>(
  job: DownloadExtractJob<T>,
): Promise<{ downloaded: T; extracted: ExtractResult }> {
  const body = new PassThrough({ highWaterMark: AHEAD_BYTES });
  // Failures reach the caller through the promises below, not as stream events.
  body.on("error", () => undefined);
  const stop = new AbortController();
  const signal = job.signal === undefined ? stop.signal : AbortSignal.any([job.signal, stop.signal]);
  let next = 0;
  /** The download started over, so the streamed extraction was dropped. */
  let abandoned = false;
  let transferEnded = false;
  /** The download was stopped because the extraction had already failed. */
  let stoppedEarly = false;
  const onChunk: ChunkSink = async (chunk, offset) => {
    if (abandoned || body.destroyed) return;
    if (offset !== next) {
      abandoned = true;
      body.destroy(new Error("the download started over"));
      return;
    }
    next += chunk.length;
    if (!body.write(chunk)) await drainedOrClosed(body);
  };
  const downloading = job.download(onChunk, signal).then(
    (result) => {
      transferEnded = true;
      body.end();
      return result;
    },
    (err: unknown) => {
      transferEnded = true;
      body.destroy(err instanceof Error ? err : new Error(String(err)));
      throw err;
    },
  );
  const verified = downloading.then(async (result) => {
    if (job.expectedSha256 !== undefined)
      await verifyArtifact(job.artifact, result.sha256, job.expectedSha256, job.where);
    return result;
  });
  const extracting = extractArchive(
    { body, label: job.where, complete: () => verified.then(() => job.artifact) },
    job.stagingDir,
    job.extract,
  );
  // A refused archive needs no more bytes, unless a checksum is to say which error is the true one.
  extracting.catch(() => {
    if (abandoned || transferEnded || job.expectedSha256 !== undefined) return;
    stoppedEarly = true;
    stop.abort();
  });
  const [download, extraction] = await Promise.allSettled([verified, extracting]);
  try {
    if (download.status === "rejected") {
      throw stoppedEarly && extraction.status === "rejected"
        ? extraction.reason
        : mismatchSayingWhatItIs(download.reason, extraction);
    }
    if (extraction.status === "fulfilled") return { downloaded: download.value, extracted: extraction.value };
    if (!abandoned) throw serverCutShort(job, download.value, extraction.reason) ?? extraction.reason;
    return {
      downloaded: download.value,
      extracted: await extractArchive(
        { body: createReadStream(job.artifact), label: job.where, complete: async () => job.artifact },
        job.stagingDir,
        job.extract,
      ),
    };
  } catch (err) {
    await removeArtifact(job.artifact);
    throw err;
  }
}

/**
 * A checksum mismatch whose bytes the reader named as no archive at all: an HTML page a server
 * answered 200 with (a login or error page), an empty file, a zip. "checksum mismatch" alone sent
 * operators comparing hashes; without a checksum the same body said what it is.
 */
function mismatchSayingWhatItIs(err: unknown, extraction: PromiseSettledResult<unknown>): unknown {
  if (!(err instanceof VerificationError) || !/: checksum mismatch: /.test(err.message)) return err;
  if (extraction.status !== "rejected" || !(extraction.reason instanceof ArchiveFormatError)) return err;
  const what = /^not a valid tar archive: (it is .*)$/.exec(extraction.reason.reason)?.[1];
  if (what === undefined) return err;
  return new VerificationError(err.what, `${err.message.slice(err.what.length + 2)}: ${what}`);
}

/** tar's and zlib's words for an archive whose bytes stop before its end. */
const ENDS_EARLY = /: not a valid tar archive: (unexpected end of file|Truncated input\b.*)$/;

function serverCutShort<T extends { sha256: string }>(
  job: DownloadExtractJob<T>,
  downloaded: T,
  reason: unknown,
): Error | undefined {
  if (job.endedEarly === undefined || job.expectedSha256 !== undefined || !(reason instanceof Error))
    return undefined;
  const why = ENDS_EARLY.exec(reason.message)?.[1];
  return why === undefined ? undefined : job.endedEarly(downloaded, why);
}

function drainedOrClosed(stream: Writable): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      stream.off("drain", done);
      stream.off("close", done);
      resolve();
    };
    stream.on("drain", done);
    stream.on("close", done);
  });
}
