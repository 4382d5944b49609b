/**
 * A download cut halfway resumes with Range. A server that answers the resume wrongly — a 206 whose
 * Content-Range starts elsewhere, names no range, or whose body runs past it — was asked again with
 * the same Range until the retries ran out: four identical failures, and no release, from a server
 * that sends the whole file to a plain GET. Such a download now starts over once without Range; a
 * server answering 206 even to that is refused at once, naming the URL and its Content-Range.
 * A real HTTP server that cuts its first answer.
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { downloadFile } from "../../../agent/download/download.js";
import { DownloadError } from "../../../agent/download/errors.js";
import { startHttpServer, type TestServer } from "../../support/servers/http-server.js";

const BODY = randomBytes(200 * 1024);
const SIZE = BODY.length;
const sha256 = createHash("sha256").update(BODY).digest("hex");
const ETAG = '"5f1e2d3c-32000"';

/** How a resume (a request with Range) is answered: status, Content-Range (if any), body. */
type Answer = (from: number) => { status: number; contentRange?: string; body: Buffer; etag?: string };

const BAD_RESUMES: [what: string, answer: Answer][] = [
  [
    "a Content-Range starting at 0",
    () => ({ status: 206, contentRange: `bytes 0-${SIZE - 1}/${SIZE}`, body: BODY }),
  ],
  ["no Content-Range", (from) => ({ status: 206, body: BODY.subarray(from) })],
  [
    "a body running past its Content-Range",
    (from) => ({
      status: 206,
      contentRange: `bytes ${from}-${from + 99}/${SIZE}`,
      body: BODY.subarray(from),
    }),
  ],
  [
    "an unreadable Content-Range",
    (from) => ({ status: 206, contentRange: `bytes=${from}-`, body: BODY.subarray(from) }),
  ],
  [
    "a body ending short of its Content-Range",
    (from) => ({
      status: 206,
      contentRange: `bytes ${from}-${SIZE - 1}/${SIZE}`,
      body: BODY.subarray(from, from + 10),
    }),
  ],
  // These two were handled before (the file changed: start over); they stay so.
  [
    "another total in its Content-Range",
    (from) => ({
      status: 206,
      contentRange: `bytes ${from}-${SIZE - 1}/${SIZE + 1}`,
      body: BODY.subarray(from),
    }),
  ],
  [
    "another ETag",
    (from) => ({
      status: 206,
      contentRange: `bytes ${from}-${SIZE - 1}/${SIZE}`,
      body: BODY.subarray(from),
      etag: '"6a000000-32000"',
    }),
  ],
];

describe("a resumed download the server answers wrongly", () => {
  let tmp: string;
  let server: TestServer;
  let resume: Answer;
  /** Whether a request without Range gets 206 too (a server that always answers partially). */
  let plainGets206 = false;

  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), "ship-bad-resume-"));
    server = await startHttpServer((req: IncomingMessage, res: ServerResponse) => {
      const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? "");
      if (server.requests.length === 1) {
        // The first answer is cut halfway: what follows is a resume.
        res.writeHead(200, { etag: ETAG, "content-length": String(SIZE), "accept-ranges": "bytes" });
        res.write(BODY.subarray(0, SIZE / 2), () => res.socket?.destroy());
        return;
      }
      const answer =
        range !== null
          ? resume(Number(range[1]))
          : plainGets206
            ? { status: 206, contentRange: `bytes 0-${SIZE - 1}/${SIZE}`, body: BODY }
            : { status: 200, body: BODY };
      res.writeHead(answer.status, {
        etag: "etag" in answer && answer.etag !== undefined ? answer.etag : ETAG,
        "content-length": String(answer.body.length),
        ...(answer.contentRange === undefined ? {} : { "content-range": answer.contentRange }),
      });
      res.end(answer.body);
    });
  });
  afterAll(async () => {
    await server.close();
    await rm(tmp, { recursive: true, force: true });
  });
  beforeEach(() => {
    server.requests.length = 0;
    plainGets206 = false;
  });

  const download = () =>
    downloadFile({
      url: `${server.url}/app.tar.gz`,
      dest: join(tmp, "out.bin"),
      retryDelayMs: 0,
      retries: 3,
    });

  it.each(BAD_RESUMES)(
    "with %s: starts over once without Range, and the file is whole",
    async (_, answer) => {
      resume = answer;
      const result = await download();
      expect(result).toMatchObject({ status: "downloaded", sha256, bytes: SIZE, restarts: 1 });
      expect((await readFile(join(tmp, "out.bin"))).equals(BODY)).toBe(true);
      // The cut answer, the bad resume, then one plain GET.
      expect(server.requests.map((r) => r.headers.range ?? "none")).toEqual([
        "none",
        `bytes=${SIZE / 2}-`,
        "none",
      ]);
    },
  );

  it("a server answering 206 to a request without Range is refused at once, naming the URL and the header", async () => {
    resume = BAD_RESUMES[0]?.[1] as Answer;
    plainGets206 = true;
    const error = await download().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(DownloadError);
    expect((error as DownloadError).message).toContain(
      `download of ${server.url}/app.tar.gz failed: answered 206 Partial Content (Content-Range: bytes 0-${SIZE - 1}/${SIZE}) to a request without Range; ship downloads the whole file with a plain GET`,
    );
    expect((error as DownloadError).retryable).toBe(false);
    expect(server.requests).toHaveLength(3);
  });
});
