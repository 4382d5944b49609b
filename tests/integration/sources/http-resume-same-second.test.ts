/**
 * A download cut halfway resumes with Range + If-Range. If-Range names the file by its ETag or
 * Last-Modified; when those are of the second the file was written in (nginx's ETag is mtime-size),
 * a same-size rewrite before the resume keeps them, the server answers 206 with the new file's
 * rest, and the two were spliced into one artifact that was neither release. RFC 7232's rule (a
 * Last-Modified is only strong when older than the answer's Date) is the racy rule: such a
 * download starts over instead. A real HTTP server, which cuts the first answer.
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { downloadFile } from "../../../agent/download/download.js";
import { type FileRoute, fileRoutes } from "../../support/servers/file-routes.js";
import { startHttpServer, type TestServer } from "../../support/servers/http-server.js";

const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");
const httpDate = (ms: number) => new Date(Math.floor(ms / 1000) * 1000).toUTCString();

describe("a resumed download of a file rewritten in its second", () => {
  let tmp: string;
  let server: TestServer;
  const routes = new Map<string, FileRoute>();
  /** What the server holds from the second request on (the rewrite between cut and resume). */
  let rewrite: Buffer | undefined;
  let lastModifiedNow = false;

  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), "ship-resume-racy-"));
    const files = fileRoutes(routes);
    let seen = 0;
    server = await startHttpServer((req: IncomingMessage, res: ServerResponse) => {
      const route = routes.get(req.url ?? "");
      if (route !== undefined) {
        if (seen++ > 0 && rewrite !== undefined) route.body = rewrite;
        if (lastModifiedNow) route.lastModified = httpDate(Date.now());
      }
      files(req, res);
    });
  });
  afterAll(async () => {
    await server.close();
    await rm(tmp, { recursive: true, force: true });
  });
  beforeEach(() => {
    routes.clear();
    server.requests.length = 0;
  });

  const download = () =>
    downloadFile({ url: `${server.url}/app.tar.gz`, dest: join(tmp, "out.bin"), retryDelayMs: 0 });

  it("starts over instead of splicing the new file's rest onto the old file's start", async () => {
    const v1 = randomBytes(256 * 1024);
    const v2 = randomBytes(256 * 1024);
    rewrite = v2;
    lastModifiedNow = true;
    routes.set("/app.tar.gz", { body: v1, etag: '"6751c0de-40000"', cutTimes: 1, cutAfter: 100 * 1024 });
    const result = await download();
    expect(result).toMatchObject({ status: "downloaded", sha256: sha(v2) });
    expect((await readFile(join(tmp, "out.bin"))).equals(v2)).toBe(true);
  });

  it("a settled Last-Modified still resumes where the cut left off", async () => {
    const v1 = randomBytes(256 * 1024);
    rewrite = undefined;
    lastModifiedNow = false;
    routes.set("/app.tar.gz", {
      body: v1,
      etag: '"5f1e2d3c-40000"',
      lastModified: httpDate(Date.now() - 3_600_000),
      cutTimes: 1,
      cutAfter: 100 * 1024,
    });
    expect(await download()).toMatchObject({ status: "downloaded", sha256: sha(v1), resumes: 1 });
    expect(server.requests[1]?.headers["if-range"]).toBe('"5f1e2d3c-40000"');
  });
});
