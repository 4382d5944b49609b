/**
 * A small text body (a `.sha256` or `.sig`) as the file it is, undoing the Content-Encoding the
 * server sent it with. A server or bucket that stores such files gzipped (S3 objects uploaded with
 * `Content-Encoding: gzip`, nginx `gzip_static always`) sends the compressed bytes whether or not
 * ship asked: they were quoted back as "not a sha256sum line: \x1f\x8b…", binary noise in the
 * terminal and the log, for a checksum that was right. The archive itself is never decoded (its
 * bytes are what the checksum covers): download.ts says what the server did instead.
 */
import { brotliDecompressSync, gunzipSync, inflateRawSync, inflateSync } from "node:zlib";
import { VerificationError } from "../../shared/errors.js";
import { companionTooLarge, MAX_COMPANION_BYTES } from "../sources/checksum.js";

type Decoder = (input: Buffer, maxOutputLength: number) => Buffer;

const decoders: Record<string, Decoder> = {
  gzip: (input, maxOutputLength) => gunzipSync(input, { maxOutputLength }),
  "x-gzip": (input, maxOutputLength) => gunzipSync(input, { maxOutputLength }),
  br: (input, maxOutputLength) => brotliDecompressSync(input, { maxOutputLength }),
  // "deflate" is zlib-wrapped by the RFC; some servers send it raw.
  deflate: (input, maxOutputLength) => {
    try {
      return inflateSync(input, { maxOutputLength });
    } catch (error) {
      if (tooLarge(error)) throw error;
      return inflateRawSync(input, { maxOutputLength });
    }
  },
};

/**
 * `body` decoded as `contentEncoding` lists (applied in order, so undone last first), at most
 * MAX_COMPANION_BYTES once decoded: a small compressed body that expands past it is refused as a large one
 * is (fetchText), before it fills memory.
 */
export function decodedBody(body: Buffer, contentEncoding: string | undefined, where: string): Buffer {
  const codings = (contentEncoding ?? "")
    .split(",")
    .map((c) => c.trim().toLowerCase())
    .filter((c) => c !== "" && c !== "identity");
  let out = body;
  for (const coding of codings.reverse()) {
    const decode = decoders[coding];
    // The file as served is unusable, as a file that is no sha256sum is: exit 2, no retry.
    if (decode === undefined)
      throw new VerificationError(
        where,
        `sent with Content-Encoding ${coding}, which ship cannot decode: serve it uncompressed`,
      );
    const expanded = () => companionTooLarge(where, ` once decompressed (Content-Encoding ${coding})`);
    try {
      out = decode(out, MAX_COMPANION_BYTES + 1);
    } catch (error) {
      if (tooLarge(error)) throw expanded();
      throw new VerificationError(
        where,
        `sent with Content-Encoding ${coding}, but it does not decompress as that (${(error as Error).message}): serve it uncompressed`,
      );
    }
    if (out.length > MAX_COMPANION_BYTES) throw expanded();
  }
  return out;
}

function tooLarge(error: unknown): boolean {
  return (error as { code?: unknown }).code === "ERR_BUFFER_TOO_LARGE" || error instanceof RangeError;
}
